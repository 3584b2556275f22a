"""The console's watch pages (services/casework/console/watch_pages.py): the warnings list with the
ranking, and a project's timeline with its late, provisional and conflicting entries, escaped."""

from services.casework.console.watch_pages import timeline_page, warnings_page

WHO = {"sub": "officer-1", "role": "finance_officer", "region": "411000"}


def test_the_warnings_page_lists_warnings_linked_to_their_timelines_and_the_ranking() -> None:
    warnings = {
        "items": [
            {
                "warning_id": "w1", "project": {"code": "XC<1>"}, "region": "411000", "stage": "contract_signing",
                "level": "overdue", "due_on": "2027-02-15", "responsible": {"type": "purchaser", "id": "P1"},
                "task_id": None, "raised_at": "2027-02-16T00:00:00+08:00",
            }
        ]
    }  # fmt: skip
    rankings = {
        "purchaser": {
            "period": "2027",
            "items": [{"party": {"id": "P1"}, "on_time_rate": 0.5, "average_delay_working_days": 2, "open_overdue": 1}],
        },
        "agency": {
            "period": "2027",
            "items": [
                {"party": {"id": "A<9>"}, "on_time_rate": 1.0, "average_delay_working_days": 0, "open_overdue": 0}
            ],
        },
    }
    html = warnings_page(warnings, rankings, who=WHO, csrf="t")
    assert 'href="/console/projects/411000/XC%3C1%3E"' in html and "XC&lt;1&gt;" in html
    assert "已超期 overdue" in html and "<td>50 %</td>" in html and "XC<1>" not in html
    purchasers, agencies = html.split('id="rankings"')[1].split('id="agency-rankings"')
    assert "<td>P1</td>" in purchasers and "A&lt;9&gt;" not in purchasers
    assert "<td>A&lt;9&gt;</td><td>100 %</td>" in agencies and "代理机构排名" in html


def test_a_ranking_not_read_shows_empty() -> None:
    html = warnings_page({"items": []}, {"purchaser": {"period": "2027", "items": []}}, who=WHO, csrf="t")
    assert html.count("No deadlines due in the period.") == 2


def test_the_timeline_page_marks_late_provisional_and_conflicting_entries() -> None:
    project = {
        "region": "411000", "code": "XC-1", "name": "办公设备",
        "stages": [
            {
                "stage": "contract_signing", "contract_no": None, "due_on": "2027-01-05", "provisional": True,
                "done_at": None, "state": "overdue", "late": True, "level": "escalated",
                "task_id": "deadline:411000:XC-1:contract_signing:", "basis": "004 第18项",
            }
        ],
        "facts": [
            {"type": "contract.signed", "at": "2027-01-06", "contract_no": "C1", "source": "urn:eproc:x",
             "conflicts_with": "urn:eproc:x|e1"},
        ],
    }  # fmt: skip
    html = timeline_page(project, who=WHO, csrf="t")
    assert "(provisional 暂定)" in html and "late 逾期" in html and "⚠ urn:eproc:x|e1" in html
    assert 'href="/console/tasks/deadline%3A411000%3AXC-1%3Acontract_signing%3A"' in html
    assert "Project" in timeline_page(None, who=WHO, csrf="t", error="not found")
