"""Where each field of the native format is described: the section of `docs/format.md` an
error about it links to.

Why derived here: the catalogue declares every event type and its fields once; the section of
the reference that describes a type follows from what the type is about (an organisation, an
agreement, a responsibility, a correction), so no second hand-kept list of fields can drift
from the catalogue.
"""

from __future__ import annotations

import re

from domain.catalogue import CATALOGUE, COMMON_FIELDS, RESERVED_FIELDS, EventType

FORMAT_DOC = "docs/format.md"
EVERY_EVENT = "every-event"
SECTION_OF_SUBJECT = {
    "commissioner": "organisations-and-providers",
    "provider": "organisations-and-providers",
    "agreement": "agreements",
    "lead": "responsibility",
    "target": "corrections",
}
# who pays is a responsibility, though its subject is the agreement
SECTION_OF_TYPE = {"FundingResponsibilityAgreed": "responsibility"}
SECTIONS = (
    EVERY_EVENT,
    "values",
    "organisations-and-providers",
    "agreements",
    "corrections",
    "responsibility",
)


def type_section(spec: EventType) -> str:
    return SECTION_OF_TYPE.get(spec.name) or SECTION_OF_SUBJECT[spec.subject]


def _first_sections() -> dict[str, str]:
    """Each field's section where no event type is known: the first type declaring it."""
    found: dict[str, str] = {name: EVERY_EVENT for name in (*COMMON_FIELDS, *RESERVED_FIELDS)}
    for spec in CATALOGUE.values():
        for f in spec.fields:
            found.setdefault(f.name, type_section(spec))
    return found


_FIRST = _first_sections()


def section_link(field: str, event_type: str | None = None) -> str | None:
    """`docs/format.md#section` for a native field (`providers[0].share` is `providers`), in the
    section of `event_type` when it has the field; None for anything else (a CLI option, a
    column of another format)."""
    match = re.match(r"[a-z_]+", field)
    name = match.group(0) if match else ""
    if name not in _FIRST:
        return None
    spec = CATALOGUE.get(event_type or "")
    if name in COMMON_FIELDS or name in RESERVED_FIELDS:
        section = EVERY_EVENT
    elif spec is not None and name in spec.field_names:
        section = type_section(spec)
    else:
        section = _FIRST[name]
    return f"{FORMAT_DOC}#{section}"
