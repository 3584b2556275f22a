"""Identifiers of CONTRACT §3: Unified Social Credit Codes, division codes, expert ids, and masking.

Everything here is pure and cheap: these checks run on every inbound event and every request.
"""

import re
import unicodedata
from functools import lru_cache
from operator import mul
from typing import Literal

# --- Unified Social Credit Code (GB 32100-2015) -------------------------------------------------

# The code alphabet: digits and upper-case letters without I, O, Z, S, V (easily misread).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {ch: i for i, ch in enumerate(USCC_ALPHABET)}
# Weight of position i is 3**i mod 31 (GB 32100-2015, 5.2).
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    """The 18th (check) character for the first 17 characters of a USCC.

    Raises ValueError when `first17` is not 17 characters of the USCC alphabet, so that a caller
    generating codes cannot silently produce an invalid one.
    """
    if len(first17) != 17:
        raise ValueError(f"a USCC prefix has 17 characters, got {len(first17)}")
    try:
        # map() instead of a generator: this runs twice per inbound event.
        total = sum(map(mul, map(_USCC_VALUE.__getitem__, first17), _USCC_WEIGHTS))
    except KeyError as exc:
        raise ValueError(f"character {exc.args[0]!r} is not in the USCC alphabet") from None
    return USCC_ALPHABET[(31 - total % 31) % 31]


def make_uscc(prefix17: str) -> str:
    """A valid USCC from its first 17 characters (for tests, seeds and the bench)."""
    if not prefix17[2:8].isascii() or not prefix17[2:8].isdigit():
        raise ValueError("positions 3-8 of a USCC are the 6-digit division code of registration")
    return prefix17 + uscc_check_char(prefix17)


ORGANISATION_TYPES = frozenset({"supplier", "agency", "purchaser"})


def normalise_org_id(code: str) -> str:
    """An organisation's code as written by people and forms: full-width characters (ＡＢ１２,
    common in Chinese input methods) folded by NFKC, surrounding spaces dropped, letters upper-case
    (GB 32100-2015 uses upper-case letters only). A valid code is unchanged."""
    return unicodedata.normalize("NFKC", code).strip().upper()


def normalise_subject_id(subject_type: str, subject_id: str) -> str:
    """`normalise_org_id` for organisations; an expert id is kept as given but for NFKC and spaces."""
    if subject_type in ORGANISATION_TYPES:
        return normalise_org_id(subject_id)
    return unicodedata.normalize("NFKC", subject_id).strip()


def normalise_applicant_id(subject_type: str | None, subject_id: str) -> str:
    """An applicant's id whose type may be left out: an organisation's code when it reads as one."""
    if subject_type is None:
        folded = normalise_org_id(subject_id)
        return folded if is_valid_uscc(folded) else normalise_subject_id("", subject_id)
    return normalise_subject_id(subject_type, subject_id)


@lru_cache(maxsize=65536)
def is_valid_uscc(code: str) -> bool:
    """True for an 18-character upper-case USCC whose check character is right.

    Positions 3-8 must be digits (the division code of registration) but are not required to be a
    known province: organisations registered by central authorities carry `100000` there.
    The embedded organisation code (positions 9-17) is not checked on its own, since codes issued
    after 2015 need not be derived from a GB 11714 organisation code.
    """
    if not isinstance(code, str) or len(code) != 18:
        return False
    division = code[2:8]
    if not (division.isascii() and division.isdigit()):
        return False
    try:
        return uscc_check_char(code[:17]) == code[17]
    except ValueError:
        return False


# --- Administrative division codes (GB/T 2260) --------------------------------------------------

# Province-level prefixes: 11-15 North, 21-23 North-east, 31-37 East, 41-46 Central-south,
# 50-54 South-west, 61-65 North-west, 71 Taiwan, 81 Hong Kong, 82 Macao.
PROVINCE_PREFIXES = frozenset(
    str(n)
    for n in (*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55))
    + (*range(61, 66), 71, 81, 82)
)
# Cities code "90" groups county-level units administered directly by the province (e.g. 419001
# Jiyuan); XX9000 is a heading, not a government, so it is no finance department's region.
_PROVINCE_DIRECT_CITY = "90"

DivisionLevel = Literal["province", "city", "county"]


def is_division_code(code: str) -> bool:
    """True for a 6-digit code of a real province-level prefix and a possible structure.

    Impossible structures are rejected: a county part under a `00` city part (XX00YY) does not exist.
    Whether the exact city or county exists is not checked; the code list changes every year.
    """
    if not isinstance(code, str) or len(code) != 6 or not (code.isascii() and code.isdigit()):
        return False
    if code[:2] not in PROVINCE_PREFIXES:
        return False
    return not (code[2:4] == "00" and code[4:] != "00")


def division_level(code: str) -> DivisionLevel:
    """XX0000 is a province, XXYY00 a city, anything else a county. ValueError for a bad code."""
    if not is_division_code(code):
        raise ValueError(f"not an administrative division code: {code!r}")
    if code[2:] == "0000":
        return "province"
    if code[4:] == "00":
        return "city"
    return "county"


def division_covers(officer_region: str, target_region: str) -> bool:
    """Whether a department of `officer_region` has authority over `target_region`.

    A province covers every code of its prefix, a city its own code and its counties, a county only
    itself. Invalid codes cover and are covered by nothing: this is used for authorisation, so it
    denies rather than raises.
    """
    if not (is_division_code(officer_region) and is_division_code(target_region)):
        return False
    level = division_level(officer_region)
    if level == "province":
        return target_region[:2] == officer_region[:2]
    if level == "city":
        return target_region[:4] == officer_region[:4]
    return target_region == officer_region


def regions_above(code: str) -> list[str]:
    """The code, then its city, then its province, most specific first, without duplicates.

    e.g. "410322" -> ["410322", "410300", "410000"]. The `XX90` heading of province-administered
    counties is skipped (see _PROVINCE_DIRECT_CITY). ValueError for a bad code.
    """
    if not is_division_code(code):
        raise ValueError(f"not an administrative division code: {code!r}")
    result = [code]
    city = code[:4] + "00"
    if code[2:4] not in ("00", _PROVINCE_DIRECT_CITY) and city not in result:
        result.append(city)
    province = code[:2] + "0000"
    if province not in result:
        result.append(province)
    return result


# --- Experts and subjects -----------------------------------------------------------------------

_EXPERT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
ORGANISATION_TYPES = frozenset({"supplier", "agency", "purchaser"})
SUBJECT_TYPES = ORGANISATION_TYPES | {"expert"}


def is_valid_expert_id(s: str) -> bool:
    """An expert-pool id: 1-64 characters of [A-Za-z0-9_-] (safe in URLs, keys and file names)."""
    return isinstance(s, str) and _EXPERT_ID.fullmatch(s) is not None


def validate_subject_id(subject_type: str, subject_id: str) -> bool:
    """Whether `subject_id` is well-formed for `subject_type`; False for an unknown type."""
    if subject_type in ORGANISATION_TYPES:
        return is_valid_uscc(subject_id)
    if subject_type == "expert":
        return is_valid_expert_id(subject_id)
    return False


# --- Masking for publication --------------------------------------------------------------------

# A resident id number is division (first digit 1-8) + birth date + sequence (+ check in the 18-char
# form). Requiring the birth date keeps all-digit USCCs (they start with 9) and long order or
# account numbers readable; the check digit is deliberately not verified, because a mistyped id
# still identifies a person. Neighbouring ASCII letters or digits mean it is part of a longer token.
_DATE = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
_NATIONAL_ID = re.compile(
    r"(?<![0-9A-Za-z])"
    rf"(?:[1-8][0-9]{{5}}(?:18|19|20)[0-9]{{2}}{_DATE}[0-9]{{3}}[0-9Xx]"  # 18 characters (since 1999)
    rf"|[1-8][0-9]{{5}}[0-9]{{2}}{_DATE}[0-9]{{3}})"  # 15 digits (first generation)
    r"(?![0-9A-Za-z])"
)


def _mask_id(match: re.Match[str]) -> str:
    s = match.group(0)
    return s[:3] + "*" * (len(s) - 5) + s[-2:]


def mask_national_ids(text: str) -> str:
    """Masks resident id numbers in free text to their first 3 and last 2 characters.

    e.g. 410302199001011234 -> 410*************34 (CONTRACT §3: never published unmasked).
    """
    return _NATIONAL_ID.sub(_mask_id, text)


def mask_person_name(name: str) -> str:
    """Keeps the family name's first character: 张三 -> 张*, 欧阳小明 -> 欧***; one character -> *."""
    name = name.strip()
    if len(name) <= 1:
        return "*" * len(name)
    return name[0] + "*" * (len(name) - 1)
