"""Encryption of Temporal payloads (personal data in workflow histories) and the codec server the
Temporal UI calls to show them decrypted to operators."""
