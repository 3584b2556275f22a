"""The review of an objection to a credit record (AppealReviewWorkflow)."""
