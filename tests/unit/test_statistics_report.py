"""The annual report's PDF (issue 17): made from the read model of a seeded year, rendered to PNG
pages with Debian's `pdftoppm` (poppler-utils) and read back with `pdftotext`: its cover, the five
sections, the year's figures and a published case in Chinese; the font embedded. The first pages'
images are kept in tests/artifacts/report/ (gitignored)."""

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.statistics.models import REPORTS
from services.statistics.reports import make_report
from tests.support import statistics_events as s
from tests.unit.test_statistics import engine, feed, seed  # noqa: F401 - the fixture
from workflows.annual_report.inputs import ReportRequest

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "report"
pytestmark = pytest.mark.skipif(
    not (shutil.which("pdftoppm") and shutil.which("pdftotext")), reason="poppler-utils not installed (deploy/test.sh)"
)


async def test_the_pdf_has_its_sections_figures_and_published_cases(engine: AsyncEngine, tmp_path: Path) -> None:  # noqa: F811
    await seed(engine)
    notice = {
        "notice_id": "blacklist-410300-2026-03",
        "kind": "blacklist",
        "region": "410300",
        "published_at": "2026-03-02T01:00:00+00:00",
        "entries": [
            {
                "record_id": "r2",
                "subject": {"type": "supplier", "id": "91410300MA99000017", "name": "洛阳某某科技有限公司"},
                "behaviour_code": "SUP-S-03",
                "severity": "serious",
                "region": "410322",
                "recorded_on": "2026-02-03",
            }
        ],
    }
    evaluated = s.evaluation("A1", "良好", kind="agency", region="410300", published_at="2026-04-01T02:00:00+00:00")
    await feed(
        engine,
        [s.event("notice.published.v1", notice, id="n1"), s.event("evaluation.published.v1", evaluated, id="ev1")],
    )
    draft = await make_report(
        engine, ReportRequest(region="410300", year=2026), now=datetime(2027, 1, 15, 1, tzinfo=UTC)
    )
    again = await make_report(
        engine, ReportRequest(region="410300", year=2026), now=datetime(2027, 1, 15, 2, tzinfo=UTC)
    )
    assert again == draft and draft.report_id == "410300-2026-v1" and draft.region_name == "洛阳市"
    async with engine.connect() as conn:
        pdf = (await conn.execute(select(REPORTS.c.pdf))).scalar_one()
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout
    for expected in (
        "洛阳市政府采购信用年度报告",
        "2026 年度",
        "一、年度概况",
        "二、图表",
        "三、排名",
        "四、典型案例",
        "五、评价与考核结果",
        "采购代理机构",
        "良好",
        "推送国家平台成功（失败）",
        "全年新增信用记录",
        "洛阳某某科技有限公司",
        "严重失信 · SUP-S-03",
        "410322",
        "洛阳市某局",
    ):
        assert expected in text, expected
    fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout
    assert "WenQuanYi" in fonts and " yes yes " in fonts.split("WenQuanYi", 1)[1].splitlines()[0]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "3", str(path), str(ARTIFACTS / "page")], check=True
    )
    pages = sorted(ARTIFACTS.glob("page-*.png"))
    assert len(pages) == 3 and all(p.stat().st_size > 5_000 for p in pages)
