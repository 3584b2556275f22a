"""What a natural person's data looks like when published: experts are natural persons, so their
names are masked; a national id number anywhere in published text is masked (CONTRACT §3)."""

from services.common.identifiers import mask_national_ids, mask_person_name


def public_name(subject_type: str, name: str) -> str:
    if subject_type == "expert":
        return mask_person_name(name)
    return mask_national_ids(name)


def public_text(text: str | None) -> str | None:
    return mask_national_ids(text) if text else text
