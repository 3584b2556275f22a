"""The annual credit report of a region (AnnualReportWorkflow)."""
