"""Credit repair (001 Art. 20, 002 (十一)): applications, their review, the repair window of each record."""
