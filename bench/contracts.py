"""CPU per event of the typed path (issue 20): decoding a ~1 KB CloudEvent into its contract's model
against what the consumers did before. Prints measured figures; asserts nothing.

    .venv/bin/python -m bench.contracts [--events 20000] [--rounds 5]

Paths measured, each on the same pre-built Kafka records (one process, one core, CPU time):
- `envelope only`: `from_kafka` (CloudEvent parse and envelope validation), what every consumer does;
- `before, intake`: that plus `BehaviourReport.model_validate(data)`, what intake did per event;
- `after, intake`: `from_kafka` plus `contracts.decode` (type lookup + the same model);
- `before, read model`: `from_kafka` alone (publication read dicts);
- `after, read model`: `from_kafka` plus `decode` into `RecordData`.
The best of `--rounds` rounds is reported (the least disturbed by other processes)."""

import argparse
import gc
import time
from collections.abc import Callable
from datetime import UTC, date, datetime

from aiokafka.structs import ConsumerRecord

from bench.common import out
from services.common.cloudevents import build_event, encode_structured
from services.common.contracts import registry
from services.common.contracts.decode import Typed, decode
from services.common.inbound import from_kafka
from services.common.schemas import BehaviourReport
from services.common.topics import BEHAVIOUR_REPORTED, INBOUND_BEHAVIOUR, RECORD_CREATED, RECORDS
from services.evaluation.events import record_event
from tests.support.factories import report_data


def _record(topic: str, event: dict) -> ConsumerRecord:
    value, headers = encode_structured(event)
    return ConsumerRecord(topic, 0, 0, 0, 0, b"key", value, None, len(value), -1, headers)


def behaviour_records(n: int) -> list[ConsumerRecord]:
    return [
        _record(INBOUND_BEHAVIOUR, build_event(type=BEHAVIOUR_REPORTED, source="urn:eproc:bench", data=report_data()))
        for _ in range(n)
    ]


def record_records(n: int) -> list[ConsumerRecord]:
    out = []
    for i in range(n):
        row = {
            "id": f"rec-{i}",
            "version": 1,
            "status": "in_force",
            "subject_type": "supplier",
            "subject_id": "91410300MA0000002X",
            "subject_name": "洛阳某某科技有限公司",
            "behaviour_code": "SUP-G-01",
            "severity": "general",
            "region": "410300",
            "project": {"code": f"LYCG-2026-{i:05d}", "name": "办公设备采购项目"},
            "reporter_type": "purchaser",
            "reporter_id": "12410300MB0000001X",
            "reporter_name": "报告单位",
            "occurred_on": date(2026, 11, 1),
            "recorded_on": date(2026, 11, 3),
            "valid_until": date(2027, 11, 3),
            "determination": None,
            "evidence": [{}],
            "policy_version": "luoyang-2025-1",
        }
        out.append(_record(RECORDS, record_event(RECORD_CREATED, row, event_time=datetime.now(UTC)).event))
    return out


BATCH = 500  # what a consumer holds at once (KAFKA_MAX_BATCH): results live as long as their batch


def per_event_us(records: list, step: Callable[[list], object], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for i in range(0, len(records), BATCH):
            step(records[i : i + BATCH])
        best = min(best, time.process_time() - start)
    return best / len(records) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    behaviour = behaviour_records(args.events)
    records = record_records(args.events)
    reads_behaviour = registry.reading(registry.on_topic(INBOUND_BEHAVIOUR))
    reads_records = registry.reading(registry.on_topic(RECORDS))

    parsed_behaviour = from_kafka(behaviour)
    parsed_records = from_kafka(records)

    def envelope_only(rs: list) -> object:
        return from_kafka(rs)

    def before_intake(items: list) -> object:
        return [BehaviourReport.model_validate(i.envelope.data) for i in items]

    def after_intake(items: list) -> object:
        out = [decode(i, reads_behaviour) for i in items]
        assert all(isinstance(o, Typed) for o in out)
        return out

    def before_records(items: list) -> object:
        # publication read the dict: the typed step replaces these lookups
        return [(i.envelope.type in reads_records, i.envelope.data["record_id"]) for i in items]

    def after_records(items: list) -> object:
        out = [decode(i, reads_records) for i in items]
        assert all(isinstance(o, Typed) for o in out)
        return out

    sizes = sorted(len(r.value) for r in behaviour)
    record_sizes = sorted(len(r.value) for r in records)
    out(f"events: {args.events} per path, best of {args.rounds} rounds, CPU time of this process")
    out(
        f"behaviour.reported.v1: median {sizes[len(sizes) // 2]} bytes; "
        f"record.created.v1: median {record_sizes[len(record_sizes) // 2]} bytes"
    )
    rows = [
        ("parse CloudEvent + envelope (from_kafka), behaviour", behaviour, envelope_only),
        ("parse CloudEvent + envelope (from_kafka), record", records, envelope_only),
        ("before, intake: BehaviourReport.model_validate", parsed_behaviour, before_intake),
        ("after, intake: contracts.decode", parsed_behaviour, after_intake),
        ("before, read model: dict lookups", parsed_records, before_records),
        ("after, read model: contracts.decode (RecordData)", parsed_records, after_records),
    ]
    # The fixtures are built: keep the collector from re-scanning them in every path (it would charge
    # whichever path runs when a full collection falls due, not the work measured).
    gc.collect()
    gc.freeze()
    figures = {name: float("inf") for name, _, _ in rows}
    for _ in range(args.rounds):  # interleaved, so a busy moment of the machine hits every path
        for name, rs, step in rows:
            figures[name] = min(figures[name], per_event_us(rs, step, 1))
    for name, _, _ in rows:
        out(f"{name:<55} {figures[name]:8.2f} µs/event")
    envelope = figures[rows[0][0]]
    for label, a, b in (("intake", 2, 3), ("read model", 4, 5)):
        before, after = figures[rows[a][0]], figures[rows[b][0]]
        out(
            f"{label}: typed step {after:.2f} µs vs {before:.2f} µs before "
            f"({after - before:+.2f} µs/event; the CloudEvent parse it follows costs {envelope:.2f} µs)"
        )


if __name__ == "__main__":
    main()
