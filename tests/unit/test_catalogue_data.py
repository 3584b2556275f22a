"""Data checks for the Luoyang behaviour catalogue (洛财购〔2021〕12号).

See services/common/catalogue/RECONSTRUCTION.md for how the data was
reconstructed from the OCR'd seed.
"""

import json
import re
from pathlib import Path

CATALOGUE = Path(__file__).resolve().parents[2] / "services" / "common" / "catalogue" / "luoyang_2021.json"

# prefix -> (subject, severity, article, count)
PREFIXES = {
    "SUP-S": ("supplier", "serious", 8, 18),
    "SUP-G": ("supplier", "general", 11, 10),
    "AGY-S": ("agency", "serious", 12, 27),
    "AGY-G": ("agency", "general", 14, 20),
    "EXP-S": ("expert", "serious", 15, 14),
    "EXP-G": ("expert", "general", 16, 14),
}

STAGES = {
    "bidding",
    "evaluation",
    "award",
    "contract",
    "complaint",
    "supervision",
    "procurement_process",
    "any",
}

KNOWN_OCR_ERRORS = ["说毁", "回家", "于扰", "于预", "竟争", "关千", "巳获取", "税密"]

CODE_RE = re.compile(r"^(SUP|AGY|EXP)-(S|G)-(\d{2})$")
CJK = r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]"
SPACE_BETWEEN_CJK = re.compile(CJK + r" +" + CJK)


def _load():
    return json.loads(CATALOGUE.read_text(encoding="utf-8"))


def _by_code():
    return {b["code"]: b for b in _load()["behaviours"]}


def test_source():
    assert _load()["source"] == "洛阳市政府采购信用评价暂行办法（洛财购〔2021〕12号）"


def test_total_count():
    assert len(_load()["behaviours"]) == 103


def test_fields_present():
    keys = {
        "code",
        "subject",
        "severity",
        "article",
        "item",
        "stage",
        "text",
        "legal_basis",
        "luoyang_article",
        "statute",
        "references",
    }
    for b in _load()["behaviours"]:
        assert set(b) == keys, b


def test_per_prefix_counts():
    counts = {}
    for b in _load()["behaviours"]:
        counts[b["code"][:5]] = counts.get(b["code"][:5], 0) + 1
    assert counts == {p: spec[3] for p, spec in PREFIXES.items()}


def test_codes_unique_and_well_formed():
    codes = [b["code"] for b in _load()["behaviours"]]
    assert len(codes) == len(set(codes))
    for code in codes:
        assert CODE_RE.match(code), code


def test_codes_contiguous_per_prefix():
    by_prefix = {}
    for b in _load()["behaviours"]:
        by_prefix.setdefault(b["code"][:5], []).append(int(b["code"][-2:]))
    for prefix, nums in by_prefix.items():
        assert sorted(nums) == list(range(1, PREFIXES[prefix][3] + 1)), prefix


def test_item_matches_code():
    for b in _load()["behaviours"]:
        assert isinstance(b["item"], int)
        assert b["item"] == int(b["code"][-2:]), b["code"]


def test_subject_severity_article_consistent_with_prefix():
    for b in _load()["behaviours"]:
        subject, severity, article, _ = PREFIXES[b["code"][:5]]
        assert b["subject"] == subject, b["code"]
        assert b["severity"] == severity, b["code"]
        assert b["article"] == article, b["code"]


def test_stage_values():
    for b in _load()["behaviours"]:
        assert b["stage"] in STAGES, b["code"]


def test_texts_clean():
    for b in _load()["behaviours"]:
        text = b["text"]
        assert text.strip(), b["code"]
        assert text == text.strip(), b["code"]
        assert "\n" not in text, b["code"]
        assert not SPACE_BETWEEN_CJK.search(text), b["code"]
        assert not re.match(r"^[（(][一二三四五六七八九十]+[）)]", text), b["code"]
        assert not re.match(r"^\d+[.．]", text), b["code"]
        assert text[-1] not in "；;。.，,、", b["code"]
        for bad in KNOWN_OCR_ERRORS:
            assert bad not in text, (b["code"], bad)


def test_legal_basis_format():
    for b in _load()["behaviours"]:
        basis = b["legal_basis"]
        assert basis.startswith("《洛阳市政府采购信用评价暂行办法》第"), b["code"]
        assert not SPACE_BETWEEN_CJK.search(basis), b["code"]
        assert " " not in basis, b["code"]
        for bad in KNOWN_OCR_ERRORS:
            assert bad not in basis, (b["code"], bad)
        # abbreviations must be expanded
        assert "《政府采购法》" not in basis, b["code"]
        assert "《实施条例》" not in basis, b["code"]
        assert "《政府采购法实施条例》" not in basis, b["code"]
        assert "《评审专家管理办法》" not in basis, b["code"]


def test_spot_check_reordered_items():
    c = _by_code()
    # Art. 12 item 3: trailing "的；" was printed above item 1 in the seed
    assert c["AGY-S-03"]["text"] == "以不合理的条件对供应商实行差别待遇或者歧视待遇的"
    # Art. 15 item 5: "务；" was printed above the item in the seed
    assert c["EXP-S-05"]["text"] == "拒不履行配合答复供应商询问、质疑、投诉等法定义务"
    assert "法定义务" in c["EXP-S-05"]["text"]
    # Art. 16 item 10: "符；" was printed above the item in the seed
    assert c["EXP-G-10"]["text"] == "未按规定选取评审品目，评审品目与专业、职称不相符"


def test_spot_check_ocr_fixed_items():
    c = _by_code()
    assert c["SUP-S-02"]["text"] == "采取不正当手段诋毁、排挤其他供应商的"
    assert "竞争性谈判小组" in c["SUP-S-06"]["text"]
    assert c["SUP-G-08"]["text"].endswith("干扰财政部门投诉处理")
    assert "国家财产遭受损失" in c["AGY-S-11"]["text"]
    assert "已获取招标文件" in c["AGY-S-14"]["text"]
    assert "公平竞争" in c["AGY-S-14"]["text"]
    assert "国家秘密、商业秘密" in c["AGY-S-17"]["text"]
    assert "受到非法干预" in c["EXP-G-03"]["text"]


def test_spot_check_first_and_last_items():
    c = _by_code()
    assert c["SUP-S-01"]["text"] == "提供虚假材料谋取中标、成交的"
    assert c["SUP-S-18"]["text"] == "其他违反法律、法规、行政规章规定的严重失信行为"
    assert c["AGY-S-27"]["text"] == "隐匿、销毁应当保存的采购文件或者伪造、变造采购文件的"
    assert c["AGY-G-20"]["text"] == "未及时上报政府采购统计信息"
    assert c["EXP-S-14"]["text"] == "委托他人或者代替他人参加评标评审"
    assert c["EXP-G-14"]["text"] == "将手机等通讯工具或者相关电子设备带入评审现场"


def test_spot_check_legal_basis():
    c = _by_code()
    assert c["SUP-S-01"]["statute"] == "《中华人民共和国政府采购法》第七十七条"
    assert c["SUP-S-01"]["legal_basis"] == (
        "《洛阳市政府采购信用评价暂行办法》第八条第一项；《中华人民共和国政府采购法》第七十七条"
    )
    assert c["SUP-S-06"]["statute"] == "《中华人民共和国政府采购法实施条例》第七十二条"
    assert c["SUP-S-18"]["statute"] is None
    assert c["SUP-S-18"]["legal_basis"] == "《洛阳市政府采购信用评价暂行办法》第八条第十八项"
    assert c["AGY-S-03"]["statute"] == "《中华人民共和国政府采购法》第七十一条"
    assert c["AGY-S-27"]["luoyang_article"] == "《洛阳市政府采购信用评价暂行办法》第十二条第二十七项"
    assert c["EXP-S-05"]["statute"].startswith("《政府采购评审专家管理办法》")


REFERENCE_ONLY = (
    [f"SUP-G-{n:02d}" for n in range(1, 11)]
    + [f"AGY-G-{n:02d}" for n in range(1, 21)]
    + [f"EXP-G-{n:02d}" for n in range(4, 15)]
    + ["EXP-S-14"]
)


def test_point3_reference_measures_are_not_the_legal_basis():
    """Issue 16 point 3: the 42 items whose 注 only says 参考《江苏…》《青岛…》《威海…》 have the
    Luoyang article as their basis and those measures as references; no other item has references."""
    assert len(REFERENCE_ONLY) == 42
    for code, b in _by_code().items():
        assert "江苏" not in b["legal_basis"] and "青岛" not in b["legal_basis"], code
        if code in REFERENCE_ONLY:
            assert b["legal_basis"] == b["luoyang_article"] and b["statute"] is None, code
            assert b["references"] == [
                "《江苏省政府采购信用管理暂行办法》",
                "《青岛市政府采购诚信管理办法》",
                "《威海市政府采购信用管理暂行办法》",
            ], code
        else:
            assert b["references"] == [], code
