"""The behaviour catalogue of the Luoyang measures (CONTRACT §4), reconstructed from the OCR'd seed
(see RECONSTRUCTION.md beside this file)."""

import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr

DATA = Path(__file__).parent / "luoyang_2021.json"

SubjectType = Literal["supplier", "agency", "expert", "purchaser"]
Severity = Literal["serious", "general"]


class Behaviour(BaseModel):
    code: str
    subject: Literal["supplier", "agency", "expert"]
    severity: Severity
    article: int
    item: int
    stage: str
    text: str
    # The legal basis: the Luoyang article and item that list the behaviour, then the statute the
    # seed's 注 cites for it (依据…), where it cites one.
    legal_basis: str
    luoyang_article: str
    statute: str | None = None
    # Other regions' measures the seed's 注 marks 参考: where the wording came from, not the basis.
    references: list[str] = Field(default_factory=list)


class Catalogue(BaseModel):
    source: str
    references_note: str | None = None
    behaviours: list[Behaviour]
    _by_code: dict[str, Behaviour] = PrivateAttr(default_factory=dict)
    _subjects: frozenset[str] = PrivateAttr(default_factory=frozenset)

    def model_post_init(self, _context: object) -> None:
        self._by_code = {b.code: b for b in self.behaviours}
        self._subjects = frozenset(b.subject for b in self.behaviours)

    def has_behaviours_of(self, subject_type: str) -> bool:
        """Whether the measures list any behaviour of this kind of subject (Luoyang's: no purchaser)."""
        return subject_type in self._subjects

    def get(self, code: str) -> Behaviour | None:
        # Straight to the private dict: pydantic's __getattr__ for private attributes costs more
        # than the lookup itself, on the intake hot path.
        return self.__pydantic_private__["_by_code"].get(code)  # type: ignore[index]


def references_of(code: str) -> list[str]:
    """The 参考 measures of a behaviour (empty for an unknown code)."""
    b = load_catalogue().get(code)
    return list(b.references) if b else []


@lru_cache
def load_catalogue() -> Catalogue:
    return Catalogue.model_validate(json.loads(DATA.read_text(encoding="utf-8")))
