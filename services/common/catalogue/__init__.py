"""The behaviour catalogue of the Luoyang measures (CONTRACT §4), reconstructed from the OCR'd seed
(see RECONSTRUCTION.md beside this file)."""

import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, PrivateAttr

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
    legal_basis: str


class Catalogue(BaseModel):
    source: str
    behaviours: list[Behaviour]
    _by_code: dict[str, Behaviour] = PrivateAttr(default_factory=dict)

    def model_post_init(self, _context: object) -> None:
        self._by_code = {b.code: b for b in self.behaviours}

    def get(self, code: str) -> Behaviour | None:
        # Straight to the private dict: pydantic's __getattr__ for private attributes costs more
        # than the lookup itself, on the intake hot path.
        return self.__pydantic_private__["_by_code"].get(code)  # type: ignore[index]


@lru_cache
def load_catalogue() -> Catalogue:
    return Catalogue.model_validate(json.loads(DATA.read_text(encoding="utf-8")))
