"""The one rule for text the system cannot store (issue 21, point 2), used at every edge: HTTP
bodies, paths and query strings (`services.common.guard`) and Kafka events
(`services.common.cloudevents`), refused as `invalid_text`.

PostgreSQL stores no NUL character (U+0000) in `text` nor in `jsonb` ("unsupported Unicode escape
sequence"), and a lone UTF-16 surrogate (U+D800–U+DFFF, which JSON's `\\ud800` escape can produce)
has no UTF-8 encoding at all. Every other Unicode character is stored as given."""

import re
from typing import Any

INVALID_TEXT = "invalid_text"
_INVALID = re.compile("[\x00\ud800-\udfff]")
# What a JSON document must contain for one of its strings to hold such a character: a raw NUL
# (not valid JSON anyway), an escaped NUL, or a surrogate escape (pairs are fine, and are found
# again by the full check). Documents without it — nearly all — are not walked.
_SUSPECT_JSON = re.compile(rb"\x00|\\u0000|\\u[dD][89abcdefABCDEF]")


def is_storable(text: str) -> bool:
    return _INVALID.search(text) is None


def suspect_json(raw: bytes) -> bool:
    # Two substring scans first (C, a few GB/s): most documents have no escape at all, and the
    # regular expression's alternation was 4-6 % of every consumer's CPU in a burst (issue 19).
    if b"\\u" not in raw and b"\x00" not in raw:
        return False
    return _SUSPECT_JSON.search(raw) is not None


def invalid_text_at(value: Any, path: str = "") -> str | None:
    """The JSON Pointer (RFC 6901) of the first string or key in `value` that cannot be stored,
    or None. `""` is the document itself."""
    if isinstance(value, str):
        return path if _INVALID.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}/{str(key).replace('~', '~0').replace('/', '~1')}"
            if isinstance(key, str) and _INVALID.search(key):
                return _printable(here)
            found = invalid_text_at(item, here)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = invalid_text_at(item, f"{path}/{i}")
            if found is not None:
                return found
    return None


def _printable(pointer: str) -> str:
    # A pointer to a key holding a NUL is itself unprintable in a log or a problem body.
    return _INVALID.sub(lambda m: f"\\u{ord(m.group()):04x}", pointer)


def message(pointer: str) -> str:
    where = _printable(pointer) or "the document"
    return f"{where} holds a character that cannot be stored (NUL U+0000 or a lone surrogate U+D800–U+DFFF)"
