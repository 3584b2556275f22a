"""Post/redirect/get for the console's forms (issue 22): a refused decision is kept here — what the
officer typed and each field's error — under a random key that a short-lived HttpOnly cookie
carries to the GET that follows, which takes it (once). The form stays in this process's memory,
never in a cookie (a reason may be 4000 characters) nor in a URL (it is case material); with
several console replicas behind a balancer without affinity the GET may land elsewhere and show
the error without the typed values."""

import secrets
import time
from collections import OrderedDict

from services.casework.console.i18n import w

FLASH_COOKIE = "credit_console_flash"
TTL_SECONDS = 300
MAX_KEPT = 1000
# Where each problem code points in the decision form.
FIELD_OF_CODE = {
    "reason_required": "reason",
    "invalid_decision": "decision",
    "unknown_behaviour_code": "behaviour_code",
    "subject_mismatch": "behaviour_code",
    "severity_mismatch": "behaviour_code",
    "correction_worsens": "behaviour_code",
    "determination_required": "decision_no",
    "legal_basis_required": "legal_basis",
    "liability_ended": "liability_ends_on",
}
FORM_FIELDS = frozenset(
    {"decision", "reason", "behaviour_code", "decision_no", "decided_on", "liability_ends_on", "penalty",
     "legal_basis", "opinion", "purpose"}
)  # fmt: skip


class FlashStore:
    def __init__(self) -> None:
        self._kept: OrderedDict[str, tuple[float, dict]] = OrderedDict()

    def put(self, value: dict) -> str:
        now = time.monotonic()
        while self._kept and (len(self._kept) >= MAX_KEPT or next(iter(self._kept.values()))[0] < now):
            self._kept.popitem(last=False)
        key = secrets.token_urlsafe(24)
        self._kept[key] = (now + TTL_SECONDS, value)
        return key

    def take(self, key: str | None) -> dict | None:
        if not key:
            return None
        kept = self._kept.pop(key, None)
        return kept[1] if kept and kept[0] >= time.monotonic() else None


def field_errors(problem: object, lang: str) -> dict[str, str]:
    """Each form field's error from a problem+json answer of the API."""
    if not isinstance(problem, dict):
        return {}
    out: dict[str, str] = {}
    for error in problem.get("errors") or []:
        loc = [str(p) for p in error.get("loc") or []]
        field = next((p for p in reversed(loc) if p in FORM_FIELDS), None)
        if field:
            out.setdefault(field, str(error.get("msg") or ""))
    code, detail = problem.get("code"), str(problem.get("detail") or problem.get("title") or "")
    if code == "invalid_date":
        out.setdefault("liability_ends_on" if "liability" in detail and "before" in detail else "decided_on", detail)
    elif code == "unexpected_field":
        for name in problem.get("fields") or []:
            out.setdefault(str(name), detail)
    elif code in FIELD_OF_CODE:
        out.setdefault(
            FIELD_OF_CODE[code], str(problem.get("hint")) if lang == "zh" and problem.get("hint") else detail
        )
    return out


def refusal_text(problem: object, lang: str) -> str:
    if not isinstance(problem, dict):
        return w(lang, "refused", title="?")
    title = str(problem.get("title") or problem.get("code") or "?")
    detail = problem.get("hint") if lang == "zh" and problem.get("hint") else problem.get("detail")
    text = w(lang, "refused", title=title)
    return f"{text} — {detail}" if detail and detail != "see `errors`" else text
