"""A signal's evidence laid out side by side (issue 14), for the task page and the signals list.

Collusion (Luoyang Art. 10): one column per bidder of the group, one row per indicator and field,
each cell the value that bidder's bid carried; a cell that matched is highlighted, a bidder the
indicator does not join shows "—". The values come from each indicator's `evidence.matched`
(services/signals/collusion/bids.py `matched`); an indicator stored before that existed gives its one
shared value to every supplier it names. Repeat complaints (Art. 8(15)/(16)): the complaints, their
dates, projects and outcomes, each marked inside or outside the 12-month window the rule counted.

Evidence is for finance departments only: these come from the task (GET /v1/tasks/{id}, officers'
roles only) and are rendered for a signed-in officer; nothing here is published."""

from dataclasses import dataclass

from services.casework.console.i18n import named, worded
from services.casework.console.pages_base import e

INDICATORS = {
    "same_compiler": ("同一单位或个人编制", "compiled by the same person"),
    "same_machine": ("同一电脑、网卡或 CA 锁编制", "made on the same machine, network card or CA dongle"),
    "same_agent": ("同一单位或个人办理投标", "bidding handled by the same agent"),
    "same_personnel": ("项目负责人或联系人为同一人", "the same project manager or contact"),
    "identical_document": ("投标文件完全相同", "identical documents"),
    "near_identical_text": ("投标文件异常一致", "near-identical text"),
    "mixed_up_documents": ("投标文件相互混装", "documents mixed up"),
    "regular_prices": ("投标报价呈规律性差异", "prices in a regular pattern"),
}
BID_FIELDS = {
    "author": ("文档作者", "document author"),
    "prepared_by": ("编制单位或个人", "prepared by"),
    "machine_id": ("电脑机器码", "machine id"),
    "mac": ("网卡 MAC 地址", "MAC address"),
    "dongle_serial": ("CA 锁序列号", "CA dongle serial"),
    "agent": ("投标代理人", "agent"),
    "project_manager": ("项目负责人", "project manager"),
    "contact_person": ("联系人", "contact person"),
    "sha256": ("文件 SHA-256", "document SHA-256"),
    "simhash": ("文本 simhash", "text simhash"),
    "mentions": ("文件中载明的他人代码", "another bidder's USCC in the document"),
    "supplier_id": ("被载明的供应商", "the bidder named"),
    "price": ("投标报价（元）", "bid price (yuan)"),
}
OUTCOMES = {
    "unfounded": ("查无实据", "unfounded"),
    "upheld": ("成立", "upheld"),
    "partly_upheld": ("部分成立", "partly upheld"),
    "rejected": ("驳回", "rejected"),
    "withdrawn": ("撤回", "withdrawn"),
}
WORDS = {
    "aligned": ("证据对照（仅财政部门可见）", "Evidence side by side (finance only)"),
    "indicator": ("指标", "Indicator"),
    "field": ("比对字段", "Field"),
    "bidder": ("投标人", "Bidder"),
    "note": ("说明", "Note"),
    "bids": ("投标", "bid"),
    "complaints": ("投诉处理决定（近 {months} 个月统计窗口）", "Complaint decisions (the {months}-month window)"),
    "complaints_plain": ("投诉处理决定", "Complaint decisions"),
    "window": (
        "统计窗口：{start} 至 {through}（{months} 个月），达到 {needed} 次即构成，窗口内计入 {counted} 次。",
        "Window: {start} through {through} ({months} months); {needed} make the behaviour, {counted} counted.",
    ),
    "decided_on": ("决定日期", "Decided on"),
    "complaint_no": ("投诉编号", "Complaint no."),
    "region": ("地区", "Region"),
    "project": ("项目", "Project"),
    "outcome": ("处理结果", "Outcome"),
    "in_window": ("计入窗口", "In the window"),
    "fabricated": ("捏造事实或提供虚假材料", "fabricated facts or false material"),
    "rule": ("依据", "Rule"),
    "none": ("没有可对照的证据。", "No evidence to lay out."),
    "difference": ("等差 {steps}", "constant difference {steps}"),
    "ratio": ("等比 {steps}", "constant ratio {steps}"),
    "tolerance": ("容差 {tolerance}", "tolerance {tolerance}"),
    "hamming": ("海明距离 {hamming}（阈值 {max}）", "Hamming distance {hamming} (at most {max})"),
    "mixed": ("{of} 的投标文件载有 {mentions} 的统一社会信用代码", "{of}'s document names {mentions}'s USCC"),
}


def t(lang: str, key: str, **values: object) -> str:
    return worded(WORDS, lang, key, **values)


@dataclass(frozen=True)
class Cell:
    value: str
    matched: bool


@dataclass(frozen=True)
class Row:
    indicator: str  # the indicator's code
    basis: str  # the item of Art. 10 it cites
    field: str
    cells: tuple[Cell | None, ...]  # one per bidder, in the alignment's order; None: not joined
    note: str


@dataclass(frozen=True)
class Alignment:
    suppliers: tuple[str, ...]
    bids: tuple[tuple[str, ...], ...]  # each bidder's bids named by the evidence
    rows: tuple[Row, ...]


def _supplier_ids(suppliers: list) -> list[str]:
    return [str(s.get("id")) if isinstance(s, dict) else str(s) for s in suppliers if s]


def _note(code: str, evidence: dict, lang: str) -> str:
    if code == "regular_prices":
        pattern = evidence.get("pattern")
        steps = evidence.get("differences") if pattern == "difference" else evidence.get("ratios")
        text = t(lang, "difference" if pattern == "difference" else "ratio", steps="、".join(map(str, steps or [])))
        return f"{text}；{t(lang, 'tolerance', tolerance=evidence.get('tolerance'))}"
    if code == "near_identical_text":
        return t(lang, "hamming", hamming=evidence.get("hamming"), max=evidence.get("max_hamming"))
    if code == "mixed_up_documents":
        return t(lang, "mixed", of=evidence.get("document_of"), mentions=evidence.get("mentions"))
    return ""


def _matches(evidence: dict, named_suppliers: list[str]) -> list[dict]:
    """Each bid's field and value; an indicator without `matched` (stored before it existed) gives
    its one shared value to each supplier it names."""
    matched = evidence.get("matched")
    if isinstance(matched, list):
        return [m for m in matched if isinstance(m, dict) and m.get("supplier")]
    if "value" not in evidence:
        return []
    field = str(evidence.get("field") or "")
    return [{"supplier": s, "field": field, "value": evidence["value"]} for s in named_suppliers]


def align(suppliers: list, indicators: list, lang: str = "zh") -> Alignment:
    """The group's bidders as columns (the task's order, then any other bidder the evidence names),
    one row per indicator and field, each cell that bidder's value."""
    order = _supplier_ids(suppliers)
    bids: dict[str, list[str]] = {s: [] for s in order}
    rows: list[Row] = []
    for indicator in indicators:
        if not isinstance(indicator, dict):
            continue
        found = indicator.get("evidence")
        evidence: dict = found if isinstance(found, dict) else {}
        code = str(indicator.get("code") or indicator.get("kind") or "")
        joined = _supplier_ids(evidence.get("suppliers") or indicator.get("suppliers") or [])
        by_field: dict[str, dict[str, list[str]]] = {}
        for m in _matches(evidence, joined):
            supplier = str(m["supplier"])
            if supplier not in bids:
                order.append(supplier)
                bids[supplier] = []
            if m.get("bid") and str(m["bid"]) not in bids[supplier]:
                bids[supplier].append(str(m["bid"]))
            values = by_field.setdefault(str(m.get("field") or ""), {}).setdefault(supplier, [])
            if str(m.get("value")) not in values:
                values.append(str(m.get("value")))
        for field, per_supplier in by_field.items():
            rows.append(
                Row(
                    indicator=code,
                    basis=str(indicator.get("basis") or indicator.get("item") or ""),
                    field=field,
                    cells=tuple(Cell(" / ".join(per_supplier[s]), True) if s in per_supplier else None for s in order),
                    note=_note(code, evidence, lang),
                )
            )
    width = len(order)
    padded = tuple(Row(r.indicator, r.basis, r.field, r.cells + (None,) * (width - len(r.cells)), r.note) for r in rows)
    return Alignment(tuple(order), tuple(tuple(bids[s]) for s in order), padded)


def _field_name(field: str, lang: str) -> str:
    return "、".join(named(BID_FIELDS, part, lang) for part in field.split("/")) if field else "—"


def alignment_table(alignment: Alignment, lang: str = "zh") -> str:
    if not alignment.rows:
        return f'<p id="evidence-aligned">{e(t(lang, "none"))}</p>'
    heads = "".join(
        f'<th scope="col" data-supplier="{e(s)}">{e(t(lang, "bidder"))} {n}<br><small>{e(s)}</small>'
        + (f'<br><small class="muted">{e(t(lang, "bids"))} {e("、".join(b))}</small>' if b else "")
        + "</th>"
        for n, (s, b) in enumerate(zip(alignment.suppliers, alignment.bids, strict=True), start=1)
    )
    body = []
    for row in alignment.rows:
        cells = "".join(
            f'<td class="match" data-label="{e(s)}"><mark>{e(c.value)}</mark></td>'
            if c is not None and c.matched
            else f'<td data-label="{e(s)}">{e(c.value) if c else "—"}</td>'
            for s, c in zip(alignment.suppliers, row.cells, strict=True)
        )
        note = f'<br><small class="muted">{e(row.note)}</small>' if row.note else ""
        body.append(
            f'<tr data-indicator="{e(row.indicator)}" data-field="{e(row.field)}">'
            f'<th scope="row" data-label="{e(t(lang, "indicator"))}">{e(named(INDICATORS, row.indicator, lang))}'
            f'<br><small class="muted">{e(_field_name(row.field, lang))}</small>{note}'
            f'<br><small class="muted">{e(row.basis)}</small></th>{cells}</tr>'
        )
    return (
        '<div class="scroll"><table id="evidence-aligned" class="aligned cards">'
        f'<thead><tr><th scope="col">{e(t(lang, "indicator"))}</th>{heads}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def complaints_table(signal: dict, lang: str = "zh") -> str:
    """The complaints a repeat-complaint signal lists, and the window the rule counted them in."""
    window = signal.get("window") if isinstance(signal.get("window"), dict) else None
    start, through = (str(window.get("from")), str(window.get("through"))) if window else ("", "")
    rows = []
    for c in sorted(
        (c for c in signal.get("complaints") or [] if isinstance(c, dict)), key=lambda c: str(c.get("decided_on"))
    ):
        day = str(c.get("decided_on") or "")
        inside = bool(window) and start <= day <= through
        mark = "✓" if inside else ("—" if window else "")
        fabricated = f' <span class="badge b-overdue">{e(t(lang, "fabricated"))}</span>' if c.get("fabricated") else ""
        rows.append(
            f'<tr class="{"in-window" if inside else ""}" data-complaint="{e(c.get("complaint_no"))}">'
            f'<td data-label="{e(t(lang, "decided_on"))}">{e(day)}</td>'
            f'<td data-label="{e(t(lang, "complaint_no"))}">{e(c.get("complaint_no"))}</td>'
            f'<td data-label="{e(t(lang, "region"))}">{e(c.get("region"))}</td>'
            f'<td data-label="{e(t(lang, "project"))}">{e(c.get("project"))}</td>'
            f'<td data-label="{e(t(lang, "outcome"))}">{e(named(OUTCOMES, c.get("outcome"), lang))}{fabricated}</td>'
            f'<td data-label="{e(t(lang, "in_window"))}">{mark}</td></tr>'
        )
    heading = t(lang, "complaints", months=window.get("months")) if window else t(lang, "complaints_plain")
    summary = ""
    if window:
        summary = t(lang, "window", start=start, through=through, months=window.get("months"),
                    needed=window.get("needed"), counted=window.get("counted"))  # fmt: skip
    head = "".join(
        f"<th>{e(t(lang, k))}</th>" for k in ("decided_on", "complaint_no", "region", "project", "outcome", "in_window")
    )
    return (
        f"<h3>{e(heading)}</h3>"
        + (f'<p id="complaint-window">{e(summary)}</p>' if summary else "")
        + f"<p><b>{e(t(lang, 'rule'))}</b>：{e(signal.get('rule'))}</p>"
        + f'<table id="complaints" class="cards"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def signal_of(task: dict) -> dict | None:
    """What a task's evidence is: a triage's indicators, or the signal a determination was asked with."""
    context = task.get("context") or {}
    if task.get("kind") == "collusion_triage":
        return {"suppliers": context.get("suppliers") or [], "indicators": context.get("indicators") or []}
    signal = ((context.get("request") or {}).get("behaviour") or {}).get("signal")
    return signal if isinstance(signal, dict) else None


def evidence_section(task: dict, lang: str = "zh") -> str:
    """The task page's side-by-side section, or "" when the task carries no signal."""
    signal = signal_of(task)
    if signal is None:
        return ""
    parts = []
    if signal.get("indicators"):
        parts.append(alignment_table(align(signal.get("suppliers") or [], signal["indicators"], lang), lang))
    if signal.get("complaints"):
        parts.append(complaints_table(signal, lang))
    if not parts:
        parts.append(f"<p>{e(t(lang, 'none'))}</p>")
    return f'<h2>{e(t(lang, "aligned"))}</h2><div class="box" id="signal-evidence">{"".join(parts)}</div>'
