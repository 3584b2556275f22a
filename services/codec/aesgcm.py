"""AES-GCM payload codec (issue 18): every workflow input, signal, query answer and result leaves
the process encrypted, so Temporal's database and UI hold ciphertext.

An encrypted payload has metadata `encoding: binary/encrypted` and `encryption-key-id`, and data
`nonce (12 bytes) || ciphertext+tag` of the serialised original Payload. Decoding picks the key by
its id, so after a rotation histories written under an earlier key still decode as long as that key
is kept in CREDIT_PAYLOAD_OLD_KEYS (RUNBOOK: "Rotate keys"). Payloads that are not encrypted pass
through unchanged: a cluster can switch the codec on while workflows started without it still run.
"""

import os
from collections.abc import Mapping, Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


class UnknownKeyError(ValueError):
    """A payload was encrypted under a key this process does not hold."""


class AesGcmCodec(PayloadCodec):
    def __init__(self, keys: Mapping[str, bytes]) -> None:
        """`keys`: key id -> AES key, the first one encrypts; all of them decrypt."""
        if not keys:
            raise ValueError("AesGcmCodec needs at least one key")
        self._keys = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._current = next(iter(keys))

    @property
    def current_key_id(self) -> str:
        return self._current

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decrypt(p) for p in payloads]

    def _encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        key_id = self._current.encode()
        # The key id is bound as associated data: a payload cannot be moved under another key's id.
        sealed = self._keys[self._current].encrypt(nonce, payload.SerializeToString(), key_id)
        return Payload(metadata={"encoding": ENCODING, KEY_ID: key_id}, data=nonce + sealed)

    def _decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID, b"").decode()
        aead = self._keys.get(key_id)
        if aead is None:
            raise UnknownKeyError(f"payload encrypted under key {key_id!r}, which this process does not hold")
        plain = aead.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], key_id.encode())
        return Payload.FromString(plain)
