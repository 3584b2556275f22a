"""A task for a person, with its plan, reminders and escalations (HumanTaskWorkflow)."""
