"""The console's HTML and forms without a browser: marks of overdue and escalated tasks, escaping
of outside text, and the completion body each decision form sends."""

from datetime import date

import httpx

from services.casework.console.flash import field_errors
from services.casework.console.i18n import lang_of
from services.casework.console.pages import calendar_home, days_left, queue
from services.casework.console.pages_base import page
from services.casework.console.replicas import replica_lags
from services.casework.console.routes import completion_body
from services.casework.console.task_page import task_page
from services.common.arrangements import Arrangement, provisional
from services.common.calendar_status import calendar_status
from services.common.settings import Settings
from services.common.workdays import Reckoner

WHO = {"sub": "alice", "role": "finance_officer", "region": "410300", "org": "410300"}
COUNTS = {"by_officer": [], "by_region": []}


def task(**over: object) -> dict:
    values = {
        "id": "task-1",
        "kind": "determination",
        "state": "open",
        "region": "410322",
        "title": "<script>alert(1)</script>认定",
        "subject": {"type": "supplier", "id": "91410300MA0000002X", "name": "某公司"},
        "record_id": None,
        "opened_on": "2026-09-25",
        "due_on": "2026-10-15",
        "overdue": False,
        "reminded": False,
        "escalation_level": 0,
        "escalated_to_region": None,
        "assignee": None,
        "priority": 50,
        "links": {"report": "/v1/determinations/task-1"},
        "context": {"request": {"behaviour_code": "SUP-S-03", "evidence_count": 2}},
        "audit": [
            {
                "at": "2026-09-25T02:00:00+00:00",
                "action": "created",
                "actor": "system",
                "role": "workflow",
                "details": {},
            }
        ],
        "decision": None,
    }
    return values | over


def test_the_queue_marks_overdue_and_escalated_tasks_and_escapes_titles() -> None:
    late = task(id="task-late", overdue=True, escalation_level=2, escalated_to_region="410300")
    html = queue(
        {"items": [task(), late], "total": 2, "as_of": date(2026, 10, 20).isoformat()},
        {
            "by_officer": [],
            "by_region": [{"region": "410322", "open": 2, "unclaimed": 2, "overdue": 1, "escalated": 1}],
        },
        who=WHO,
        csrf="c",
    )
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert '<tr class="overdue escalated" data-task="task-late">' in html
    assert '<tr class="" data-task="task-1">' in html
    assert "已升级 L2 → 410300" in html and html.count('class="badge b-overdue"') == 1


def test_the_task_page_offers_claim_then_the_decision_form_to_the_assignee() -> None:
    related = {"report": {"status": 200, "body": {"evidence": [{"kind": "photo", "uri": "https://e.example/1.jpg"}]}}}
    open_page = task_page(task(), related, who=WHO, csrf="c")
    assert 'id="claim"' in open_page and 'id="decide"' not in open_page
    assert 'href="https://e.example/1.jpg"' in open_page
    mine = task_page(task(state="claimed", assignee="alice"), related, who=WHO, csrf="c")
    assert 'id="decide"' in mine and 'value="determine"' in mine and 'value="approve"' not in mine
    theirs = task_page(task(state="claimed", assignee="bob"), related, who=WHO, csrf="c")
    assert 'id="decide"' not in theirs and "已由 bob 认领" in theirs
    assert "Claimed by bob" in task_page(task(state="claimed", assignee="bob"), related, who=WHO, csrf="c", lang="en")


def test_each_decision_sends_only_its_own_fields() -> None:
    form = {
        "decision": "determine",
        "reason": "属实",
        "behaviour_code": "SUP-G-01",
        "decision_no": "n",
        "decided_on": "2026-12-01",
        "liability_ends_on": "2028-12-01",
        "penalty": "p",
    }
    assert completion_body(form) == {
        "decision": "determine",
        "reason": "属实",
        "determination": {
            "decision_no": "n",
            "decided_on": "2026-12-01",
            "liability_ends_on": "2028-12-01",
            "penalty": "p",
        },
    }
    assert completion_body(form | {"decision": "record_general"}) == {
        "decision": "record_general",
        "reason": "属实",
        "behaviour_code": "SUP-G-01",
    }
    # An empty correction form withdraws the record: nothing but decision and reason is sent.
    assert completion_body({"decision": "correct", "reason": "r", "behaviour_code": "", "decision_no": ""}) == {
        "decision": "correct",
        "reason": "r",
    }


def test_a_provisional_due_date_is_marked_in_the_queue_and_on_the_task_page() -> None:
    items = [task(id="t-p", provisional=True, due_on="2027-01-11"), task(id="t-o", due_on="2026-12-29")]
    html = queue({"items": items, "total": 2, "as_of": "2026-12-07"}, COUNTS, who=WHO, csrf="c")
    assert html.count('class="badge b-prov"') == 1
    page = task_page(task(provisional=True), {}, who=WHO, csrf="c")
    assert '2026-10-15 <span class="badge b-prov"' in page


def test_the_calendar_banner_goes_to_supervisors_from_the_first_of_november(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("CREDIT_CALENDAR_DIR", raising=False)
    october, november = calendar_status(date(2026, 10, 31)), calendar_status(date(2026, 11, 1))
    assert october["warnings"] == [] and october["next_year"]["status"] == "provisional"
    (warning,) = november["warnings"]
    assert "2027" in warning and "PUT /v1/calendar/2027" in warning
    html = queue({"items": [], "total": 0, "as_of": ""}, COUNTS, who=WHO, csrf="c", warnings=november["warnings"])
    assert 'class="warning calendar-warning" role="alert"' in html
    assert calendar_status(date(2026, 11, 1), installed_2027())["warnings"] == []
    admin = calendar_home(november, who=WHO | {"role": "administrator"}, csrf="c")
    assert "calendar-warning" in admin and "PUT /v1/calendar/{year}" in admin


def installed_2027() -> Reckoner:
    """A reckoner holding a TEST FIXTURE 2027 arrangement (not official data)."""
    reckoner = Reckoner()
    reckoner.install(Arrangement(2027, provisional(2027).holidays, frozenset(), "TEST FIXTURE", "official", version=1))
    return reckoner


def test_the_queue_shows_how_far_behind_the_replicas_are() -> None:
    replicas = [
        {
            "service": "appeal",
            "lag_seconds": 3.25,
            "apply_delay_seconds": 0.5,
            "newest_event_at": "t",
            "events_applied": 7,
        },
        {"service": "repair", "error": "not answering"},
    ]
    html = queue(
        {"items": [], "total": 0, "as_of": "2026-12-07"},
        {"by_officer": [], "by_region": []},
        who=WHO,
        csrf="c",
        replicas=replicas,
    )
    assert '<table id="replicas">' in html
    assert "<td>appeal</td><td>3.2 s</td><td>0.5 s</td><td>t</td><td>7</td>" in html
    assert "副本延迟" in html
    assert '<td>repair</td><td colspan="4">not answering</td>' in html


async def test_replica_lags_are_read_from_each_services_readyz() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.port == 9104:
            return httpx.Response(200, json={"status": "ready", "replica": {"lag_seconds": 1.0, "events_applied": 2}})
        raise httpx.ConnectError("refused", request=request)

    settings = Settings(credit_appeal_url="http://127.0.0.1:9104", credit_repair_url="http://127.0.0.1:9103")
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        appeal, repair = await replica_lags(client, settings)
    assert appeal == {"service": "appeal", "lag_seconds": 1.0, "events_applied": 2}
    assert repair == {"service": "repair", "error": "not answering"}


def test_point2_supervisors_see_a_banner_when_the_policy_is_past_its_validity() -> None:
    """Issue 16 point 2: Luoyang Art. 28 (valid 2 years from issue, 2021) has passed and no continuation
    is recorded: supervisors and administrators are told on every page; officers are not."""
    banner = "policy-validity"
    for role in ("supervisor", "administrator"):
        assert banner in page("x", "", who={"sub": "s", "role": role, "region": "410300"})
        assert "洛财购〔2021〕12号" in page("x", "", who={"sub": "s", "role": role, "region": "410300"})
    assert banner not in page("x", "", who={"sub": "o", "role": "finance_officer", "region": "410300"})


# --- issue 22 ------------------------------------------------------------------------------------


def test_the_queue_has_search_pickers_sortable_columns_paging_and_days_left() -> None:
    params = {"state": "active", "q": "91410300MA0000002X", "kind": "determination", "sort": "-due_on"}
    items = [task(id=f"t{i}", due_on="2026-12-09") for i in range(3)] + [task(id="late", due_on="2026-12-01")]
    counts = {"by_officer": [{"assignee": "bob", "open": 1, "overdue": 0, "completed": 0}], "by_region": []}
    html = queue(
        {"items": items, "total": 60, "limit": 25, "offset": 25, "as_of": "2026-12-07"},
        counts,
        who=WHO,
        csrf="c",
        params=params,
    )
    assert 'id="q" name="q" value="91410300MA0000002X"' in html
    assert '<option value="determination" selected>严重失信认定</option>' in html
    assert '<option value="bob">bob</option>' in html and '<option value="me">我 (alice)</option>' in html
    # The sorted column toggles to ascending, the others sort ascending first; paging keeps the filters.
    assert 'aria-sort="descending"' in html and "sort=due_on" in html and "sort=opened_on" in html
    assert "第 2/3 页" in html and 'id="prev"' in html and 'id="next"' in html and "page=3" in html
    # Monday 12-07: due Wednesday 12-09 is 2 working days away; due Tuesday 12-01 is 4 working days late.
    assert "2 个工作日" in html and "逾期 4 个工作日" in html
    assert 'class="cards"' in html and 'data-label="办理期限（最后一日）"' in html
    english = queue({"items": items, "total": 4, "as_of": "2026-12-07"}, COUNTS, who=WHO, csrf="c", lang="en")
    assert "Work queue" in english and "4 working day(s) late" in english and 'lang="en"' in english


def test_days_left_are_working_days_across_a_holiday_and_marked_on_a_provisional_year() -> None:
    # Wednesday 2026-09-30 to Thursday 10-08, across the National Day holiday (10-01..10-07):
    # 8 calendar days, 1 working day.
    assert ">1 个工作日<" in days_left(task(due_on="2026-10-08"), "2026-09-30")
    # Late over the holiday: due 09-30, seen on 10-08 — 1 working day late, not 8 days.
    assert "逾期 1 个工作日" in days_left(task(due_on="2026-09-30"), "2026-10-08")
    # Due Friday 12-04, seen Saturday 12-05: overdue, but no working day has passed since.
    assert "已逾期" in days_left(task(due_on="2026-12-04"), "2026-12-05")
    assert "今天到期" in days_left(task(due_on="2026-12-07"), "2026-12-07")
    assert "暂定" not in days_left(task(due_on="2026-12-09"), "2026-12-07")
    # Late into 2027, which has no official arrangement: the count is marked provisional (a due
    # date counted through such a year is marked beside the date, so not twice).
    assert "暂定" in days_left(task(due_on="2026-12-31"), "2027-01-05")
    assert "暂定" not in days_left(task(due_on="2027-01-11", provisional=True), "2026-12-07")


def test_the_chart_row_is_inline_svg_drawn_from_the_counts() -> None:
    counts = {
        "by_officer": [],
        "by_region": [],
        "by_kind": [{"kind": "determination", "open": 4, "overdue": 2, "escalated": 1}],
        "overdue_weeks": [{"on": f"2026-{m:02d}-01", "overdue": m} for m in range(5, 13)],
    }
    html = queue({"items": [], "total": 0, "as_of": "2026-12-07"}, counts, who=WHO, csrf="c")
    assert '<section id="charts"' in html and '<svg id="chart-kinds"' in html and '<svg id="chart-trend"' in html
    assert "严重失信认定 · 逾期: 2" in html and "2026-12-01: 12" in html
    assert "<script" not in html and "src=" not in html  # nothing loaded from anywhere


def test_the_task_page_writes_out_the_plan_in_beijing_time_and_quotes_the_report() -> None:
    alarms = [
        {"kind": "reminder", "level": 0, "at": "2026-12-15T01:00:00+00:00", "to_region": "410322"},
        {"kind": "escalation", "level": 1, "at": "2026-12-17T09:00:00+08:00", "to_region": "410300"},
        {"kind": "escalation", "level": 2, "at": "2026-12-22T09:00:00+08:00", "to_region": "410000"},
    ]
    related = {"report": {"status": 200, "body": {"report": {"description": "投标文件中的业绩合同系伪造"}}}}
    html = task_page(
        task(alarms=alarms, reminded=True, created_at="2026-12-01T13:38:05.123456+00:00"), related, who=WHO, csrf="c"
    )
    assert "提醒 12-15 09:00 ✓ · 逾期升级 12-17 09:00 → 410300 · 2级 12-22 09:00 → 410000" in html.replace(
        '</span> · <span class="planned">', " · "
    ).replace('<span class="fired">', "").replace('<span class="planned">', "").replace("</span>", "")
    assert '<blockquote id="report-words">投标文件中的业绩合同系伪造</blockquote>' in html
    assert "2026-12-01 21:38" in html and "13:38:05" not in html
    assert 'href="/console/subjects/supplier/91410300MA0000002X"' in html


def test_a_refused_decision_keeps_what_was_typed_and_shows_each_fields_error() -> None:
    problem = {
        "code": "invalid_determination",
        "title": "处理决定内容无效",
        "detail": "see `errors`",
        "errors": [{"loc": ["liability_ends_on"], "msg": "Input should be a valid date"}],
    }
    errors = field_errors(problem, "zh")
    assert errors == {"liability_ends_on": "Input should be a valid date"}
    assert field_errors({"code": "reason_required", "hint": "办理决定须写明理由。"}, "zh") == {
        "reason": "办理决定须写明理由。"
    }
    form = {"decision": "determine", "reason": "经查证属实", "decision_no": "洛财购处〔2026〕1号"}
    html = task_page(task(state="claimed", assignee="alice"), {}, who=WHO, csrf="c", form=form, field_errors=errors)
    assert '<textarea id="reason" name="reason" rows="3">经查证属实</textarea>' in html
    assert 'value="洛财购处〔2026〕1号"' in html
    assert 'id="liability_ends_on" name="liability_ends_on" value="" class="invalid" aria-invalid="true"' in html
    assert '<div class="field-error" id="liability_ends_on-error">Input should be a valid date</div>' in html


def test_after_a_decision_the_page_links_to_what_it_made() -> None:
    done = task(
        state="completed",
        decision={"decision": "determine", "reason": "属实"},
        links={"report": "/v1/determinations/task-1"},
    )
    related = {"report": {"status": 200, "body": {"request_id": "task-1", "state": "recorded", "record_id": "rec-9"}}}
    html = task_page(done, related, who=WHO, csrf="c")
    assert 'id="made"' in html and 'href="/console/records/rec-9"' in html
    assert 'href="/console/tasks/task-1%3Alisting"' in html and 'href="/v1/credit/supplier/91410300MA0000002X"' in html


def test_the_language_is_the_cookie_then_accept_language_then_chinese() -> None:
    assert lang_of(None, None) == "zh" and lang_of(None, "en-US,en;q=0.9") == "en"
    assert lang_of("zh", "en-US") == "zh" and lang_of(None, "zh-CN,en;q=0.5") == "zh" and lang_of("xx", None) == "zh"
