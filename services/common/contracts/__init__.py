"""Typed event contracts (issue 20): one module per topic family, each declaring the pydantic model
of every event `data` with its type string, topic and version (`base.contract`). `registry.ALL` is
the whole list, `decode.decode` turns a received CloudEvent into its typed `data` or a refusal with a
dead-letter reason, and `owners.py` says which service dead-letters what nobody reads on a shared
topic. The AsyncAPI document (`asyncapi.py`) is generated from the registry."""
