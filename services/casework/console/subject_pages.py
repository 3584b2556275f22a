"""The console's record page (what a decision made, its history, the evidence or the button to ask
for it) and a subject's page (its public answer today and its timeline from /v1/archive)."""

from urllib.parse import quote

from services.casework.console.i18n import w
from services.casework.console.pages_base import e, message, page
from services.casework.console.task_page import related_box, subject_link, timeline


def record_page(
    record_id: str,
    status: int,
    record: object,
    *,
    who: dict,
    csrf: str,
    lang: str,
    error: str | None = None,
    ok: str | None = None,
) -> str:
    path = f"/v1/records/{quote(record_id, safe='')}"
    body = f'<p><a href="/console">{e(w(lang, "back"))}</a></p><h1>{e(w(lang, "record_page"))} {e(record_id)}</h1>'
    body += message(error, ok)
    if status == 200 and isinstance(record, dict):
        subject = record.get("subject") or {
            "type": record.get("subject_type"),
            "id": record.get("subject_id"),
            "name": record.get("subject_name"),
        }
        body += f"<p>{e(w(lang, 'subject'))}: {subject_link(subject, lang)}</p>"
        box = related_box(w(lang, "record"), path, {"status": 200, "body": record}, csrf, lang)
        body += f'<div class="box" id="record">{box}</div>'
    return page(
        f"{w(lang, 'record_page')} {record_id}",
        body,
        who=who,
        csrf=csrf,
        lang=lang,
        here=f"/console/records/{quote(record_id, safe='')}",
    )


def subject_page(
    subject_type: str,
    subject_id: str,
    archive: dict | None,
    public: dict | None,
    *,
    who: dict,
    csrf: str,
    lang: str,
    error: str | None = None,
) -> str:
    public_path = f"/v1/credit/{quote(subject_type, safe='')}/{quote(subject_id, safe='')}"
    summary = (public or {}).get("summary_zh")
    body = (
        f'<p><a href="/console">{e(w(lang, "back"))}</a></p>'
        f"<h1>{e(w(lang, 'subject_page'))} {e(subject_type)} {e(subject_id)}</h1>{message(error)}"
        f'<div class="box" id="public"><b>{e(w(lang, "public_answer"))}</b>: '
        f'{e(summary) if summary else "—"} <a href="{public_path}">{e(public_path)}</a></div>'
        f"{timeline(archive, lang)}"
    )
    here = f"/console/subjects/{quote(subject_type, safe='')}/{quote(subject_id, safe='')}"
    return page(f"{w(lang, 'subject_page')} {subject_id}", body, who=who, csrf=csrf, lang=lang, here=here)
