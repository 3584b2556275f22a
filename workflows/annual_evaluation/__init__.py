"""The yearly evaluation of agencies or purchasers: drafted, reviewed, published; interviews
(AnnualEvaluationWorkflow)."""
