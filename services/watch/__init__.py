"""The watch: procurement timelines, deadline clocks, warnings (issue 13)."""
