"""Identifiers of CONTRACT §3."""

import random

import pytest

from services.common import identifiers
from services.common.identifiers import (
    USCC_ALPHABET,
    division_covers,
    division_level,
    is_division_code,
    is_valid_expert_id,
    is_valid_uscc,
    make_uscc,
    mask_national_ids,
    mask_person_name,
    regions_above,
    uscc_check_char,
    validate_subject_id,
)

# Published codes (the check character was recomputed by hand for each).
REAL_USCCS = [
    "91350100M000100Y43",  # the example of GB 32100-2015 guides
    "914403001922038216",  # Huawei Technologies Co., Ltd. (all digits)
    "91440300708461136T",  # Shenzhen Tencent Computer Systems Co., Ltd.
    "91330100716105852F",  # Alibaba (China) Co., Ltd.
    "91110108551385082Q",  # Beijing Xiaomi Technology Co., Ltd.
]


@pytest.mark.parametrize("code", REAL_USCCS)
def test_real_codes_are_valid(code: str) -> None:
    assert is_valid_uscc(code)
    assert uscc_check_char(code[:17]) == code[17]
    assert make_uscc(code[:17]) == code


# Codes seen in public sources whose division codes (positions 3-8) have non-zero digits at
# positions 5 and 7, and whose organisation parts have no zeros: together with REAL_USCCS every
# one of the 17 positions carries a non-zero value in some code, so a wrong weight at any
# position turns at least one of them invalid (REAL_USCCS all have 0 at positions 5 and 7).
NONZERO_USCCS = [
    "91411081MA9GH1EF5N",  # Yuzhou, Xuchang (411081)
    "91411081MA3XFBNQ3C",  # Yuzhou, Xuchang (411081)
    "914419006177625157",  # a Dongguan (441900) manufacturer registered before 2015
    "91441900708017879M",  # Dongguan (441900)
    "91510113MA6B3Q0G6M",  # Qingbaijiang, Chengdu (510113)
    "91370681MA3WCM1P8N",  # Longkou, Yantai (370681)
]


def test_weights_are_their_definition() -> None:
    # GB 32100-2015 5.2: the weight of position i (from 0) is 3^i mod 31.
    assert identifiers._USCC_WEIGHTS == tuple(pow(3, i, 31) for i in range(17))


def test_published_codes_cover_every_position_with_a_non_zero_value() -> None:
    for pos in range(17):
        assert any(c[pos] != "0" for c in REAL_USCCS + NONZERO_USCCS), pos


@pytest.mark.parametrize("code", NONZERO_USCCS)
def test_codes_with_non_zero_digits_everywhere_are_valid(code: str) -> None:
    assert is_valid_uscc(code)
    assert uscc_check_char(code[:17]) == code[17]


def _reference_check_char(first17: str) -> str:
    # GB 32100-2015 written out again, independently of the module: C18 = 31 - (sum Ci*Wi mod 31).
    total = sum(USCC_ALPHABET.index(ch) * pow(3, i, 31) for i, ch in enumerate(first17))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def test_check_char_agrees_with_the_standard_on_random_prefixes() -> None:
    rng = random.Random(32100)
    for _ in range(2000):
        prefix = "".join(rng.choice(USCC_ALPHABET[1:]) for _ in range(17))
        assert uscc_check_char(prefix) == _reference_check_char(prefix), prefix


@pytest.mark.parametrize("code", REAL_USCCS)
def test_every_single_character_substitution_is_caught(code: str) -> None:
    # A weighted mod-31 check with weights prime to 31 detects every single-character error.
    for pos in range(18):
        for ch in USCC_ALPHABET:
            if ch != code[pos]:
                mutated = code[:pos] + ch + code[pos + 1 :]
                assert not is_valid_uscc(mutated), mutated


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y4",  # 17 characters
        "91350100M000100Y433",  # 19 characters
        "91350100m000100Y43",  # lower case
        "91350100M000100y43",
        "9135010OM000100Y43",  # O in the division code
        "91350100MI00100Y43",  # I is not in the alphabet
        "9135A100M000100Y43",  # letter in the division code
        "",
    ],
)
def test_malformed_codes_are_invalid(code: str) -> None:
    assert not is_valid_uscc(code)


def test_adjacent_transposition_is_caught() -> None:
    code = "91350100M000100Y43"
    swapped = code[:8] + code[9] + code[8] + code[10:]  # "M0" -> "0M"
    assert swapped != code
    assert not is_valid_uscc(swapped)


def test_non_strings_are_invalid() -> None:
    assert not is_valid_uscc(None)  # type: ignore[arg-type]
    assert not is_valid_uscc(914403001922038216)  # type: ignore[arg-type]


def test_check_char_refuses_bad_prefixes() -> None:
    with pytest.raises(ValueError):
        uscc_check_char("91350100M000100Y")
    with pytest.raises(ValueError):
        uscc_check_char("91350100M000100YI")
    with pytest.raises(ValueError):
        make_uscc("9135A100M000100Y4")


def test_check_char_zero_case() -> None:
    # When the weighted sum is a multiple of 31 the check is "0", not the 31st character.
    for n in range(10_000):
        prefix = f"9141030{n:010d}"
        if uscc_check_char(prefix) == "0":
            assert is_valid_uscc(prefix + "0")
            return
    pytest.fail("no prefix with check character 0 found")


@pytest.mark.parametrize(
    "code", ["410000", "410300", "410322", "110000", "110101", "500101", "460000", "650100", "820000"]
)
def test_division_codes(code: str) -> None:
    assert is_division_code(code)


@pytest.mark.parametrize(
    "code", ["000000", "990000", "991234", "100000", "4103", "41030a", "4103000", "410022", "", "４１０３００"]
)
def test_not_division_codes(code: str) -> None:
    assert not is_division_code(code)


def test_division_level() -> None:
    assert division_level("410000") == "province"
    assert division_level("410300") == "city"
    assert division_level("410322") == "county"
    assert division_level("110101") == "county"
    with pytest.raises(ValueError):
        division_level("000000")


@pytest.mark.parametrize(
    ("officer", "target", "covered"),
    [
        ("410000", "410000", True),
        ("410000", "410300", True),
        ("410000", "410322", True),
        ("410000", "420100", False),
        ("410300", "410300", True),
        ("410300", "410322", True),
        ("410300", "410000", False),
        ("410300", "410100", False),
        ("410300", "410401", False),
        ("410322", "410322", True),
        ("410322", "410323", False),
        ("410322", "410300", False),
        ("110000", "110101", True),  # municipality: the province covers its districts
        ("110100", "110105", True),
        ("410300", "41032x", False),
        ("bogus!", "410300", False),
    ],
)
def test_division_covers(officer: str, target: str, covered: bool) -> None:
    assert division_covers(officer, target) is covered


def test_regions_above() -> None:
    assert regions_above("410322") == ["410322", "410300", "410000"]
    assert regions_above("410300") == ["410300", "410000"]
    assert regions_above("410000") == ["410000"]
    # Jiyuan is administered by the province directly; 419000 is only a heading.
    assert regions_above("419001") == ["419001", "410000"]
    with pytest.raises(ValueError):
        regions_above("4103")


def test_expert_ids() -> None:
    assert is_valid_expert_id("EXP-410300-0001")
    assert is_valid_expert_id("a_b")
    assert is_valid_expert_id("x" * 64)
    for bad in ["", "x" * 65, "专家1", "a b", "a/b", "a\n", "a.b"]:
        assert not is_valid_expert_id(bad), bad


def test_validate_subject_id() -> None:
    assert validate_subject_id("supplier", "91350100M000100Y43")
    assert validate_subject_id("agency", "91350100M000100Y43")
    assert validate_subject_id("purchaser", "91350100M000100Y43")
    assert not validate_subject_id("supplier", "91350100M000100Y44")
    assert not validate_subject_id("supplier", "EXP-1")
    assert validate_subject_id("expert", "EXP-1")
    assert not validate_subject_id("expert", "EXP 1")
    assert not validate_subject_id("finance", "410300")


def test_mask_national_ids() -> None:
    assert mask_national_ids("410302199001011234") == "410*************34"
    assert mask_national_ids("身份证号41030219900101123X，电话") == "身份证号410*************3X，电话"
    assert mask_national_ids("old 410302900101123 id") == "old 410**********23 id"
    text = "甲 110101198001010011 乙 32010519991231002x"
    assert mask_national_ids(text) == "甲 110*************11 乙 320*************2x"


@pytest.mark.parametrize(
    "text",
    [
        "914403001922038216",  # an all-digit USCC (starts with 9): public, stays readable
        "91350100M000100Y43",
        "41030219900101123456",  # 20 digits: an account number, not an id
        "4103021990010112345",  # 19 digits
        "410302199013011234",  # month 13: not a birth date
        "amount 12345678 yuan",
    ],
)
def test_mask_national_ids_leaves_other_numbers(text: str) -> None:
    assert mask_national_ids(text) == text


def test_mask_person_name() -> None:
    assert mask_person_name("张三") == "张*"
    assert mask_person_name("欧阳小明") == "欧***"
    assert mask_person_name("李") == "*"
    assert mask_person_name("") == ""
