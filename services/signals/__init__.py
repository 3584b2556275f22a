"""Issue 14: signals that open cases for a finance department, never verdicts (CONTRACT §4): bid
collusion indicators (Luoyang Art. 10), the repeat-complaint rule (Art. 8(15)/(16)) and credit
commitments (Shandong (十三))."""
