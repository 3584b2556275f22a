"""`python -m deploy.local.demo --api URL`: a small demo data set, loaded through the real API of a
running stack (`bash deploy/run.sh --demo` does it once the stack answers), so a first run shows a
filled console and public answers. Every name starts with 【演示】, every project code with DEMO-,
every description with 【演示数据】: nothing here is real.

What it makes (Luoyang, county 410322):
- 【演示】甲: a general record (reported by a purchaser), then its appeal — an appeal_review task;
- 【演示】乙: a serious record determined by the finance department — on the blacklist;
- 【演示】丙: a reported serious behaviour — an open determination task;
- 【演示】丁: another open determination, made overdue: the one step not done through the API (no
  API moves a task's dates), it sets the task's opened and due dates back in the casework database
  and says so in the task's title. There is no honest way yet: every task is planned from the
  moment it opens (casework `open_task`, the activity's scheduled time), not from the fact's date,
  so an old `occurred_on` or a short test-county policy still gives a task due today or later. The
  clocks that run from the fact (`at` of the procurement events, CONTRACT §1: "an event that arrives
  late can be overdue on arrival") belong to the watch service, not built here; once it is, the
  demo should send a `contract.signed.v1` weeks old and let its `deadline_overdue` task arrive late.

Loading twice is harmless: the same Idempotency-Key and body are answered as the first time, and on a
later day (other dates in the body) the API refuses the key (409) and the step is skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx

from services.common.auth import mint_token
from services.common.identifiers import make_uscc
from services.common.lawdates import today
from services.common.settings import DEV_JWT_SECRET

COUNTY, CITY = "410322", "410300"
PURCHASER = make_uscc("12410300MB0000001")
SUPPLIERS = {name: make_uscc(f"91410300MA99000{i:02d}") for i, name in enumerate("甲乙丙丁", start=1)}
OFFICER = {"role": "finance_officer", "org": CITY, "region": CITY, "sub": "demo-officer"}
TIMEOUT_SECONDS = 90


def _token(secret: str, **claims: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + mint_token(secret=secret, ttl_seconds=3600, **claims)}  # type: ignore[arg-type]


def _evidence(label: str) -> list[dict]:
    return [
        {
            "kind": "document",
            "uri": f"https://evidence.invalid/demo/{label}.pdf",
            "sha256": hashlib.sha256(label.encode()).hexdigest(),
        }
    ]


def _report(name: str, code: str, reporter: dict, words: str, **extra: Any) -> dict:
    day = today()
    return {
        "subject": {"type": "supplier", "id": SUPPLIERS[name], "name": f"【演示】洛阳{name}示例科技有限公司"},
        "behaviour_code": code,
        "reporter": reporter,
        "region": COUNTY,
        "project": {"code": f"DEMO-{day.year}-{name}", "name": "【演示】办公设备采购项目"},
        "occurred_on": (day - timedelta(days=5)).isoformat(),
        "description": f"【演示数据】{words}",
        "evidence": _evidence(f"{name}-{code}"),
        **extra,
    }


def _until(call: Callable[[], httpx.Response], done: Callable[[httpx.Response], bool]) -> httpx.Response:
    """Call until `done` or the deadline (a service's replica may not have the record yet)."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while True:
        r = call()
        if done(r) or time.monotonic() > deadline:
            return r
        time.sleep(0.5)


def _post(client: httpx.Client, path: str, body: dict, headers: dict, key: str) -> dict | None:
    r = client.post(path, json=body, headers={**headers, "Idempotency-Key": f"demo-{key}"})
    if r.status_code == 409 and r.json().get("code") == "idempotency_conflict":
        print(f"  {key}: loaded on an earlier day, kept")  # noqa: T201
        return None
    if r.status_code >= 300:
        raise RuntimeError(f"{path} answered {r.status_code}: {r.text}")
    return r.json()


def load(api: str, secret: str, casework_database_url: str | None = None) -> dict[str, str]:
    """Loads the set; returns what it made (name → id), for the banner and the tests. The overdue
    task's dates are moved in `casework_database_url` (default: the casework service's, from the
    same settings as the services)."""
    officer = _token(secret, **OFFICER)
    purchaser_headers = _token(secret, role="purchaser", org=PURCHASER, region=COUNTY, sub="demo-purchaser")
    purchaser = {"type": "purchaser", "id": PURCHASER, "name": "【演示】洛阳市某采购单位"}
    finance = {"type": "finance", "id": CITY, "name": "【演示】洛阳市财政局"}
    made: dict[str, str] = {}
    with httpx.Client(base_url=api, timeout=30, trust_env=False) as client:
        general = _report("甲", "SUP-G-01", purchaser, "未按规定时间签订政府采购合同")
        if out := _post(client, "/v1/reports", general, purchaser_headers, "general"):
            made["general_record"] = out["record_id"]
            subject = _token(secret, role="subject", org=SUPPLIERS["甲"], region=COUNTY, sub="demo-supplier")
            appeal = {
                "record_id": out["record_id"],
                "grounds": "【演示数据】合同迟签系采购人原因，附往来函件",
                "evidence": _evidence("appeal"),
            }
            r = _until(
                lambda: client.post("/v1/appeals", json=appeal, headers={**subject, "Idempotency-Key": "demo-appeal"}),
                lambda r: r.status_code not in (404, 503),
            )
            if r.status_code >= 300 and r.status_code != 409:
                raise RuntimeError(f"/v1/appeals answered {r.status_code}: {r.text}")
            made["appeal"] = r.json().get("appeal_id") or r.json().get("id") or ""
        d = today()
        determined = _report(
            "乙",
            "SUP-S-01",
            finance,
            "提供虚假材料谋取中标",
            determination={
                "decision_no": f"【演示】洛财购处〔{d.year}〕1号",
                "decided_on": (d - timedelta(days=2)).isoformat(),
                "liability_ends_on": (d + timedelta(days=3 * 365)).isoformat(),
                "penalty": "列入不良行为记录名单，三年内禁止参加政府采购活动",
            },
        )
        if out := _post(client, "/v1/reports", determined, officer, "blacklisted"):
            made["blacklisted_record"] = out["record_id"]
        words = "开标前供应商代表与采购人就投标报价进行协商谈判，有会议记录及录音为证"
        if out := _post(client, "/v1/reports", _report("丙", "SUP-S-05", purchaser, words), purchaser_headers, "open"):
            made["open_determination"] = out["task_id"]
        late = _report("丁", "SUP-S-05", purchaser, "评标期间供应商与采购人代表私下商谈价格，评审专家当场发现并记录")
        late["occurred_on"] = (d - timedelta(days=30)).isoformat()
        if out := _post(client, "/v1/reports", late, purchaser_headers, "overdue"):
            made["overdue_task"] = out["task_id"]
            _until(lambda: client.get(f"/v1/tasks/{out['task_id']}", headers=officer), lambda r: r.status_code == 200)
            asyncio.run(_backdate(out["task_id"], casework_database_url))
    return made


async def _backdate(task_id: str, database_url: str | None) -> None:
    """The demo's overdue task: opened 20 days ago, due 3 days ago, its alarms shown as moved by as
    much (no API moves a task's dates; its workflow's own timers are not moved)."""
    from datetime import datetime

    from sqlalchemy import select, update

    from services.casework.models import TASKS_T
    from services.common.db import make_engine
    from services.common.settings import Settings

    engine = make_engine(database_url or Settings().database_url_for("casework"))
    d = today()
    try:
        async with engine.begin() as conn:
            row = (await conn.execute(select(TASKS_T).where(TASKS_T.c.id == task_id))).one()
            if row.due_on < d:
                return  # moved already
            shift = row.due_on - (d - timedelta(days=3))
            alarms = [{**a, "at": (datetime.fromisoformat(a["at"]) - shift).isoformat()} for a in row.alarms or []]
            await conn.execute(
                update(TASKS_T)
                .where(TASKS_T.c.id == task_id)
                .values(
                    opened_on=row.opened_on - shift,
                    due_on=row.due_on - shift,
                    alarms=alarms,
                    title=row.title + "（演示：日期已前移，示逾期）",
                )
            )
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--api", default=os.environ.get("CREDIT_API_URL", "http://127.0.0.1:8000"))
    args = parser.parse_args(argv)
    secret = os.environ.get("CREDIT_JWT_SECRET") or DEV_JWT_SECRET
    print(f"loading the demo data set (labelled 【演示】) through {args.api}")  # noqa: T201
    made = load(args.api, secret)
    for what, ident in made.items():
        print(f"  {what}: {ident}")  # noqa: T201
    print(f"  public answer: {args.api}/v1/credit/supplier/{SUPPLIERS['乙']}")  # noqa: T201
    print(f"  console: {args.api}/console (officer token: --role finance_officer --org {CITY} --region {CITY})")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
