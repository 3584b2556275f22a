"""Issue 14's evidence side by side (services/casework/console/evidence.py): each bidder a column, each
indicator's field a row, the value each bid carried in its bidder's column and highlighted, "—" for a
bidder the indicator does not join; an indicator stored before `matched` existed still lines up; the
complaints of a repeat-complaint signal marked inside or outside their window; outside text escaped."""

from services.casework.console.evidence import Cell, align, alignment_table, complaints_table, evidence_section
from services.casework.console.signal_pages import evidence_summary
from services.casework.console.task_page import task_page
from tests.unit.test_casework_console import WHO, task

S1, S2, S3 = "91410300MA0000001X", "91410300MA0000002X", "91410300MA0000003X"
SUPPLIERS = [{"type": "supplier", "id": S1}, {"type": "supplier", "id": S2}, {"type": "supplier", "id": S3}]
MACHINE = {
    "code": "same_machine",
    "basis": "洛阳办法第十条第1项",
    "evidence": {
        "bids": ["b1", "b2"],
        "suppliers": [S1, S2],
        "field": "mac",
        "value": "AA-BB",
        "matched": [
            {"bid": "b1", "supplier": S1, "field": "mac", "value": "AA-BB"},
            {"bid": "b2", "supplier": S2, "field": "mac", "value": "aa:bb"},
        ],
    },
}
PERSONNEL = {
    "code": "same_personnel",
    "basis": "洛阳办法第十条第3项",
    "evidence": {
        "bids": ["b2", "b3"],
        "suppliers": [S2, S3],
        "field": "contact_person/project_manager",
        "value": "王五",
        "matched": [
            {"bid": "b2", "supplier": S2, "field": "project_manager", "value": "王五"},
            {"bid": "b3", "supplier": S3, "field": "contact_person", "value": "<王五>"},
        ],
    },
}
PRICES = {
    "code": "regular_prices",
    "basis": "洛阳办法第十条第4项",
    "evidence": {
        "bids": ["b1", "b2", "b3"],
        "suppliers": [S1, S2, S3],
        "field": "price",
        "pattern": "difference",
        "prices": ["1000000", "1030000", "1060000"],
        "differences": ["30000", "30000"],
        "tolerance": "0.001",
        "matched": [
            {"bid": "b1", "supplier": S1, "field": "price", "value": "1000000"},
            {"bid": "b2", "supplier": S2, "field": "price", "value": "1030000"},
            {"bid": "b3", "supplier": S3, "field": "price", "value": "1060000"},
        ],
    },
}


def test_each_bidder_is_a_column_and_each_matched_field_a_row_with_the_bids_own_values() -> None:
    aligned = align(SUPPLIERS, [MACHINE, PERSONNEL, PRICES])
    assert aligned.suppliers == (S1, S2, S3)
    assert aligned.bids == (("b1",), ("b2",), ("b3",))
    rows = {(r.indicator, r.field): r.cells for r in aligned.rows}
    assert rows[("same_machine", "mac")] == (Cell("AA-BB", True), Cell("aa:bb", True), None)
    # One person, named as one bid's manager and another's contact: two rows, each on its own field.
    assert rows[("same_personnel", "project_manager")] == (None, Cell("王五", True), None)
    assert rows[("same_personnel", "contact_person")] == (None, None, Cell("<王五>", True))
    assert rows[("regular_prices", "price")] == (Cell("1000000", True), Cell("1030000", True), Cell("1060000", True))
    notes = {r.indicator: r.note for r in aligned.rows}
    assert notes["regular_prices"] == "等差 30000、30000；容差 0.001"


def test_an_indicator_stored_before_matched_gives_its_shared_value_to_each_supplier_it_names() -> None:
    legacy = {"code": "same_machine", "basis": "b", "evidence": {"bids": ["x", "y"], "suppliers": [S1, S3],
                                                                  "field": "machine_id", "value": "M-1"}}  # fmt: skip
    aligned = align(SUPPLIERS, [legacy])
    assert [r.cells for r in aligned.rows] == [(Cell("M-1", True), None, Cell("M-1", True))]


def test_a_bidder_the_evidence_names_but_the_task_does_not_gets_its_own_column() -> None:
    aligned = align(SUPPLIERS[:1], [MACHINE])
    assert aligned.suppliers == (S1, S2)
    assert aligned.rows[0].cells == (Cell("AA-BB", True), Cell("aa:bb", True))


def test_the_table_highlights_matched_cells_escapes_values_and_dashes_the_others() -> None:
    html = alignment_table(align(SUPPLIERS, [MACHINE, PERSONNEL]))
    assert html.count('<td class="match"') == 4 and html.count("<mark>") == 4
    assert "&lt;王五&gt;" in html and "<王五>" not in html
    machine_row = html.split('data-indicator="same_machine"')[1].split("</tr>")[0]
    assert "同一电脑、网卡或 CA 锁编制" in machine_row and "网卡 MAC 地址" in machine_row
    assert machine_row.endswith(f'<td data-label="{S3}">—</td>')
    assert f'data-supplier="{S1}"' in html and "投标 b1" in html
    english = alignment_table(align(SUPPLIERS, [MACHINE]), "en")
    assert "made on the same machine" in english and "MAC address" in english


def test_the_complaints_are_listed_with_their_window() -> None:
    signal = {
        "rule": "洛阳办法第八条第十五项: 12个月内3次以上投诉查无实据",
        "complaints": [
            {"region": "410302", "complaint_no": "TS-2", "project": "P-2", "decided_on": "2026-03-01",
             "outcome": "unfounded", "fabricated": False},
            {"region": "110101", "complaint_no": "TS-1", "project": "<P-1>", "decided_on": "2026-01-05",
             "outcome": "unfounded", "fabricated": False},
            {"region": "410302", "complaint_no": "TS-4", "project": "P-4", "decided_on": "2026-11-25",
             "outcome": "unfounded", "fabricated": True},
        ],
        "window": {"from": "2026-01-05", "through": "2027-01-05", "months": 12, "needed": 3, "counted": 3},
    }  # fmt: skip
    html = complaints_table(signal)
    assert "统计窗口：2026-01-05 至 2027-01-05（12 个月），达到 3 次即构成，窗口内计入 3 次。" in html
    assert html.index("TS-1") < html.index("TS-2") < html.index("TS-4")  # by date
    assert html.count('class="in-window"') == 3 and "查无实据" in html and "&lt;P-1&gt;" in html
    assert "捏造事实或提供虚假材料" in html
    outside = complaints_table({**signal, "window": {**signal["window"], "through": "2026-10-01"}})
    assert outside.count('class="in-window"') == 2


def test_the_task_page_shows_the_evidence_of_a_triage_and_of_a_signals_determination() -> None:
    triage = task(kind="collusion_triage", context={"project": {"code": "P"}, "suppliers": SUPPLIERS,
                                                    "indicators": [MACHINE, PRICES]})  # fmt: skip
    html = task_page(triage, {}, who=WHO, csrf="c")
    assert 'id="signal-evidence"' in html and 'id="evidence-aligned"' in html and "证据对照" in html
    signal = {"rule": "r", "complaints": [{"complaint_no": "TS-1", "decided_on": "2026-01-05", "outcome": "unfounded"}]}
    asked = task(context={"request": {"behaviour_code": "SUP-S-15", "behaviour": {"signal": signal}}})
    assert 'id="complaints"' in task_page(asked, {}, who=WHO, csrf="c")
    # A report from a purchaser carries no signal: no such section.
    assert evidence_section(task()) == "" and 'id="signal-evidence"' not in task_page(task(), {}, who=WHO, csrf="c")


def test_the_signals_list_sums_up_the_evidence() -> None:
    triage = task(kind="collusion_triage", context={"suppliers": SUPPLIERS, "indicators": [MACHINE, PRICES, MACHINE]})
    summary = evidence_summary(triage, "zh")
    assert summary.count("同一电脑") == 1 and "投标报价呈规律性差异" in summary and "3 家投标人" in summary
    window = {"from": "2026-01-05", "through": "2027-01-05"}
    asked = task(context={"request": {"behaviour": {"signal": {"complaints": [{}, {}, {}], "window": window}}}})
    assert evidence_summary(asked, "zh") == "3 件投诉 窗口 2026-01-05 至 2027-01-05"
    assert evidence_summary(task(), "zh") == "—"
