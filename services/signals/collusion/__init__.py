"""Indicators of collusive bidding (Luoyang Art. 10, after 87号令 Art. 37): pure functions over one
project's bids; each indicator cites its item of Art. 10 and carries the fields and bids that matched."""
