"""The console's words, Chinese first, English second (issue 22): the language is the `lang` cookie
set by the switch in the header, else the first language of `Accept-Language`, else Chinese; and
times in Beijing time, to the minute."""

from datetime import datetime

from services.common.lawdates import SHANGHAI
from services.common.problem_texts import prefers_chinese

LANG_COOKIE = "credit_console_lang"
LANGS = ("zh", "en")

WORDS: dict[str, tuple[str, str]] = {
    "app": ("政府采购信用 · 案件工作台", "Procurement credit · case console"),
    "switch": ("English", "中文"),
    "signin": ("登录", "Sign in"),
    "signout": ("退出", "Sign out"),
    "token_label": (
        "Bearer 令牌（财政部门经办人、主管或管理员的 JWT）",
        "Bearer token (JWT of a finance officer, supervisor or administrator)",
    ),
    "dev_token": ("开发用令牌：", "A development token:"),
    "queue": ("待办任务", "Work queue"),
    "search": ("搜索", "Search"),
    "search_hint": ("主体名称、统一社会信用代码或任务编号", "subject name, USCC or task id"),
    "kind": ("类型", "Kind"),
    "region": ("地区", "Region"),
    "state": ("状态", "State"),
    "assignee": ("经办人", "Assignee"),
    "any": ("全部", "any"),
    "me": ("我", "me"),
    "overdue_only": ("仅逾期", "overdue only"),
    "escalated_only": ("仅已升级", "escalated only"),
    "apply": ("筛选", "Filter"),
    "reset": ("清除", "Reset"),
    "task": ("任务", "Task"),
    "opened": ("受理日", "Opened"),
    "due": ("办理期限（最后一日）", "Due (last day)"),
    "days_left": ("剩余工作日", "Working days left"),
    "working_days_left": ("{n} 个工作日", "{n} working day(s)"),
    "late_working_days": ("逾期 {n} 个工作日", "{n} working day(s) late"),
    "late": ("已逾期", "overdue"),
    "due_today": ("今天到期", "due today"),
    "provisional": ("暂定", "provisional"),
    "provisional_title": (
        "按暂定日历计算：正式放假安排公布后可能顺延（不会提前）",
        "counted on the provisional calendar: may move later (never earlier)",
    ),
    "no_tasks": ("没有任务。", "No tasks."),
    "total": ("共 {n} 项 · 第 {page}/{pages} 页 · 截至 {as_of}", "{n} task(s) · page {page}/{pages} · as of {as_of}"),
    "prev": ("← 上一页", "← previous"),
    "next": ("下一页 →", "next →"),
    "per_officer": ("按经办人", "Per officer"),
    "per_region": ("按地区", "Per region"),
    "officer": ("经办人", "Officer"),
    "open": ("在办", "Open"),
    "unclaimed": ("未认领", "Unclaimed"),
    "overdue": ("逾期", "Overdue"),
    "escalated": ("已升级", "Escalated"),
    "completed": ("已办结", "Completed"),
    "reminded": ("已提醒", "reminded"),
    "charts": ("概览", "Overview"),
    "by_kind_chart": ("按类型：在办 / 逾期 / 已升级", "By kind: open / overdue / escalated"),
    "trend_chart": ("近 8 周逾期任务数（每周同一天）", "Overdue tasks, last 8 weeks (same weekday)"),
    "back": ("← 返回待办", "← queue"),
    "facts": ("基本情况", "Facts"),
    "subject": ("主体", "Subject"),
    "created": ("创建时间", "Created"),
    "escalated_to": ("升级至", "Escalated to"),
    "plan": ("提醒与升级安排", "Reminders and escalations"),
    "plan_none": ("无提醒或升级安排。", "No reminders or escalations planned."),
    "remind": ("提醒", "reminder"),
    "escalate1": ("逾期升级", "escalation"),
    "escalate_n": ("{n}级", "level {n}"),
    "fired": ("已发出", "sent"),
    "about": ("所涉事项", "What it is about"),
    "report_words": ("报告原文", "The report's own words"),
    "behaviour": ("行为", "Behaviour"),
    "legal_basis": ("法律依据", "Legal basis"),
    "references": ("参考（非依据）", "References (not the basis)"),
    "reporter": ("报告人", "Reporter"),
    "project": ("项目", "Project"),
    "occurred": ("发生日期", "Occurred on"),
    "evidence": ("证据（仅财政部门可见）", "Evidence (finance only)"),
    "evidence_none": ("无可显示的证据", "none shown"),
    "evidence_locked": (
        "查阅该记录的证据须经另一位主管批准。",
        "Reading this record's evidence needs another supervisor's approval.",
    ),
    "purpose": ("查阅目的", "Purpose"),
    "request_access": ("申请查阅证据", "Request access to the evidence"),
    "access_requested": ("已提交证据查阅申请 {id}，待主管批准。", "Access requested ({id}); a supervisor approves it."),
    "record": ("记录", "Record"),
    "record_history": ("记录历史", "Record history"),
    "timeline": ("主体信用档案时间线", "The subject's timeline"),
    "timeline_none": ("档案中尚无记录。", "Nothing in the archive yet."),
    "history": ("办理过程", "History"),
    "when": ("时间（北京时间）", "When (Beijing time)"),
    "action": ("动作", "Action"),
    "who": ("人员", "Who"),
    "role": ("角色", "Role"),
    "details": ("详情", "Details"),
    "claim": ("认领", "Claim"),
    "unclaim": ("放弃认领", "Unclaim"),
    "release": ("释放（主管）", "Release (supervisor)"),
    "claimed_by_you": ("您已认领。", "Claimed by you."),
    "claimed_by": ("已由 {who} 认领。", "Claimed by {who}."),
    "decide": ("办理决定", "Decide"),
    "decision": ("决定", "Decision"),
    "reason": ("理由（必填）", "Reason (required)"),
    "behaviour_code": ("行为代码（记为一般失信 / 更正时填写）", "Behaviour code (record_general / correct)"),
    "determination": ("处理决定书", "Determination"),
    "decision_no": ("决定书文号", "Decision no."),
    "decided_on": ("决定日期", "Decided on"),
    "liability_ends_on": ("期限届满日", "Liability ends on"),
    "penalty": ("处理内容", "Penalty"),
    "legal_basis_field": (
        "处罚依据（目录未引法条时必填）",
        "Legal basis (required where the catalogue cites no statute)",
    ),
    "opinion": ("意见", "Opinion"),
    "suppliers": ("移送的供应商（统一社会信用代码，空格分隔）", "Suppliers to refer (USCC, space-separated)"),
    "submit": ("提交决定", "Record the decision"),
    "refused": ("未能办理：{title}", "Refused: {title}"),
    "done": ("已办结：{decision}", "Done: {decision}"),
    "done_claim": ("已认领。", "Claimed."),
    "done_unclaim": ("已放弃认领。", "Unclaimed."),
    "made": ("本决定产生的结果", "What this decision made"),
    "made_pending": (
        "记录生成中（由工作流异步写入），请稍后刷新。",
        "The record is being made (asynchronously); reload shortly.",
    ),
    "listing_task": ("列入名单确认任务", "The listing confirmation task"),
    "determination_state": ("认定状态", "Determination state"),
    "public_answer": ("公开信用查询结果", "The public credit answer"),
    "blacklist": ("严重失信名单", "The blacklist"),
    "working_days": ("工作日历", "Working days"),
    "year": ("年份", "Year"),
    "status": ("状态", "Status"),
    "source": ("来源", "Source"),
    "replicas": ("credit.records 副本延迟", "Replicas of credit.records"),
    "service": ("服务", "Service"),
    "lag": ("最新事件距今", "Age of newest event applied"),
    "batch_delay": ("最近批次延迟", "Delay of last batch"),
    "newest": ("最新事件", "Newest event"),
    "applied": ("启动以来事件数", "Events since start"),
    "token_refused": (
        "令牌未被接受（已过期、格式错误或非本系统签发）。",
        "That token was refused (expired, malformed or not signed by us).",
    ),
    "console_roles": (
        "工作台供财政部门经办人、主管和管理员使用。",
        "The console is for finance officers, supervisors and administrators.",
    ),
    "signin_again": ("令牌已失效，请重新登录。", "Your token is no longer accepted: sign in again."),
    "csrf": ("已拒绝：表单令牌无效（CSRF）。", "Refused: invalid form token (CSRF)."),
    "back_to_task": ("返回任务", "Back to the task"),
    "unknown_action": ("未知操作。", "Unknown action."),
    "record_page": ("信用记录", "Credit record"),
    "subject_page": ("主体信用档案", "Integrity archive"),
    "valid_until": ("公示截止", "Published until"),
    "description": ("描述", "Description"),
    "intended": ("拟认定（待确认）", "Intended determination (not yet listed)"),
    "nav_signals": ("信用信号", "Signals"),
    "nav_evaluations": ("考核评价", "Evaluations"),
    "nav_dashboard": ("统计分析", "Dashboard"),
}
# The API's field names as the console labels them (the value is shown as the API gives it).
FIELDS = {
    "report": ("报告", "report"),
    "record": ("记录", "record"),
    "request_id": ("编号", "request_id"),
    "record_id": ("记录编号", "record_id"),
    "region": ("地区", "region"),
    "state": ("状态", "state"),
    "status": ("状态", "status"),
    "behaviour_code": ("行为代码", "behaviour_code"),
    "behaviour": ("行为", "behaviour"),
    "legal_basis": ("法律依据", "legal_basis"),
    "reported_at": ("报告时间", "reported_at"),
    "decided_at": ("决定时间", "decided_at"),
    "recorded_at": ("记录时间", "recorded_at"),
    "version": ("版本", "version"),
    "severity": ("严重程度", "severity"),
    "occurred_on": ("发生日期", "occurred_on"),
    "recorded_on": ("记录日期", "recorded_on"),
    "valid_until": ("公示截止", "valid_until"),
    "evidence_count": ("证据数", "evidence_count"),
    "policy_version": ("政策版本", "policy_version"),
    "evidence_access": ("证据查阅", "evidence_access"),
    "application_id": ("申请编号", "application_id"),
    "appeal_id": ("异议编号", "appeal_id"),
}
KINDS = {
    "determination": ("严重失信认定", "Determination"),
    "repair_review": ("信用修复审核", "Repair review"),
    "appeal_review": ("异议复核", "Appeal review"),
    "push_failure": ("推送失败", "Push failure"),
    "listing_confirmation": ("列入名单确认", "Listing confirmation"),
    "deadline_overdue": ("履约期限超期", "Deadline overdue"),
    "interception": ("违规拦截", "Interception"),
    "collusion_triage": ("串通投标研判", "Suspected collusion"),
    "evaluation_review": ("考核评价复核", "Evaluation review"),
    "supervision_interview": ("约谈", "Supervision interview"),
    "report_review": ("年度报告审核", "Annual report review"),
}
# The types of a task's subject or of a report's reporter (a yearly review's subject is a region).
SUBJECT_TYPES = {
    "supplier": ("供应商", "supplier"),
    "agency": ("采购代理机构", "agency"),
    "expert": ("评审专家", "expert"),
    "purchaser": ("采购人", "purchaser"),
    "region": ("行政区划", "region"),
    "finance": ("财政部门", "finance department"),
    "system": ("系统", "system"),
}
STATES = {
    "active": ("在办", "active"),
    "open": ("待认领", "open"),
    "claimed": ("已认领", "claimed"),
    "completed": ("已办结", "completed"),
    "cancelled": ("已取消", "cancelled"),
    "": ("全部", "all"),
}
DECISIONS = {
    "determine": ("认定严重失信", "determine (serious)"),
    "record_general": ("记为一般失信", "record a general behaviour instead"),
    "dismiss": ("不予认定", "dismiss"),
    "approve": ("同意修复", "approve"),
    "reject": ("不同意修复", "reject"),
    "correct": ("更正（不填字段即撤销记录）", "correct (no fields: withdraw the record)"),
    "uphold": ("维持", "uphold"),
    "retry": ("重新推送", "retry"),
    "acknowledge": ("确认关闭", "acknowledge"),
    "confirm": ("确认列入名单", "confirm the listing"),
    "withdraw": ("撤回认定", "withdraw"),
    "refer": ("移送认定（串通投标）", "refer for determination"),
    "publish": ("确认并公布结果", "publish the results"),
    "redraft": ("按最新数据重新生成", "draft again from the latest figures"),
    "interviewed": ("已约谈", "interviewed"),
    "return": ("退回", "return"),
    "remind": ("提醒责任主体", "remind the party responsible"),
    "report_behaviour": ("报告失信行为", "report the behaviour"),
}


def lang_of(cookie: str | None, accept_language: str | None) -> str:
    if cookie is not None and cookie in LANGS:
        return cookie
    if accept_language and not prefers_chinese(accept_language):
        return "en"
    return "zh"


def w(lang: str, key: str, **values: object) -> str:
    zh, en = WORDS[key]
    text = en if lang == "en" else zh
    return text.format(**values) if values else text


def worded(table: dict[str, tuple[str, str]], lang: str, key: str, **values: object) -> str:
    """`w` over a page's own table of words (Chinese, English)."""
    zh, en = table[key]
    text = en if lang == "en" else zh
    return text.format(**values) if values else text


def named(table: dict[str, tuple[str, str]], key: str | None, lang: str) -> str:
    pair = table.get(key or "")
    return (pair[1] if lang == "en" else pair[0]) if pair else (key or "")


def beijing(moment: str | None, *, year: bool = True) -> str:
    """An ISO timestamp (any offset) as Beijing wall time to the minute: 2026-12-15 09:00."""
    if not moment:
        return ""
    try:
        at = datetime.fromisoformat(moment)
    except ValueError:
        return moment
    if at.tzinfo is None:
        return moment
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M" if year else "%m-%d %H:%M")
