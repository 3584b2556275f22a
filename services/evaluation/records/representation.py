"""How records are shown over HTTP: evidence only to finance departments."""

from services.evaluation.events import record_data


def record_view(row: dict, *, with_evidence: bool) -> dict:
    view = record_data(row)
    view["description"] = row["description"]
    view["recorded_at"] = row["recorded_at"].isoformat()
    if with_evidence:
        view["evidence"] = row["evidence"]
    return view


def history_view(version: dict, *, with_evidence: bool) -> dict:
    snapshot = dict(version["snapshot"])
    if not with_evidence:
        snapshot.pop("evidence", None)
    return {
        "version": version["version"],
        "change": version["change"],
        "at": version["at"].isoformat(),
        "actor": version["actor"],
        "prev_hash": version["prev_hash"],
        "hash": version["hash"],
        "snapshot": snapshot,
    }
