"""Post/redirect/get for the console's forms (issue 22): a refused decision is kept — what the
officer typed and each field's error — under a random key that a short-lived HttpOnly cookie
carries to the GET that follows, which takes it (once). The form is kept in the casework database
(`casework_console_form`), so the GET may land on any console replica behind a balancer without
affinity; never in a cookie (a reason and an opinion may each be 4000 characters, past a cookie's
4 KB) nor in a URL (it is case material). The table holds the key's hash, not the key, and gives
the form back only to the officer who typed it; rows past their time are removed as new ones come."""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from services.casework.console.i18n import w
from services.casework.models import CONSOLE_FORMS_T

FLASH_COOKIE = "credit_console_flash"
TTL_SECONDS = 300
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
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def put(self, value: dict, *, officer: str) -> str:
        now = datetime.now(UTC)
        key = secrets.token_urlsafe(24)
        async with self._engine.begin() as conn:
            await conn.execute(delete(CONSOLE_FORMS_T).where(CONSOLE_FORMS_T.c.expires_at < now))
            await conn.execute(
                insert(CONSOLE_FORMS_T).values(
                    key_hash=_hash(key), officer=officer, value=value, expires_at=now + timedelta(seconds=TTL_SECONDS)
                )
            )
        return key

    async def take(self, key: str | None, *, officer: str) -> dict | None:
        if not key:
            return None
        t = CONSOLE_FORMS_T.c
        async with self._engine.begin() as conn:
            # Deleted whoever asks (a key is used once); given back only to its officer, in time.
            row = (
                await conn.execute(
                    delete(CONSOLE_FORMS_T).where(t.key_hash == _hash(key)).returning(t.officer, t.value, t.expires_at)
                )
            ).first()
        if row is None or row.officer != officer or row.expires_at < datetime.now(UTC):
            return None
        return dict(row.value)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


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
