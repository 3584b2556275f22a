"""The verifier detects tampering against a published checkpoint (002 (十二)): an edited version,
a deleted one, two reordered, and an edit with every later hash recomputed. The attacker is given
what a database superuser has: the append-only triggers switched off."""

import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from deploy.local.components import create_database_async, drop_database_async, ensure_postgres
from services.common.cloudevents import encode_structured, parse_kafka_message
from services.common.db import make_engine
from services.common.inbound import Inbound
from services.common.merkle import leaf_hash
from services.common.migrations import migrate
from services.common.settings import DEV_LEDGER_SEED
from services.evaluation.intake.ingest import ingest
from services.evaluation.ledger.checkpoints import Signer, publish_checkpoint
from services.evaluation.ledger.hashes import chain_hash, ledger_entry
from services.evaluation.ledger.verify import verify
from services.evaluation.models import MIGRATIONS, TABLES
from services.evaluation.records.expiry import expire_due
from tests.stack import PG_ADMIN
from tests.support.factories import event, report_data

pytestmark = pytest.mark.connected
SIGNER = Signer(DEV_LEDGER_SEED)
# What a superuser must switch off to rewrite history (the services' roles cannot: they own nothing).
APPEND_ONLY = ("evaluation_ledger", "evaluation_record_history")


@pytest.fixture
async def ledger_db() -> AsyncIterator[tuple[str, AsyncEngine, dict]]:
    """Ten records, three of them expired (versions 2), and a checkpoint published over them."""
    ensure_postgres(PG_ADMIN)
    dsn = await create_database_async(PG_ADMIN, f"credit_ledger_{uuid.uuid4().hex[:8]}")
    engine = make_engine(dsn.replace("postgresql://", "postgresql+asyncpg://", 1))
    await migrate(engine, "evaluation", MIGRATIONS, TABLES)
    year_ago = datetime.now(UTC) - timedelta(days=370)
    for i in range(10):
        data = report_data(occurred_on=(year_ago - timedelta(days=3)).date())
        value, headers = encode_structured(event(data))
        item = Inbound(original={}, key=None, envelope=parse_kafka_message(value, headers))
        async with engine.begin() as conn:
            await ingest(conn, [item], now=year_ago if i < 3 else datetime.now(UTC))
    assert await expire_due(engine, as_of=datetime.now(UTC).date(), now=datetime.now(UTC)) == 3
    checkpoint = await publish_checkpoint(engine, SIGNER)
    assert checkpoint is not None and checkpoint["tree_size"] == 13
    try:
        yield dsn, engine, checkpoint
    finally:
        await engine.dispose()
        await drop_database_async(PG_ADMIN, dsn.rsplit("/", 1)[1])


async def _sql(dsn: str, *statements: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            for table in APPEND_ONLY:
                await conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            for s in statements:
                await conn.execute(s)
            for table in APPEND_ONLY:
                await conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    finally:
        await conn.close()


async def test_untouched_ledger_verifies(ledger_db) -> None:  # type: ignore[no-untyped-def]
    dsn, _, checkpoint = ledger_db
    report = await verify(dsn, [checkpoint], SIGNER.public_key)
    assert report.ok and report.checked_entries == 13 and report.matched_checkpoints == [13]


async def test_an_edited_version_is_named(ledger_db) -> None:  # type: ignore[no-untyped-def]
    dsn, _, checkpoint = ledger_db
    await _sql(
        dsn,
        "UPDATE evaluation_record_history SET snapshot = jsonb_set(snapshot::jsonb, '{behaviour_code}', "
        "'\"SUP-G-09\"')::json WHERE seq = 5",
    )
    report = await verify(dsn, [checkpoint], SIGNER.public_key)
    assert not report.ok and report.problems[0].startswith("entry 5 ") and "edited" in report.problems[0]


async def test_a_deleted_entry_is_found(ledger_db) -> None:  # type: ignore[no-untyped-def]
    dsn, _, checkpoint = ledger_db
    await _sql(dsn, "DELETE FROM evaluation_ledger WHERE seq = 7")
    report = await verify(dsn, [checkpoint], SIGNER.public_key)
    assert not report.ok and report.problems[0].startswith("entry 7:")


async def test_two_reordered_entries_break_the_root(ledger_db) -> None:  # type: ignore[no-untyped-def]
    dsn, _, checkpoint = ledger_db
    await _sql(
        dsn,
        "UPDATE evaluation_ledger SET seq = -1 WHERE seq = 2",
        "UPDATE evaluation_ledger SET seq = 2 WHERE seq = 3",
        "UPDATE evaluation_ledger SET seq = 3 WHERE seq = -1",
    )
    report = await verify(dsn, [checkpoint], SIGNER.public_key)
    assert not report.ok and "root of the stored entries differs" in report.problems[0]


async def test_an_edit_with_every_later_hash_recomputed_is_still_detected(ledger_db) -> None:  # type: ignore[no-untyped-def]
    """The attacker edits a version and rewrites its hash, the chain after it and the ledger
    entries and leaf hashes, so every check inside the database passes: only the published
    checkpoint gives it away."""
    dsn, _, checkpoint = ledger_db
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow("SELECT * FROM evaluation_record_history WHERE seq = 4")
        snapshot = orjson.loads(row["snapshot"])
        snapshot["behaviour_code"] = "SUP-G-09"
        new_hash = chain_hash(row["prev_hash"], snapshot)
        version = {"record_id": row["record_id"], "version": row["version"], "change": row["change"], "hash": new_hash}
        entry = ledger_entry(version)
        async with conn.transaction():
            for table in APPEND_ONLY:
                await conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            await conn.execute(
                "UPDATE evaluation_record_history SET snapshot = $1::json, hash = $2 WHERE seq = 4",
                orjson.dumps(snapshot).decode(),
                new_hash,
            )
            await conn.execute(
                "UPDATE evaluation_ledger SET entry = $1, leaf_hash = $2 WHERE record_id = $3 AND version = $4",
                entry.decode(),
                leaf_hash(entry).hex(),
                row["record_id"],
                row["version"],
            )
            for table in APPEND_ONLY:
                await conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    finally:
        await conn.close()
    report = await verify(dsn, [checkpoint], SIGNER.public_key)
    assert not report.ok and "between 1 and 13" in report.problems[0]


async def test_a_forged_checkpoint_is_refused(ledger_db) -> None:  # type: ignore[no-untyped-def]
    dsn, _, checkpoint = ledger_db
    forged = {**checkpoint, "root_hash": "00" * 32}
    report = await verify(dsn, [forged], SIGNER.public_key)
    assert not report.ok and "signature" in report.problems[0]


async def test_the_command_line_verifier(ledger_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dsn, _, checkpoint = ledger_db
    path = tmp_path / "checkpoint.json"
    path.write_bytes(orjson.dumps(checkpoint))
    argv = [sys.executable, "-m", "services.evaluation.ledger.verify", "--database-url", dsn, "--checkpoint", str(path)]
    ok = subprocess.run([*argv, "--public-key", SIGNER.public_key], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "13 entries checked" in ok.stdout
    await _sql(dsn, "DELETE FROM evaluation_ledger WHERE seq = 13")
    bad = subprocess.run([*argv, "--public-key", SIGNER.public_key], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "MISMATCH" in bad.stderr


async def test_history_refuses_update_and_delete(ledger_db) -> None:  # type: ignore[no-untyped-def]
    """Issue 21 (6): a stored version cannot be rewritten or removed, even by the table's owner."""
    dsn, _, _ = ledger_db
    conn = await asyncpg.connect(dsn)
    try:
        for statement in (
            "UPDATE evaluation_record_history SET change = 'corrected' WHERE seq = 1",
            "DELETE FROM evaluation_record_history WHERE seq = 1",
            "TRUNCATE evaluation_record_history",
        ):
            with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError, match="append-only"):
                await conn.execute(statement)
    finally:
        await conn.close()


async def test_a_silent_edit_of_the_served_row_is_caught(ledger_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 21 (6): `UPDATE evaluation_record SET status='withdrawn'` changed what /v1/records and
    /v1/credit served while the verifier still exited 0 (the ledger covered the history only)."""
    dsn, _, checkpoint = ledger_db
    conn = await asyncpg.connect(dsn)
    try:
        record_id = await conn.fetchval(
            "SELECT id FROM evaluation_record WHERE status = 'in_force' ORDER BY id LIMIT 1"
        )
        await conn.execute("UPDATE evaluation_record SET status = 'withdrawn' WHERE id = $1", record_id)
    finally:
        await conn.close()
    report = await verify(dsn, [checkpoint], SIGNER.public_key)
    assert not report.ok and report.matched_checkpoints == [13]  # the ledger itself is intact
    (problem,) = report.problems
    assert record_id in problem and "status ('withdrawn' served, 'in_force' in the ledger)" in problem
    path = tmp_path / "checkpoint.json"
    path.write_bytes(orjson.dumps(checkpoint))
    argv = [sys.executable, "-m", "services.evaluation.ledger.verify", "--database-url", dsn, "--checkpoint", str(path)]
    cli = subprocess.run([*argv, "--public-key", SIGNER.public_key], capture_output=True, text=True, timeout=60)
    assert cli.returncode == 1 and record_id in cli.stderr


async def test_a_public_row_that_differs_from_the_ledger_is_caught(ledger_db) -> None:  # type: ignore[no-untyped-def]
    dsn, engine, checkpoint = ledger_db
    from services.publication.models import MIGRATIONS as PUBLICATION_MIGRATIONS
    from services.publication.models import TABLES as PUBLICATION_TABLES

    await migrate(engine, "publication", PUBLICATION_MIGRATIONS, PUBLICATION_TABLES)
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT * FROM evaluation_record ORDER BY id LIMIT 2")
        for r in rows:  # a faithful public copy of each, as publication keeps it
            await conn.execute(
                "INSERT INTO publication_record (record_id, version, subject_key, subject_type, subject_id,"
                " subject_name, behaviour_code, severity, region, project, occurred_on, recorded_on, valid_until,"
                " status, updated_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::json, $11, $12, $13, $14, now())",
                r["id"], r["version"], r["subject_key"], r["subject_type"], r["subject_id"], r["subject_name"],
                r["behaviour_code"], r["severity"], r["region"], orjson.dumps(r["project"]).decode()
                if not isinstance(r["project"], str) else r["project"], r["occurred_on"], r["recorded_on"],
                r["valid_until"], r["status"],
            )  # fmt: skip
        assert (await verify(dsn, [checkpoint], SIGNER.public_key)).ok
        await conn.execute(
            "UPDATE publication_record SET valid_until = valid_until - 300 WHERE record_id = $1", rows[0]["id"]
        )
    finally:
        await conn.close()
    report = await verify(dsn, [checkpoint], SIGNER.public_key)
    assert not report.ok and report.problems[0].startswith(f"public record {rows[0]['id']}")
    assert "valid_until" in report.problems[0]
