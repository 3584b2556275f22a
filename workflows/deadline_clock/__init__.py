"""The deadline clock of a procurement step the watch follows (DeadlineClockWorkflow), and its inputs
(also those of the interception, which shares the clock's vocabulary)."""
