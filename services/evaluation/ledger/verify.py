"""Check the whole ledger against the rows it covers and against published checkpoints:
`python -m services.evaluation.ledger.verify --database-url URL --checkpoint FILE_OR_URL
[--checkpoint …] [--public-key BASE64]`. Exit 0 when everything matches; otherwise exit 1 and name
the first entry that does not match (or, when only a root differs, the range of entries between
the last checkpoint that matches and the first that does not).

What is recomputed, never trusted from the database: each version's chain hash from its
snapshot, the chain from version to version, each ledger entry from its version, each leaf hash,
and the Merkle root of every given checkpoint's size.

Then what is served is compared with what the ledger derives (issue 21): every current row of
`evaluation_record` (what `/v1/records` answers) must be its record's latest version in the history,
field for field, and every row of `publication_record` (what `/v1/credit`, the blacklist and notices
are made of) the version of the same number, on the fields it publishes. A row edited in place
(`UPDATE evaluation_record SET status='withdrawn'`), a record with no history, or a public row that
claims a version the ledger does not hold is named, and the exit status is 1."""

import argparse
import asyncio
import sys
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import orjson

from services.common.merkle import MerkleBuilder, leaf_hash
from services.evaluation.ledger.checkpoints import verify_checkpoint
from services.evaluation.ledger.hashes import GENESIS, chain_hash, ledger_entry


@dataclass
class Report:
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    checked_entries: int = 0
    matched_checkpoints: list[int] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.ok = False
        self.problems.append(message)


async def verify(dsn: str, checkpoints: list[dict], public_key: str | None) -> Report:
    report = Report()
    for cp in checkpoints:
        key = public_key or cp.get("public_key", "")
        if not verify_checkpoint(cp, key):
            report.fail(f"checkpoint of size {cp['tree_size']}: signature does not verify")
    if not report.ok:
        return report
    conn = await asyncpg.connect(dsn.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        ledger = await conn.fetch(
            "SELECT seq, record_id, version, entry, leaf_hash FROM evaluation_ledger ORDER BY seq"
        )
        versions = {
            (r["record_id"], r["version"]): r
            for r in await conn.fetch(
                "SELECT record_id, version, change, snapshot::text AS snapshot, prev_hash, hash "
                "FROM evaluation_record_history"
            )
        }
        current = await conn.fetch(f"SELECT {', '.join(SERVED)} FROM evaluation_record")
        public = None
        if await conn.fetchval("SELECT to_regclass('publication_record') IS NOT NULL"):
            public = await conn.fetch(f"SELECT record_id, {', '.join(PUBLISHED)} FROM publication_record")
    finally:
        await conn.close()
    _check_ledger(ledger, versions, checkpoints, report)
    check_served(versions, current, public, report)
    return report


def _check_ledger(ledger: list, versions: dict, checkpoints: list[dict], report: Report) -> None:
    targets = sorted(checkpoints, key=lambda c: c["tree_size"])
    builder = MerkleBuilder()
    last_good = 0
    for position, row in enumerate(ledger, start=1):
        if row["seq"] != position:
            report.fail(f"entry {position}: leaf numbers jump to {row['seq']} (a leaf was removed)")
            break
        problem = _entry_problem(row, versions)
        if problem:
            report.fail(f"entry {position} (record {row['record_id']} v{row['version']}): {problem}")
            break
        builder.append(leaf_hash(ledger_entry(dict(versions[(row["record_id"], row["version"])]))))
        report.checked_entries = position
        while targets and targets[0]["tree_size"] == builder.size:
            cp = targets.pop(0)
            if builder.root().hex() == cp["root_hash"]:
                report.matched_checkpoints.append(cp["tree_size"])
                last_good = cp["tree_size"]
            else:
                report.fail(
                    f"checkpoint of size {cp['tree_size']}: the root of the stored entries differs — the first "
                    f"entry that does not match is between {last_good + 1} and {cp['tree_size']}"
                )
                return
    for cp in targets:
        if report.ok:
            report.fail(f"checkpoint of size {cp['tree_size']}: the ledger holds only {builder.size} entries")


# What the API serves of a record and of its public copy, compared with the ledger's version.
SERVED = (
    "id", "version", "subject_type", "subject_id", "subject_name", "behaviour_code", "severity", "region",
    "reporter_type", "reporter_id", "occurred_on", "recorded_on", "valid_until", "status",
    "determination::text AS determination", "resolution::text AS resolution", "appeal::text AS appeal",
)  # fmt: skip
PUBLISHED = (
    "version", "subject_type", "subject_id", "behaviour_code", "severity", "region",
    "occurred_on", "recorded_on", "valid_until", "status",
)  # fmt: skip
_JSON_FIELDS = frozenset({"determination", "resolution", "appeal"})


def _same(field: str, served: object, snapshot: dict) -> bool:
    expected = snapshot.get(field)
    if field in _JSON_FIELDS:
        return (orjson.loads(served) if isinstance(served, str | bytes) else served) == expected
    if served is None or expected is None:
        return served is expected
    return str(served) == str(expected)  # dates as ISO text, numbers as digits, in both


def check_served(versions: dict, current: list, public: list | None, report: Report) -> None:
    """Compare the served rows with the versions the ledger covers; name every difference."""
    latest: dict[str, int] = {}
    for record_id, version in versions:
        latest[record_id] = max(version, latest.get(record_id, 0))
    seen = set()
    for row in current:
        record_id = row["id"]
        seen.add(record_id)
        if record_id not in latest:
            report.fail(f"record {record_id}: served but not in the history or the ledger")
            continue
        if row["version"] != latest[record_id]:
            report.fail(
                f"record {record_id}: the current row says version {row['version']}, the ledger's latest is "
                f"{latest[record_id]}"
            )
            continue
        snapshot = orjson.loads(versions[(record_id, latest[record_id])]["snapshot"])
        wrong = [f for f in row.keys() if f not in ("id", "version") and not _same(f, row[f], snapshot)]
        if wrong:
            report.fail(
                f"record {record_id}: the current row differs from its ledger version {row['version']} in "
                + ", ".join(f"{f} ({row[f]!r} served, {snapshot.get(f)!r} in the ledger)" for f in wrong)
                + " — edited in place"
            )
    for record_id in sorted(set(latest) - seen):
        report.fail(f"record {record_id}: in the ledger but its current row is missing")
    for row in public or ():
        version = versions.get((row["record_id"], row["version"]))
        if version is None:
            report.fail(f"public record {row['record_id']}: version {row['version']} is not in the ledger")
            continue
        snapshot = orjson.loads(version["snapshot"])
        wrong = [f for f in PUBLISHED if f != "version" and not _same(f, row[f], snapshot)]
        if wrong:
            report.fail(
                f"public record {row['record_id']}: differs from its ledger version {row['version']} in "
                + ", ".join(f"{f} ({row[f]!r} published, {snapshot.get(f)!r} in the ledger)" for f in wrong)
            )


def _entry_problem(row: asyncpg.Record, versions: dict) -> str | None:
    version = versions.get((row["record_id"], row["version"]))
    if version is None:
        return "the version it covers is missing from the history"
    snapshot = orjson.loads(version["snapshot"])
    if chain_hash(version["prev_hash"], snapshot) != version["hash"]:
        return "the stored version does not match its hash (edited)"
    expected_prev = GENESIS if version["version"] == 1 else _hash_of(versions, row["record_id"], version["version"] - 1)
    if version["prev_hash"] != expected_prev:
        return "the version does not chain to the one before it"
    entry = ledger_entry(dict(version))
    if row["entry"].encode() != entry or row["leaf_hash"] != leaf_hash(entry).hex():
        return "the ledger entry does not match the version"
    return None


def _hash_of(versions: dict, record_id: str, version: int) -> str | None:
    previous = versions.get((record_id, version))
    return previous["hash"] if previous else None


def _load(source: str) -> dict:
    if source.startswith(("http://", "https://")):
        return httpx.get(source, timeout=10, trust_env=False).raise_for_status().json()
    return orjson.loads(Path(source).read_bytes())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.evaluation.ledger.verify", description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--checkpoint", action="append", required=True, help="a published checkpoint (file or URL)")
    parser.add_argument("--public-key", help="the service's public key (base64); default: the checkpoint's own")
    args = parser.parse_args(argv)
    report = asyncio.run(verify(args.database_url, [_load(c) for c in args.checkpoint], args.public_key))
    out = sys.stdout if report.ok else sys.stderr
    out.write(
        f"ledger: {report.checked_entries} entries checked; checkpoints matched: {report.matched_checkpoints}\n"
        + "".join(f"MISMATCH {p}\n" for p in report.problems)
    )
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
