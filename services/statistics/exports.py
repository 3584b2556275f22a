"""Every dashboard table as CSV or XLSX with Chinese headers (issue 17), the same rows as on screen
for the same region and period. CSV is UTF-8 with a byte-order mark (so Excel opens Chinese text
right); XLSX is written by openpyxl."""

import csv
import io
from collections.abc import Callable, Sequence
from typing import Any

from openpyxl import Workbook

from services.statistics.figures import Dashboard
from services.statistics.labels import label

# table -> (its Chinese title, [(field, Chinese header)])
TABLES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "months": (
        "按月统计",
        [
            ("month", "月份"),
            ("records_new", "新增信用记录"),
            ("in_force", "月末有效记录"),
            ("blacklist", "月末严重失信名单"),
            ("repairs_submitted", "信用修复申请"),
            ("repairs_approved", "信用修复通过"),
            ("appeals_filed", "异议提出"),
            ("appeals_corrected", "异议成立（更正）"),
            ("appeals_upheld", "异议不成立（维持）"),
            ("tasks_done", "办结任务"),
            ("tasks_on_time", "按期办结"),
        ],
    ),
    "in_force": (
        "有效记录（按主体类型、严重程度）",
        [("subject_type", "主体类型"), ("severity", "严重程度"), ("records", "记录数")],
    ),
    "behaviours": (
        "有效记录（按失信行为）",
        [("behaviour_code", "行为代码"), ("severity", "严重程度"), ("records", "记录数")],
    ),
    "task_kinds": (
        "任务（按类型）",
        [
            ("kind", "任务类型"),
            ("opened", "新建"),
            ("done", "办结"),
            ("on_time", "按期"),
            ("late", "逾期办结"),
            ("on_time_rate", "按期率"),
            ("open", "在办"),
            ("overdue", "已逾期"),
        ],
    ),
    "officers": (
        "任务（按经办人）",
        [
            ("officer", "经办人"),
            ("done", "办结"),
            ("on_time", "按期"),
            ("late", "逾期办结"),
            ("on_time_rate", "按期率"),
        ],
    ),
    "divisions": (
        "各行政区划",
        [
            ("region", "行政区划代码"),
            ("records_new", "新增记录"),
            ("in_force", "有效记录"),
            ("blacklist", "严重失信名单"),
            ("appeals_filed", "异议提出"),
            ("tasks_done", "办结任务"),
            ("on_time_rate", "按期率"),
        ],
    ),
    "experts": ("评审专家库", [("status", "状态"), ("experts", "人数")]),
    "deadlines": (
        "履约期限逾期排名",
        [("responsible_type", "责任主体类型"), ("responsible_id", "代码"), ("name", "名称"), ("overdue", "逾期次数")],
    ),
    "pushes": (
        "推送国家平台（按月）",
        [("month", "月份"), ("delivered", "推送成功"), ("failed", "推送失败"), ("not_configured", "其中未配置地址")],
    ),
    "push_platforms": (
        "推送国家平台（按平台）",
        [("platform", "平台"), ("delivered", "推送成功"), ("failed", "推送失败"), ("not_configured", "其中未配置地址")],
    ),
    "evaluations": (
        "评价与考核结果",
        [
            ("year", "评价年度"),
            ("subject_type", "对象类型"),
            ("grade", "等级"),
            ("published", "发布结果数"),
            ("interviews", "约谈"),
        ],
    ),
}


def rows_of(figures: Dashboard, table: str) -> list[dict[str, Any]]:
    rows: Sequence[Any] = getattr(figures, table)
    return [r.model_dump() for r in rows]


def _cell(field: str, value: Any) -> Any:
    if field == "on_time_rate":
        return "" if value is None else f"{value * 100:.1f}%"
    return label(field, value) if isinstance(value, str) else value


def _table(figures: Dashboard, table: str) -> tuple[list[str], list[list[Any]]]:
    _, columns = TABLES[table]
    headers = [h for _, h in columns]
    body = [[_cell(f, r.get(f)) for f, _ in columns] for r in rows_of(figures, table)]
    return headers, body


def to_csv(figures: Dashboard, table: str) -> bytes:
    headers, body = _table(figures, table)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(body)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(figures: Dashboard, table: str) -> bytes:
    headers, body = _table(figures, table)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = TABLES[table][0][:31]
    p = figures.period
    sheet.append([f"行政区划 {p.region}", f"{p.from_month} 至 {p.to_month}"])
    sheet.append(headers)
    for row in body:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


FORMATS: dict[str, tuple[str, Callable[[Dashboard, str], bytes]]] = {
    "csv": ("text/csv; charset=utf-8", to_csv),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", to_xlsx),
}
