"""The words of each problem code: a Chinese title (problem+json's `title` when the caller asks for
`Accept-Language: zh-CN`) and what the code means and what to do, in Chinese then English. The codes
themselves are read from the source (problem_catalogue.py); a unit test fails when a code found
there has no words here."""

from collections.abc import Mapping
from typing import Any

# A refusal reason answered over HTTP under another code (services.common.messaging.http_code).
RENAMED = {"duplicate_id_conflict": ("idempotency_conflict", 409)}

# code: (中文标题, 说明与处理, explanation)
TEXTS: dict[str, tuple[str, str, str]] = {
    "already_claimed": (
        "任务已被认领",
        "该任务已由其他经办人认领；请选择其他任务，或请主管释放。",
        "Another officer claimed the task; pick another or ask a supervisor to release it.",
    ),
    "already_repaired": ("记录已修复", "该记录已完成信用修复，无需再次申请。", "The record was already repaired."),
    "appeal_not_found": (
        "异议申请不存在",
        "没有该编号的异议申请，或您无权查看。",
        "No appeal with that id that you may see.",
    ),
    "appeal_open": (
        "已有未办结的异议",
        "该记录已有一件正在复核的异议，请等待其办结。",
        "An appeal of this record is already under review.",
    ),
    "application_open": (
        "已有未办结的修复申请",
        "该记录已有一件正在审核的修复申请。",
        "A repair application for this record is already open.",
    ),
    "applicant_mismatch": (
        "申请人与调用者不符",
        "申请中的主体必须是令牌所代表的主体本身。",
        "The applicant named must be the caller's own organisation.",
    ),
    "bad_gateway": ("网关错误", "后端服务中断了本次交换；稍后重试。", "The service broke off the exchange; retry."),
    "checkpoint_not_found": (
        "检查点不存在",
        "账本中没有该大小的签名检查点。",
        "No signed ledger checkpoint of that size.",
    ),
    "commitment_required": (
        "缺少书面承诺",
        "信用修复须附书面承诺（001号第二十条）。",
        "A written commitment is required for repair (001 Art. 20).",
    ),
    "conflict": ("并发冲突", "同一对象同时被另一请求修改；请刷新后重试。", "Changed concurrently; reload and retry."),
    "conflict_of_interest": (
        "利益冲突",
        "您与该任务存在回避关系（如本人提出的申请），不能办理。",
        "You must recuse yourself from this task.",
    ),
    "correction_worsens": (
        "更正不得加重",
        "异议复核的更正不能加重原记录（期限延长或程度加重）。",
        "A correction on appeal may not make the record worse.",
    ),
    "database_unavailable": (
        "数据库暂不可用",
        "本次请求未作任何更改；请按 Retry-After 稍后重试。",
        "Nothing was changed; retry after Retry-After.",
    ),
    "determination_closed": (
        "认定已办结",
        "该认定已确认、撤回或超过陈述期限，不能再操作。",
        "The determination was already confirmed, withdrawn or closed.",
    ),
    "determination_not_found": ("认定不存在", "没有该编号的认定，或您无权查看。", "No such determination you may see."),
    "determination_required": (
        "缺少处理决定",
        "严重失信行为须附财政部门的处理决定（决定书号、日期、期限）。",
        "A serious behaviour needs the finance department's determination.",
    ),
    "duplicate_id_conflict": (
        "编号重复但内容不同",
        "同一编号已用于内容不同的请求；新请求请使用新编号。",
        "The id was used before with another payload; use a new id.",
    ),
    "duplicate_request": (
        "请求已收到",
        "相同编号、相同内容的请求已受理，本次未重复办理。",
        "Already received: the same request was not done twice.",
    ),
    "evidence_required": ("缺少证据", "须提供至少一项证据（含 sha256）。", "At least one evidence item is required."),
    "expert_not_found": ("评审专家不存在", "没有该专家的管理记录。", "No standing recorded for that expert."),
    "figures_missing": (
        "考核数据不全",
        "评价所需的数据（监测数据、信用记录或经办人录入）尚未齐全；见 missing。",
        "Figures the evaluation scores are missing; see missing.",
    ),
    "forbidden": ("无权操作", "您的角色或所属地区不允许此操作。", "Your role or region does not allow this."),
    "gateway_timeout": ("网关超时", "后端服务未能及时答复；稍后重试。", "The service did not answer in time; retry."),
    "grounds_required": ("缺少异议理由", "异议申请须写明理由。", "An appeal needs its grounds."),
    "identity_provider_unavailable": (
        "身份认证服务不可用",
        "无法取得签名密钥以核验令牌；稍后重试。",
        "The identity provider's keys could not be fetched; retry.",
    ),
    "idempotency_conflict": (
        "幂等键冲突",
        "同一编号（Idempotency-Key 或事件 id）已用于内容不同的请求。",
        "The idempotency key was used before with another payload.",
    ),
    "internal_error": (
        "服务器内部错误",
        "服务器未能完成请求；已记录日志，请稍后重试或联系运维。",
        "The server could not complete the request; it is logged.",
    ),
    "invalid_arrangement": (
        "节假日安排无效",
        "放假与调休日期须属于该年度且互不重叠。",
        "Holidays and working days must be in the year and not overlap.",
    ),
    "invalid_consortium": (
        "联合体成员无效",
        "联合体须有 2 至 20 个互不相同的成员统一社会信用代码。",
        "A consortium needs 2 to 20 distinct member ids.",
    ),
    "invalid_data": (
        "数据无效",
        "请求内容不符合接口要求；见 detail 与 errors。",
        "The data does not match the API; see detail and errors.",
    ),
    "invalid_date": (
        "日期无效",
        "日期不能在未来，且前后须一致（如决定日不晚于期限届满日）。",
        "Dates may not be in the future and must be consistent.",
    ),
    "invalid_decision": (
        "处理决定无效",
        "该类任务不接受此种决定；可选项见接口文档。",
        "That decision does not exist for this kind of task.",
    ),
    "invalid_determination": (
        "处理决定内容无效",
        "处理决定的字段有误；每个字段的错误见 errors。",
        "The determination's fields are wrong; each field's error is in `errors`.",
    ),
    "invalid_identifier": (
        "代码无效",
        "统一社会信用代码（含校验位）、专家编号或行政区划代码不合法。",
        "Not a valid USCC (check digit), expert id or division code.",
    ),
    "invalid_payloads": ("载荷无效", "编解码服务收到无法解析的载荷。", "The codec received payloads it cannot read."),
    "invalid_query": ("查询参数无效", "查询参数不合法；见 detail。", "The query parameters are not valid."),
    "invalid_range": ("范围无效", "请求的账本范围不存在或前后颠倒。", "The ledger range does not exist."),
    "invalid_request": (
        "请求无效",
        "请求不符合接口要求；每个字段的错误见 errors。",
        "The request does not match the API; each field's error is in `errors`.",
    ),
    "invalid_text": (
        "文本无法保存",
        "文本含有无法保存的字符（如 NUL 或孤立代理项）。",
        "The text holds characters that cannot be stored.",
    ),
    "invalid_token": (
        "令牌无效",
        "令牌格式错误、签名不符或不是本系统签发；请重新登录。",
        "The token is malformed or not signed by us; sign in again.",
    ),
    "leaf_not_found": ("账本中无此条目", "该记录版本不在所给检查点内。", "That entry is not in the checkpoint."),
    "legal_basis_required": ("缺少法律依据", "记录须有法律依据（目录中的条款）。", "A record needs its legal basis."),
    "liability_ended": ("责任期限已届满", "处理决定的期限已届满，不再记录。", "The liability period has ended."),
    "malformed_event": ("事件格式错误", "不是有效的 CloudEvents 1.0 消息。", "Not a CloudEvents 1.0 message."),
    "method_not_allowed": ("方法不允许", "该地址不接受此 HTTP 方法；见 Allow 头。", "Method not allowed; see Allow."),
    "no_policy": (
        "该地区无信用政策",
        "该地区没有本系统收录的政府采购信用管理办法，不套用其他地区的规定。",
        "No credit policy for that region; another region's rules are never applied.",
    ),
    "nothing_to_draw": (
        "无可抽取对象",
        "该地区没有已公布等级的此类主体，无法抽取检查对象。",
        "No subject of that kind has a published grade in the region.",
    ),
    "not_assignee": (
        "不是认领人",
        "只有认领该任务的经办人才能办理或释放（主管可释放）。",
        "Only the officer who claimed the task may decide it.",
    ),
    "not_authorised": (
        "无权认定",
        "严重失信行为只能由财政部门认定。",
        "Only a finance department may determine serious behaviour.",
    ),
    "not_claimed": ("任务未认领", "请先认领任务再办理。", "Claim the task before deciding it."),
    "not_found": ("不存在", "没有该对象，或不在您的管辖地区。", "Not found, or not in your regions."),
    "not_repairable": (
        "不可修复",
        "该记录按政策不可申请信用修复。",
        "The policy does not allow repairing this record.",
    ),
    "not_subject": ("不是记录主体", "只有记录的主体本身可以提出异议。", "Only the record's subject may appeal."),
    "not_your_record": ("不是本主体的记录", "只有记录的主体本身可以申请修复。", "Only the record's subject may apply."),
    "payload_too_large": ("请求体过大", "请求体超过上限；见 max_bytes。", "The body exceeds the limit (max_bytes)."),
    "processing_failed": (
        "处理失败",
        "消息在处理中失败并已进入死信队列，附原因。",
        "Processing failed; dead-lettered.",
    ),
    "push_subject_not_found": ("无推送记录", "该主体没有推送记录。", "No pushes for that subject."),
    "rate_limited": (
        "请求过于频繁",
        "公开查询超过频率限制；请按 Retry-After 稍后重试。",
        "Too many public reads; retry after Retry-After.",
    ),
    "reason_required": ("缺少理由", "办理决定须写明理由。", "A decision needs its reason."),
    "record_corrected": ("记录已更正", "该记录已被更正，请针对更正后的记录申请。", "The record was corrected."),
    "record_expired": ("记录已到期", "记录公布期限已届满，无需修复。", "The record's publication period ended."),
    "record_not_found": ("记录不存在", "没有该编号的记录，或您无权查看。", "No such record you may see."),
    "record_not_in_force": ("记录不在有效期", "该记录已撤销或不再有效。", "The record is not in force."),
    "record_not_yet_known": (
        "记录尚未同步",
        "记录尚未同步到本服务且记录服务未答复；请用同一幂等键稍后重试。",
        "The record has not reached this service yet; retry with the same key.",
    ),
    "record_under_appeal": (
        "记录异议中",
        "该记录正在异议复核中，复核办结前不能申请修复。",
        "The record is under appeal.",
    ),
    "record_withdrawn": ("记录已撤销", "该记录已撤销，无需修复。", "The record was withdrawn."),
    "repair_closed": ("修复申请已办结", "该修复申请已办结。", "The repair application is closed."),
    "repair_not_found": ("修复申请不存在", "没有该编号的修复申请，或您无权查看。", "No such repair application."),
    "reporter_mismatch": (
        "报告人与调用者不符",
        "报告中的报告人必须是令牌所代表的单位。",
        "The reporter must be the caller's own organisation.",
    ),
    "request_decided": ("申请已审批", "该查阅申请已批准或驳回。", "The access request was already decided."),
    "request_not_found": ("申请不存在", "没有该编号的申请。", "No such request."),
    "self_approval": (
        "不能审批本人申请",
        "证据查阅申请须由申请人以外的主管批准。",
        "A supervisor other than the requester approves.",
    ),
    "service_unavailable": (
        "服务暂不可用",
        "后端服务未响应；请按 Retry-After 稍后重试。",
        "The service is not answering; retry.",
    ),
    "severity_mismatch": ("严重程度不符", "行为代码的严重程度与所报不一致。", "The behaviour code's severity differs."),
    "statement_filed": ("已提交陈述申辩", "每项拟认定只能提交一次陈述申辩。", "A statement was already filed."),
    "statement_window_closed": ("陈述申辩期限已过", "陈述申辩期限已届满。", "The statement window has closed."),
    "statement_window_open": (
        "陈述申辩期限未满",
        "陈述申辩期限届满前不能按期满处理。",
        "The statement window is still open.",
    ),
    "subject_mismatch": ("主体不符", "决定中的主体与任务的主体不一致。", "The subject differs from the task's."),
    "task_closed": ("任务已办结", "该任务已办结或已取消。", "The task is completed or cancelled."),
    "token_expired": ("令牌已过期", "令牌已过期；请重新登录。", "The token has expired; sign in again."),
    "too_early": ("尚未到可修复时间", "最短公示期未满；见 opens_on。", "Too early to repair; see opens_on."),
    "unauthenticated": ("需要登录", "请求须携带 Bearer 令牌。", "A Bearer token is required."),
    "unexpected_field": (
        "多余字段",
        "该决定不接受此字段；意见请写在 reason 中。",
        "That decision takes no such field; write opinions in `reason`.",
    ),
    "unknown_behaviour_code": (
        "未知行为代码",
        "行为代码不在现行目录中；见 GET /v1/catalogue。",
        "Not in the catalogue in force (GET /v1/catalogue).",
    ),
    "unknown_key": ("未知密钥", "载荷所用的密钥编号未知。", "The payload's key id is unknown."),
    "unknown_type": ("未知事件类型", "该主题不接受此类事件。", "That event type is not accepted on this topic."),
}


# The Chinese `detail` of the common codes (issue 22), answered on `Accept-Language: zh-CN` in place
# of the English one. `{name}` is filled from the problem's extension members (e.g. `region`,
# `state`, `service`, `max_bytes`) and the values its raiser passed (`Problem(..., values={...})`,
# never answered as members); a template whose values are missing is not used (the English detail
# stays, the Chinese title and hint still answer), and a unit test keeps each raiser giving them.
DETAILS: dict[str, str] = {
    "unauthenticated": "请求须携带 Authorization: Bearer <令牌> 请求头。",
    "token_expired": "Bearer 令牌已过期，请重新登录或重新申领令牌。",
    "invalid_token": "Bearer 令牌无效（签名、签发者、受众或必需声明不符），请重新申领令牌。",
    "identity_provider_unavailable": "暂时无法取得身份提供方的签名公钥，令牌无法核验；请稍后重试。",
    "forbidden": "您的角色或所属机构无权执行此操作。",
    "not_found": "没有找到所请求的对象，或您无权查看。",
    "method_not_allowed": "该地址不接受此请求方法；可用的方法见响应头 Allow。",
    "invalid_request": "请求内容不符合接口要求；各字段的问题见 errors。",
    "payload_too_large": "请求体不得超过 {max_bytes} 字节。",
    "internal_error": "服务器未能完成本次请求；请稍后重试，仍失败请将 instance 告知运维人员。",
    "database_unavailable": "数据库暂未响应，本次请求未作任何更改；请按 Retry-After 稍后重试。",
    "record_not_yet_known": (
        "记录 {record_id} 尚未同步到本服务，且信用记录服务暂未响应；"
        "请在 {retry_after_seconds} 秒后以相同的 Idempotency-Key 重新提交。"
    ),
    "service_unavailable": "后端服务 {service} 暂未响应；请按 Retry-After 稍后重试。",
    "gateway_timeout": "后端服务 {service} 未在时限内响应；请稍后重试。",
    "bad_gateway": "后端服务 {service} 中断了本次交换；请稍后重试。",
    "rate_limited": "本客户端的公开查询过于频繁；请在 {retry_after} 秒后重试。",
    "no_policy": "该地区没有适用的政府采购信用政策：规则只在制定它的地区及其下级适用，不借用其他地区的规则。",
    "record_not_found": "没有该编号的信用记录，或您无权查看（不披露是否存在）。",
    "appeal_not_found": "没有您可查看的异议申请 {appeal_id}。",
    "repair_not_found": "没有您可查看的信用修复申请 {application_id}。",
    "duplicate_request": "该 Idempotency-Key 已用于此前的请求。",
    "applicant_mismatch": "申请人须为令牌所代表的主体本身，不能以其他主体的名义提出申请。",
    "task_closed": "该任务已{state_zh}，不能再操作。",
    "already_claimed": "该任务已由其他经办人认领。",
    "not_claimed": "请先认领该任务，再作出决定。",
    "not_assignee": "该任务由其他经办人认领；只有认领人或主管可以操作。",
    "reason_required": "每项决定都须写明理由（reason）。",
    "unknown_behaviour_code": "行为代码不在现行目录中；现行目录见 GET /v1/catalogue。",
}
# Values a Chinese detail names that are words for another value (a task's state), and their source.
STATE_ZH = {"completed": "办结", "cancelled": "取消", "open": "待认领", "claimed": "被认领"}
DERIVED = {"state_zh": "state"}


def chinese_detail(code: str, members: Mapping[str, object]) -> str | None:
    """The Chinese `detail` of a code, or None when the catalogue has none or a value is missing."""
    template = DETAILS.get(code)
    if template is None:
        return None
    values = dict(members)
    if isinstance(values.get("state"), str):
        values["state_zh"] = STATE_ZH.get(str(values["state"]), str(values["state"]))
    try:
        return template.format_map(values)
    except (KeyError, IndexError, ValueError):
        return None


def localise(body: dict[str, Any], values: Mapping[str, object] | None = None) -> bool:
    """A problem+json body in Chinese: the title, the hint and, for the common codes, the detail
    (RFC 9457 §3.1.4: title and detail may be localised; `type` and `code` never change). True when
    the code is in the catalogue (the answer is then `Content-Language: zh-CN`)."""
    text = TEXTS.get(str(body.get("code")))
    if text is None:
        return False
    body["title"], body["hint"] = text[0], text[1]
    detail = chinese_detail(str(body["code"]), {**body, **(values or {})})
    if detail is not None:
        body["detail"] = detail
    return True


def zh_title(code: str) -> str | None:
    text = TEXTS.get(code)
    return text[0] if text else None


def prefers_chinese(accept_language: str | None) -> bool:
    """True when the first language the caller names is Chinese (zh, zh-CN, zh-Hans, …)."""
    if not accept_language:
        return False
    ranked = []
    for i, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag:
            ranked.append((-q, i, tag.strip().lower()))
    return bool(ranked) and min(ranked)[2].startswith("zh")
