"""Chinese names of the values the statistics show (subject types, severities, task kinds,
states); a value without one is shown as it is — so every value the system can produce has one
(tests/unit/test_labels_complete.py reads the kinds, types and states from their definitions)."""

from typing import Any

NAMES: dict[str, dict[str, str]] = {
    "subject_type": {"supplier": "供应商", "agency": "采购代理机构", "expert": "评审专家", "purchaser": "采购人"},
    "severity": {"general": "一般失信", "serious": "严重失信"},
    "kind": {
        "determination": "严重失信认定",
        "repair_review": "信用修复审核",
        "appeal_review": "异议复核",
        "push_failure": "推送失败",
        "listing_confirmation": "列入名单确认",
        "deadline_overdue": "履约期限超期",
        "interception": "违规拦截",
        "collusion_triage": "串通投标研判",
        "evaluation_review": "考核评价复核",
        "supervision_interview": "约谈",
        "report_review": "年度报告审核",
    },
    "status": {"drawable": "可抽取", "suspended": "暂停抽取", "removed": "已清退"},
    "responsible_type": {"purchaser": "采购人", "agency": "采购代理机构", "supplier": "供应商", "expert": "评审专家"},
    "platform": {"procurement": "中国政府采购网", "credit": "信用中国", "public_credit": "公共信用信息系统"},
}


def label(field: str, value: Any) -> Any:
    names = NAMES.get(field)
    return names.get(value, value) if names and isinstance(value, str) else value
