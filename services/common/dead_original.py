"""What a dead letter keeps of the input it refuses (issue 21, points 8 and 9): enough for the
sender's operators to find and fix the message, nothing that is never public, and never more than
`CREDIT_DEAD_LETTER_ORIGINAL_MAX_BYTES`.

- Evidence is never on Kafka (CONTRACT: evidence only through an approved request): each evidence
  item keeps its `kind` and `sha256` (the file's own hash) and the SHA-256 of its `uri`.
- Free text written about a subject (`description`, `grounds`, `finding`, `reason`, `commitment`)
  is replaced by its SHA-256 and length.
- A value that is not JSON keeps at most its first 256 characters, with anything that looks like a
  URI replaced by its hash (it cannot be told apart from evidence).
- What is still longer than the limit is cut: `original` then holds `truncated: true`, the size of
  the redacted copy and its first bytes.

`original_sha256` (in the dead letter's data) is the SHA-256 of the whole message as received (the
Kafka value, or the HTTP request as its event), so a sender can match it with what it sent."""

import hashlib
import re
from typing import Any

import orjson

FREE_TEXT = frozenset({"description", "grounds", "finding", "reason", "commitment"})
TEXT_PREFIX_CHARS = 256
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]+")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _evidence(items: list) -> list:
    out = []
    for e in items:
        if isinstance(e, dict):
            uri = e.get("uri")
            out.append(
                {
                    "kind": e.get("kind"),
                    "sha256": e.get("sha256"),
                    "uri_sha256": _sha(uri) if isinstance(uri, str) else None,
                }
            )
        else:
            out.append({"sha256": _sha(orjson.dumps(e, default=str).decode())})
    return out


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for k, v in value.items():
            if k == "evidence" and isinstance(v, list):
                out[k] = _evidence(v)
            elif k in FREE_TEXT and isinstance(v, str):
                out[k] = {"sha256": _sha(v), "chars": len(v)}
            else:
                out[k] = redact(v)
        return out
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _masked_prefix(text: str) -> str:
    return _URI.sub(lambda m: f"<uri sha256:{_sha(m.group())[:16]}>", text[:TEXT_PREFIX_CHARS])


def bounded_original(original: dict, *, max_bytes: int) -> dict:
    """The redacted copy of `original` (as `Inbound.original_message()` gives it), cut to `max_bytes`."""
    if "value_encoding" in original and original.get("value_encoding") != "json":
        value = original.get("value")
        kept = {**original, "value": _masked_prefix(value) if isinstance(value, str) else value}
        if isinstance(value, str) and len(value) > TEXT_PREFIX_CHARS:
            kept["value_chars"] = len(value)
    else:
        kept = redact(original)
    encoded = orjson.dumps(kept, default=str)
    if len(encoded) <= max_bytes:
        return kept
    head = encoded[: max(0, max_bytes - 200)].decode("utf-8", "ignore")
    return {"truncated": True, "size": len(encoded), "head": head}


def whole_hash(value: bytes | None, original: dict) -> str:
    return hashlib.sha256(value if value is not None else orjson.dumps(original, default=str)).hexdigest()
