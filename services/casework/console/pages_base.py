"""The frame of every console page: style (a table becomes cards on a phone), header with the
language switch and the account, banners. Every value from the API goes through `e()`
(html.escape): task titles and reports are outside text."""

from html import escape
from urllib.parse import quote

from services.casework.console.i18n import w
from services.common.lawdates import today
from services.common.policy import validity_warnings

STYLE = """
*{box-sizing:border-box}
body{font-family:system-ui,"Noto Sans CJK SC","WenQuanYi Zen Hei",sans-serif;margin:0;color:#1d2733;background:#f5f6f8;
overflow-wrap:anywhere}
header{background:#7a1f1f;color:#fff;padding:.6rem 1.2rem;display:flex;flex-wrap:wrap;gap:.4rem 1rem;
justify-content:space-between;align-items:center}
header a{color:#fff} nav.sections{display:flex;flex-wrap:wrap;gap:.2rem .9rem}
main{padding:1rem 1.2rem;max-width:1280px}
table{border-collapse:collapse;width:100%;background:#fff;margin:.5rem 0 1.2rem}
th,td{border:1px solid #d8dce2;padding:.35rem .5rem;text-align:left;vertical-align:top;font-size:.92rem}
th{background:#eef0f3;white-space:nowrap} th a{color:inherit;text-decoration:none} th a:hover{text-decoration:underline}
tr.overdue td{background:#fff1f0} tr.escalated td:first-child{border-left:4px solid #d4380d}
.badge{display:inline-block;border-radius:3px;padding:0 .35rem;margin:0 .2rem .1rem 0;font-size:.8rem;color:#fff;
white-space:nowrap}
.b-overdue{background:#cf1322}.b-esc{background:#d46b08}.b-rem{background:#1d39c4}.b-state{background:#595959}
.b-prov{background:#ad8b00}
.left-late{color:#cf1322;font-weight:600}.left-soon{color:#d46b08;font-weight:600}
.box{background:#fff;border:1px solid #d8dce2;padding:.8rem 1rem;margin:.6rem 0}
.error{background:#fff1f0;border:1px solid #ffa39e;padding:.6rem 1rem;margin:.4rem 0}
.ok{background:#f6ffed;border:1px solid #b7eb8f;padding:.6rem 1rem;margin:.4rem 0}
.warning{background:#fffbe6;border:1px solid #ffe58f;padding:.6rem 1rem;margin:.4rem 0}
.field-error{color:#cf1322;font-size:.88rem;margin:.1rem 0 .3rem}
.invalid{border-color:#cf1322!important;outline:1px solid #cf1322}
label{display:block;margin:.3rem 0}
input[type=text],input[type=date],input[type=search],textarea,select{width:100%;max-width:40rem;padding:.3rem;
font:inherit;border:1px solid #bfc5cd;border-radius:3px}
button{font:inherit;padding:.3rem .8rem;cursor:pointer}
fieldset{margin:.5rem 0;border:1px solid #d8dce2;min-width:0}
nav.tabs a{margin-right:.8rem;white-space:nowrap} nav.tabs a.on{font-weight:700}
form.filters{display:grid;grid-template-columns:2fr repeat(4,1fr);gap:.3rem .6rem;align-items:end;background:#fff;
border:1px solid #d8dce2;padding:.6rem .8rem;margin:.5rem 0}
form.filters label{margin:0;font-size:.85rem}
form.filters .checks{grid-column:1/-1;display:flex;flex-wrap:wrap;gap:1rem}
.checks label{display:inline}
dl{display:grid;grid-template-columns:12rem 1fr;margin:.2rem 0}
dt{font-weight:600} dd{margin:0 0 .3rem} pre{white-space:pre-wrap;font-size:.85rem;margin:0}
blockquote{margin:.4rem 0;padding:.5rem .8rem;border-left:4px solid #7a1f1f;background:#fafafa;white-space:pre-wrap}
.charts{display:flex;gap:1rem;flex-wrap:wrap;margin:.5rem 0}
figure.chart{margin:0;background:#fff;border:1px solid #d8dce2;padding:.4rem .6rem;flex:1 1 20rem;min-width:0}
figure.chart svg{width:100%;height:auto;display:block} figcaption{font-size:.85rem;font-weight:600}
.pager{display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
.scroll{overflow-x:auto;max-width:100%}
.counts{display:flex;gap:1rem;flex-wrap:wrap}.counts>div{flex:1 1 18rem;min-width:0}
ol.timeline{padding-left:1.2rem} ol.timeline li{margin:.2rem 0}
small.muted{color:#5b6573}
table.aligned td.match{background:#fff7e6} mark{background:#ffd666;padding:0 .15rem}
tr.in-window td{background:#fffbe6}
.grades{display:flex;gap:.6rem;flex-wrap:wrap}.grades>div{background:#fff;border:1px solid #d8dce2;padding:.4rem .8rem}
@media (max-width:700px){
 main{padding:.6rem}
 form.filters{grid-template-columns:1fr 1fr} form.filters .q{grid-column:1/-1}
 table.cards thead{display:none}
 table.cards,table.cards tbody,table.cards tr,table.cards td{display:block;width:100%}
 table.cards tr{background:#fff;border:1px solid #d8dce2;margin:.5rem 0;padding:.3rem 0}
 table.cards td{border:none;padding:.15rem .6rem}
 table.cards td[data-label]::before{content:attr(data-label) "：";font-weight:600;color:#5b6573}
 table.cards th[scope=row]{display:block;border:none;background:#eef0f3;white-space:normal}
 table.cards tr.escalated td:first-child{border-left:none} table.cards tr.escalated{border-left:4px solid #d4380d}
 dl{grid-template-columns:1fr} dd{margin-bottom:.5rem}
}
"""


def e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def message(error: str | None = None, ok: str | None = None) -> str:
    if error:
        return f'<div class="error" role="alert">{e(error)}</div>'
    if ok:
        return f'<div class="ok" role="status">{e(ok)}</div>'
    return ""


def policy_banner(who: dict | None) -> str:
    """Supervisors and administrators see, on every page, a policy applied past the validity it
    states with no continuation recorded (issue 16 point 2): the system keeps working meanwhile."""
    if not who or who.get("role") not in ("supervisor", "administrator"):
        return ""
    warnings = validity_warnings(today())
    return "".join(f'<div class="error policy-validity" role="alert">{e(x["warning"])}</div>' for x in warnings)


def page(title: str, body: str, *, who: dict | None = None, csrf: str = "", lang: str = "zh", here: str = "") -> str:
    account = ""
    if who:
        account = (
            f"<span>{e(who['sub'])} · {e(who['role'])} · {e(who['region'])}</span> "
            f'<form method="post" action="/console/signout" style="display:inline">'
            f'<input type="hidden" name="csrf" value="{e(csrf)}"><button>{e(w(lang, "signout"))}</button></form>'
        )
    sections = ""
    if who and who.get("role") in ("finance_officer", "supervisor"):
        sections = " ".join(
            f'<a href="{href}" id="nav-{key}">{e(w(lang, key))}</a>'
            for key, href in (
                ("queue", "/console"),
                ("nav_signals", "/console/signals"),
                ("nav_evaluations", "/console/evaluations"),
                ("nav_dashboard", "/console/dashboard"),
            )
        )
        sections = f'<nav class="sections">{sections}</nav>'
    other = "en" if lang == "zh" else "zh"
    back = quote(here or "/console", safe="")
    switch = f'<a id="lang" href="/console/lang?to={other}&amp;back={back}">{e(w(lang, "switch"))}</a>'
    return (
        f'<!doctype html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
        f'<title>{e(title)}</title><meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<style>{STYLE}</style></head><body>"
        f'<header><a href="/console"><b>{e(w(lang, "app"))}</b></a>{sections}<div>{switch} {account}</div></header>'
        f"<main>{policy_banner(who)}{body}</main></body></html>"
    )
