"""The AsyncAPI 3.0 document of the system's Kafka topics, generated from the contract registry: one
channel per topic, one message per event type (a CloudEvent whose `data` is the contract's model,
as pydantic's JSON schema), an operation per topic from the system's side (`receive` for inbound
topics, `send` for what it publishes). The gateway serves it as `/asyncapi.json` and `/asyncapi`
(a plain HTML page, no script and nothing fetched from elsewhere)."""

import html
import json
from functools import lru_cache
from typing import Any

from pydantic.json_schema import models_json_schema

from services.common.cloudevents import DATA_CONTENT_TYPE, STRUCTURED_CONTENT_TYPE
from services.common.contracts import registry
from services.common.contracts.base import Contract

VERSION = "1.1"  # CONTRACT.md's version
REF = "#/components/schemas/{model}"


def _key(name: str) -> str:
    """A component or channel key (AsyncAPI allows letters, digits, `_` and `-`)."""
    return name.replace(".", "_")


def _envelope(contract: Contract, data_ref: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": "A CloudEvents 1.0 event in structured JSON mode (binary mode, with ce_* headers "
        "and `data` as the message value, is accepted too). (`source`, `id`) identify it.",
        "required": ["specversion", "id", "source", "type", "time", "datacontenttype", "data"],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "minLength": 1, "maxLength": 200},
            "source": {"type": "string", "minLength": 1, "maxLength": 300, "examples": ["urn:eproc:luoyang"]},
            "type": {"const": contract.type},
            "time": {"type": "string", "format": "date-time"},
            "datacontenttype": {"const": DATA_CONTENT_TYPE},
            "subject": {"type": "string"},
            "data": {"$ref": data_ref},
        },
    }


@lru_cache
def document() -> dict[str, Any]:
    models = list(dict.fromkeys(c.model for c in registry.ALL))
    refs, defs = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in registry.topics():
        contracts = registry.on_topic(topic)
        channel = _key(topic)
        refs_here = []
        for c in contracts:
            name = _key(c.short)
            envelope = f"{_key(c.short)}_event"
            schemas[envelope] = _envelope(c, refs[(c.model, "validation")]["$ref"])
            messages[name] = {
                "name": c.type,
                "title": c.short,
                "summary": c.summary,
                "contentType": STRUCTURED_CONTENT_TYPE,
                "payload": {"$ref": REF.format(model=envelope)},
                "x-version": c.version,
                "x-direction": c.direction,
            }
            refs_here.append({"$ref": f"#/components/messages/{name}"})
        channels[channel] = {
            "address": topic,
            "messages": {_key(c.short): {"$ref": f"#/components/messages/{_key(c.short)}"} for c in contracts},
        }
        inbound = {c.direction for c in contracts} == {"inbound"}
        operations[("receive_" if inbound else "send_") + channel] = {
            "action": "receive" if inbound else "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": [{"$ref": f"#/channels/{channel}/messages/{_key(c.short)}"} for c in contracts],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Procurement credit events",
            "version": VERSION,
            "description": "The Kafka topics of the procurement credit system (CONTRACT §1), generated from "
            "services/common/contracts. Every message is a CloudEvent; the Kafka key is the subject's id "
            "(a procurement event's: project.code). Refused input goes to credit.dead-letter with a reason.",
        },
        "defaultContentType": STRUCTURED_CONTENT_TYPE,
        "servers": {"local": {"host": "127.0.0.1:9092", "protocol": "kafka", "description": "KAFKA_BOOTSTRAP_SERVERS"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _fields(schema: dict[str, Any]) -> str:
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    rows = []
    for name, prop in props.items():
        kind = prop.get("type") or (prop.get("$ref", "").rsplit("/", 1)[-1]) or "any"
        if "anyOf" in prop:
            kind = " | ".join(p.get("type") or p.get("$ref", "").rsplit("/", 1)[-1] or "any" for p in prop["anyOf"])
        rows.append(
            f"<tr><td><code>{html.escape(name)}</code></td><td>{html.escape(str(kind))}</td>"
            f"<td>{'yes' if name in required else ''}</td></tr>"
        )
    return "<table><tr><th>field</th><th>type</th><th>required</th></tr>" + "".join(rows) + "</table>"


@lru_cache
def page() -> bytes:
    """The document as a page to read: channels, their messages, and each `data` schema's fields."""
    doc = document()
    schemas = doc["components"]["schemas"]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(doc['info']['title'])} — AsyncAPI {VERSION}</title>",
        "<style>body{font-family:sans-serif;max-width:70em;margin:auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}</style></head><body>",
        f"<h1>{html.escape(doc['info']['title'])} (contract {VERSION})</h1>",
        f"<p>{html.escape(doc['info']['description'])}</p>",
        "<p>Machine-readable: <a href='/asyncapi.json'>/asyncapi.json</a> (AsyncAPI 3.0).</p>",
    ]
    for key, channel in doc["channels"].items():
        op = next(o for o in doc["operations"].values() if o["channel"]["$ref"] == f"#/channels/{key}")
        parts.append(f"<h2 id='{key}'><code>{html.escape(channel['address'])}</code> ({op['action']})</h2>")
        for name in channel["messages"]:
            message = doc["components"]["messages"][name]
            data_ref = schemas[message["payload"]["$ref"].rsplit("/", 1)[-1]]["properties"]["data"]["$ref"]
            data = schemas[data_ref.rsplit("/", 1)[-1]]
            parts.append(f"<h3 id='{name}'><code>{html.escape(message['name'])}</code></h3>")
            parts.append(f"<p>{html.escape(message['summary'])}</p>")
            parts.append(f"<p><code>data</code>: {html.escape(data.get('title', ''))}</p>{_fields(data)}")
    parts.append("<h2 id='schemas'>Schemas</h2>")
    for name, schema in sorted(schemas.items()):
        if name.endswith("_event") or not schema.get("properties"):
            continue  # the envelopes, shown per message above
        parts.append(f"<h3 id='schema-{html.escape(name)}'>{html.escape(name)}</h3>{_fields(schema)}")
    parts.append("</body></html>")
    return "".join(parts).encode()


@lru_cache
def document_json() -> bytes:
    return json.dumps(document(), ensure_ascii=False).encode()
