"""A serious record is published at once (001 Art. 21: 列入黑名单, 在中国政府采购网和信用中国公示): when
a version of a record puts it on the blacklist (serious and in force), a `blacklist` notice; when a
version takes it off (repaired, corrected to a general behaviour, withdrawn, expired), a
`blacklist_removal` notice; a correction that keeps it serious with another behaviour or period is a
new `blacklist` notice of the new version. Each is pushed to the national platforms.

Every version of the batch is walked in order from the version already stored, so a record
created and expired within one batch is still published and then taken down (each exactly once:
the notice id is the record version's). Under objection or upheld changes nothing published."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.sql import key_in
from services.common.tables import table_of
from services.publication.models import PublicRecord
from services.publication.notices import pushes_for, write_notice

RECORDS_T = table_of(PublicRecord)
WATCHED = ("record_id", "version", "severity", "status", "behaviour_code", "valid_until")


def on_blacklist(row: dict) -> bool:
    return row["severity"] == "serious" and row["status"] == "in_force"


def changes(stored: dict[str, dict], versions: list[dict]) -> list[tuple[str, dict]]:
    """(kind, row) of each blacklist change the versions make, in version order per record."""
    by_record: dict[str, list[dict]] = {}
    for row in versions:
        by_record.setdefault(row["record_id"], []).append(row)
    out = []
    for record_id, rows in by_record.items():
        prior = stored.get(record_id)
        for row in sorted(rows, key=lambda r: r["version"]):
            if prior is not None and row["version"] <= prior["version"]:
                continue
            was, now = prior is not None and on_blacklist(prior), on_blacklist(row)
            key = (row["behaviour_code"], row["valid_until"])
            same = prior is not None and (prior["behaviour_code"], prior["valid_until"]) == key
            if now and not (was and same):
                out.append(("blacklist", row))
            elif was and not now:
                out.append(("blacklist_removal", row))
            prior = row
    return out


def may_change(row: dict) -> bool:
    """A first version of a general record never touches the blacklist: bulk intake needs no read."""
    return row["severity"] == "serious" or row["version"] > 1


async def publish_changes(conn: AsyncConnection, versions: list[dict], *, now: datetime) -> int:
    """Write the notices (and pushes) of the blacklist changes in `versions`, before the batch's rows
    are stored (the stored rows are the starting point). Returns how many were written."""
    candidates = [r for r in versions if may_change(r)]
    if not candidates:
        return 0
    ids = sorted({r["record_id"] for r in candidates})
    cols = [RECORDS_T.c[c] for c in WATCHED]
    stored = {
        r.record_id: dict(r._mapping)
        for r in await conn.execute(select(*cols).where(key_in(conn, RECORDS_T.c.record_id, ids)))
    }
    found = changes(stored, candidates)
    for kind, row in found:
        prefix, action = ("blacklist", "publish") if kind == "blacklist" else ("removal", "withdraw")
        notice_id = f"{prefix}-{row['record_id']}-v{row['version']}"
        await write_notice(
            conn,
            notice={"notice_id": notice_id, "kind": kind, "region": row["region"]},
            listed=[row] if kind == "blacklist" else [],
            withdrawn=[row] if kind == "blacklist_removal" else [],
            pushes=pushes_for(notice_id, action, region=row["region"], record=row),
            key=row["subject_id"],
            now=now,
        )
    return len(found)
