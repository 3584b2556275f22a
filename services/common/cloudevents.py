"""CloudEvents 1.0 on Kafka (CONTRACT §1): parse what producers send, build what we send.

Parsing is on every consumer's hot path, so it is done here with orjson and one pydantic model
instead of the SDK's converters: the SDK (cloudevents 2.x `core.bindings.kafka`) invents an `id`
and a `time` when they are missing, which would hide a malformed event, and parses with the
stdlib json module and dateutil, several times slower. The SDK still defines the wire names used
here, and the tests check that what the SDK produces in either mode is accepted.
"""

import base64
import re
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import orjson
from cloudevents.core.bindings.common import CONTENT_TYPE_HEADER, DATACONTENTTYPE_ATTR
from cloudevents.core.bindings.kafka import CE_PREFIX
from cloudevents.core.formats.json import JSONFormat
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.common.correlation import current as current_correlation
from services.common.settings import get_settings
from services.common.text import INVALID_TEXT, invalid_text_at, suspect_json
from services.common.text import message as text_message

STRUCTURED_CONTENT_TYPE = JSONFormat.CONTENT_TYPE  # application/cloudevents+json
DATA_CONTENT_TYPE = "application/json"

# Reason codes of the dead-letter topic produced by this module.
MALFORMED_EVENT = "malformed_event"
INVALID_TIME = "invalid_time"
UNKNOWN_TYPE = "unknown_type"

# application/json or a +json type, with optional parameters (e.g. charset).
_JSON_MEDIA_TYPE = re.compile(r"application/(?:[\w.+-]+\+)?json\s*(?:;.*)?", re.IGNORECASE | re.DOTALL)

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")

Headers = Sequence[tuple[str, bytes | str | None]] | Mapping[str, bytes | str | None]


class RejectedEvent(Exception):
    """A message that cannot be accepted; the consumer dead-letters it with `reason` and `message`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


class Envelope(BaseModel):
    """A validated CloudEvent. Extension attributes (e.g. `traceparent`) are kept as extra fields."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"]
    # Bounded so the idempotency key (source, id) always fits the processed-event table.
    id: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=300)
    type: str = Field(min_length=1, max_length=200)
    time: AwareDatetime
    datacontenttype: str = DATA_CONTENT_TYPE
    subject: str | None = None
    data: dict[str, Any]

    @field_validator("time", mode="before")
    @classmethod
    def _time_is_text(cls, value: Any) -> Any:
        # Pydantic would also take a number as Unix time; the contract asks for RFC 3339 text.
        # A string of digits too ("20261128" would be read as seconds after 1970).
        if isinstance(value, int | float) or (isinstance(value, str) and not _RFC3339.fullmatch(value.strip())):
            raise ValueError("must be an RFC 3339 timestamp string")
        return value

    @field_validator("datacontenttype")
    @classmethod
    def _json_data(cls, value: str) -> str:
        if not _JSON_MEDIA_TYPE.fullmatch(value.strip()):
            raise ValueError("must be application/json: data is a JSON object")
        return value


def _malformed(message: str) -> RejectedEvent:
    return RejectedEvent(MALFORMED_EVENT, message)


def _text(raw: bytes | str | None) -> str | None:
    if raw is None or isinstance(raw, str):
        return raw
    return raw.decode("utf-8")


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _load_object(value: bytes | None, what: str) -> dict[str, Any]:
    if not value:
        raise _malformed(f"{what} is empty")
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise _malformed(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise _malformed(f"{what} must be a JSON object, got {type(obj).__name__}")
    return obj


def _validate(attributes: dict[str, Any], mode: str) -> Envelope:
    try:
        return Envelope.model_validate(attributes)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'event'}: {err['msg']}" for err in exc.errors())
        raise _malformed(f"invalid CloudEvent ({mode} mode): {problems}") from None


def _parse_structured(event: dict[str, Any]) -> Envelope:
    if "data_base64" in event:
        raise _malformed("data_base64 is not accepted: data must be a JSON object in 'data'")
    return _validate(event, "structured")


def _parse_binary(value: bytes | None, ce_headers: list[tuple[str, Any]], content_type: str | None) -> Envelope:
    attributes: dict[str, Any] = {}
    for name, raw in ce_headers:
        attr = name[len(CE_PREFIX) :].lower()
        if attr in ("data", "data_base64"):
            raise _malformed(f"header {name!r} is not an attribute: data is the message value")
        if attr in attributes:
            raise _malformed(f"header {name!r} is repeated")
        try:
            attributes[attr] = _text(raw) or ""
        except UnicodeDecodeError:
            raise _malformed(f"header {name!r} is not UTF-8") from None
    if content_type is not None:
        attributes[DATACONTENTTYPE_ATTR] = content_type
    attributes["data"] = _load_object(value, "the message value (data)")
    return _validate(attributes, "binary")


def parse_kafka_message(value: bytes | None, headers: Headers) -> Envelope:
    """The CloudEvent in a Kafka message (see `_parse`); RejectedEvent `invalid_time` if its `time`
    is ahead of this system's clock by more than CREDIT_EVENT_TIME_MAX_SKEW_SECONDS, `invalid_text`
    if a string in it holds a character the database cannot store (`services.common.text`)."""
    envelope = _parse(value, headers)
    skew = get_settings().credit_event_time_max_skew_seconds
    if envelope.time > datetime.now(UTC) + timedelta(seconds=skew):
        raise RejectedEvent(
            INVALID_TIME,
            f"time {envelope.time.isoformat()} is more than {skew} s ahead of this system's clock:"
            " an event cannot be sent before it happens (is the producer's clock right?)",
        )
    pairs: Iterable[tuple[str, Any]] = headers.items() if isinstance(headers, Mapping) else headers
    in_headers = any(
        isinstance(raw, bytes | str) and ("\x00" in raw if isinstance(raw, str) else b"\x00" in raw) for _, raw in pairs
    )
    if in_headers or (value is not None and suspect_json(value)):
        pointer = invalid_text_at(envelope.model_dump(mode="json"))
        if pointer is not None:
            raise RejectedEvent(INVALID_TEXT, text_message(pointer))
    return envelope


def _parse(value: bytes | None, headers: Headers) -> Envelope:
    """The CloudEvent in a Kafka message, structured or binary mode; RejectedEvent if malformed.

    Structured: header content-type application/cloudevents+json, or (for producers that set no
    headers) no ce_ headers and a JSON object value with `specversion`. Binary: ce_* headers, data
    in the value, content-type header as datacontenttype. `headers` may be aiokafka's list of pairs
    or a mapping; values bytes or already-decoded text.
    """
    pairs: Iterable[tuple[str, Any]] = headers.items() if isinstance(headers, Mapping) else headers
    content_type: str | None = None
    ce_headers: list[tuple[str, Any]] = []
    for name, raw in pairs:
        lname = name.lower()
        if lname.startswith(CE_PREFIX):
            ce_headers.append((name, raw))
        elif lname == CONTENT_TYPE_HEADER:
            try:
                content_type = _text(raw)
            except UnicodeDecodeError:
                raise _malformed("header 'content-type' is not UTF-8") from None

    media_type = _media_type(content_type) if content_type else None
    if media_type == STRUCTURED_CONTENT_TYPE:
        return _parse_structured(_load_object(value, "the message value"))
    if media_type is not None and media_type.startswith("application/cloudevents"):
        raise _malformed(f"content-type {content_type!r} is not supported; use {STRUCTURED_CONTENT_TYPE}")
    if ce_headers:
        return _parse_binary(value, ce_headers, content_type)
    if media_type is None or _JSON_MEDIA_TYPE.fullmatch(media_type):
        event = _load_object(value, "the message value")
        if "specversion" in event:
            return _parse_structured(event)
    raise _malformed(
        f"not a CloudEvent: no content-type {STRUCTURED_CONTENT_TYPE} (structured mode) "
        "and no ce_ headers (binary mode)"
    )


def check_type(envelope: Envelope, known_types: Collection[str]) -> None:
    """RejectedEvent `unknown_type` unless the event's type (with its version) is in `known_types`."""
    if envelope.type in known_types:
        return
    base, _, version = envelope.type.rpartition(".")
    versions = sorted(k.rpartition(".")[2] for k in known_types if k.rpartition(".")[0] == base)
    if versions:
        message = f"version {version!r} of {base!r} is not accepted here (accepted: {', '.join(versions)})"
    else:
        message = f"type {envelope.type!r} is not accepted on this topic"
    raise RejectedEvent(UNKNOWN_TYPE, message)


def original_of(value: bytes | None, headers: Headers) -> dict[str, Any]:
    """A JSON-safe copy of a received message, for the `original` of a dead-letter event.

    `value` is the parsed JSON when it parses, else UTF-8 text, else base64; `value_encoding` says
    which ("json", "text", "base64", or "none" for a null value). Repeated headers are joined with
    ", " and undecodable bytes kept as backslash escapes, so operators see what arrived.
    """
    out_headers: dict[str, str] = {}
    pairs: Iterable[tuple[str, Any]] = headers.items() if isinstance(headers, Mapping) else headers
    for name, raw in pairs:
        text = raw.decode("utf-8", "backslashreplace") if isinstance(raw, bytes) else str(raw or "")
        out_headers[name] = f"{out_headers[name]}, {text}" if name in out_headers else text

    if value is None:
        return {"value": None, "value_encoding": "none", "headers": out_headers}
    try:
        return {"value": orjson.loads(value), "value_encoding": "json", "headers": out_headers}
    except orjson.JSONDecodeError:
        pass
    try:
        return {"value": bytes(value).decode("utf-8"), "value_encoding": "text", "headers": out_headers}
    except UnicodeDecodeError:
        encoded = base64.b64encode(value).decode("ascii")
        return {"value": encoded, "value_encoding": "base64", "headers": out_headers}


def build_event(
    *,
    type: str,
    source: str,
    data: dict[str, Any],
    subject: str | None = None,
    id: str | None = None,
    time: datetime | None = None,
) -> dict[str, Any]:
    """A CloudEvent as a dict, ready for encode_structured. `subject` is omitted when None, as the
    spec wants absent optional attributes rather than nulls."""
    if time is not None and time.utcoffset() is None:
        raise ValueError("time must be timezone-aware")
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": id or str(uuid.uuid4()),
        "source": source,
        "type": type,
        "time": (time or datetime.now(UTC)).isoformat(),
        "datacontenttype": DATA_CONTENT_TYPE,
    }
    if subject is not None:
        event["subject"] = subject
    correlation = current_correlation()
    if correlation is not None:
        event["correlationid"] = correlation  # extension attribute (issue 18)
    event["data"] = data
    return event


def _json_default(obj: Any) -> Any:
    # Amounts are decimal strings in the contract; never floats.
    if isinstance(obj, Decimal):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


_STRUCTURED_HEADERS: list[tuple[str, bytes]] = [(CONTENT_TYPE_HEADER, STRUCTURED_CONTENT_TYPE.encode())]


def encode_structured(event: dict[str, Any]) -> tuple[bytes, list[tuple[str, bytes]]]:
    """(value, headers) of a structured-mode Kafka message. Decimals become strings; datetimes and
    dates RFC 3339 / ISO 8601 text."""
    return orjson.dumps(event, default=_json_default), list(_STRUCTURED_HEADERS)
