"""The event catalogue: every event type of the native format, declared once.

Each `EventType` says which subject it belongs to, its fields with their parsers, and when a
rationale is required. Parsing, storing, exporting, the CLI's `record` flags and the projections
all dispatch on `CATALOGUE`, never on a second hand-kept list of type names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import orjson

from domain import values as v
from domain.errors import InvalidFieldError, RationaleRequiredError, UnknownEventTypeError

Subject = Literal["agreement", "provider", "commissioner", "lead", "target"]
Parser = Callable[[str, Any], Any]

NOT_STATED = "not stated in the source"


class Reading(NamedTuple):
    """A stored value that reads other than it is stored (`EventType.read_data`)."""

    field: str
    stored: Any
    read: Any


@dataclass(frozen=True)
class Field:
    """A field of an event type: its name and its kind of value (`domain.values.FieldType`),
    which checks it at the boundary and reads it back from a store."""

    name: str
    type: v.FieldType
    required: bool = True
    help: str = ""

    @property
    def parse(self) -> Parser:
        return self.type.parse


@dataclass(frozen=True)
class EventType:
    name: str
    subject: Subject
    fields: tuple[Field, ...]
    help: str
    rationale_rule: Callable[[Mapping[str, Any]], str | None] = lambda data: None
    field_names: frozenset[str] = field(init=False)
    by_name: Mapping[str, Field] = field(init=False, repr=False)
    parsers: tuple[tuple[str, Parser, bool, str], ...] = field(init=False, repr=False)
    readers: tuple[tuple[str, Callable[[Any], Any]], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "field_names", frozenset(f.name for f in self.fields))
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})
        parsers = tuple(
            (f.name, f.type.parse, f.required, f.help or "a value") for f in self.fields
        )
        object.__setattr__(self, "parsers", parsers)
        object.__setattr__(self, "readers", tuple((f.name, f.type.read) for f in self.fields))

    def parse_data(self, raw: Mapping[str, Any], *, prefix: str = "") -> dict[str, Any]:
        """Parse this type's fields of `raw`; unknown extra fields are kept as they are."""
        data: dict[str, Any] = {}
        for name, parse, required, expected in self.parsers:
            value = raw.get(name)
            if value is None:
                if required:
                    raise InvalidFieldError(prefix + name, expected, missing=True)
                continue
            data[name] = parse(prefix + name, value)
        for key, value in raw.items():
            if key not in self.field_names and key not in COMMON_FIELDS and value is not None:
                data[key] = value
        return data

    def read_data(self, raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[Reading]]:
        """This type's fields of `raw` as a store holds them, read leniently by each field's
        kind (never an error: a ledger recorded before a check applied must read again), and
        the values that read other than they are stored. Unknown extra fields kept as they are.
        When every value reads as stored (the usual case), `raw` itself is given back."""
        changed: list[Reading] = []
        for name, read in self.readers:
            value = raw.get(name)
            if value is not None:
                got = read(value)
                if got is not value and got != value:
                    changed.append(Reading(name, value, got))
        if not changed and type(raw) is dict:
            return raw, changed
        data = {k: x for k, x in raw.items() if k not in COMMON_FIELDS and x is not None}
        for name, _, got in changed:
            if got is None:
                data.pop(name, None)
            else:
                data[name] = got
        return data, changed


def _always(why: str) -> Callable[[Mapping[str, Any]], str | None]:
    return lambda data: why


def _direct_award_rule(data: Mapping[str, Any]) -> str | None:
    if data.get("route") == "direct_award":
        return "guidance expects every direct award to be justified"
    return None


_text = v.TEXT
_id = v.IDENTIFIER
_notes = v.NOTES
_date = v.DATE
_money = v.MONEY
_ids = v.IDS
_choice = v.choice


_AGREEMENT = Field("agreement_id", _id, help="the agreement's id")
_PROVIDER = Field("provider_id", _id, help="the provider's id")
_COMMISSIONER = Field("commissioner_id", _id, help="the commissioner's id")

_AWARD_FIELDS = (
    _AGREEMENT,
    Field("kind", _choice(v.AGREEMENT_KINDS), help="one of " + ", ".join(v.AGREEMENT_KINDS)),
    Field("title", _text, help="a title"),
    Field("service_category", v.SLUG, help="a service category slug"),
    Field("commissioners", v.COMMISSIONER_SHARES, help="a list of {commissioner_id, share}"),
    Field("providers", v.PROVIDER_SHARES, help="a list of {provider_id, role, share}"),
    Field("annual_value", _money, help='money per annum as a string ("40000.00")'),
    Field("start", _date, help="a date YYYY-MM-DD"),
    Field("end", _date, help="a date YYYY-MM-DD"),
    Field("route", _choice(v.ROUTES), help="one of " + ", ".join(v.ROUTES)),
    Field(
        "funding_stream", _choice(v.FUNDING_STREAMS), help="one of " + ", ".join(v.FUNDING_STREAMS)
    ),
    Field("responsible_lead", _id, required=False),
)

_SUBJECT_REFS = (
    Field("agreement_id", _id, required=False),
    Field("provider_id", _id, required=False),
    Field("commissioner_id", _id, required=False),
)

_TYPES = (
    # organisations
    EventType(
        "CommissionerEstablished",
        "commissioner",
        (
            _COMMISSIONER,
            Field("name", _text, help="a name"),
            Field(
                "kind",
                _choice(v.COMMISSIONER_KINDS),
                help="one of " + ", ".join(v.COMMISSIONER_KINDS),
            ),
        ),
        "a commissioning organisation comes into being",
    ),
    EventType(
        "CommissionerRenamed",
        "commissioner",
        (_COMMISSIONER, Field("name", _text)),
        "a commissioner takes a new name",
    ),
    EventType(
        "CommissionerMerged",
        "commissioner",
        (
            _COMMISSIONER,
            Field("into", _id, help="the successor commissioner's id"),
        ),
        "a commissioner merges into a successor, which takes its portfolio",
    ),
    EventType(
        "CommissionerAbolished",
        "commissioner",
        (
            _COMMISSIONER,
            Field("successors", v.SUCCESSOR_SHARES, help="a list of {commissioner_id, share}"),
        ),
        "a commissioner is abolished; successors take its portfolio in shares",
    ),
    # providers
    EventType(
        "ProviderRegistered",
        "provider",
        (
            _PROVIDER,
            Field("name", _text, help="a name"),
            Field("sector", _choice(v.SECTORS), help="one of " + ", ".join(v.SECTORS)),
            Field("size_band", _choice(v.SIZE_BANDS), help="one of " + ", ".join(v.SIZE_BANDS)),
            Field("charity_number", _id, required=False),
            Field("company_number", _id, required=False),
            Field("ods_code", _id, required=False),
        ),
        "a provider enters the ledger with its sector, size band and identifiers",
    ),
    EventType(
        "ProviderRenamed",
        "provider",
        (_PROVIDER, Field("name", _text)),
        "a provider takes a new name",
    ),
    EventType(
        "ProviderReclassified",
        "provider",
        (
            _PROVIDER,
            Field("sector", _choice(v.SECTORS), required=False),
            Field("size_band", _choice(v.SIZE_BANDS), required=False),
        ),
        "a provider's sector or size band changes",
    ),
    EventType(
        "ProviderMerged",
        "provider",
        (
            _PROVIDER,
            Field("into", _id, help="the successor provider's id"),
        ),
        "a provider merges into a successor",
    ),
    EventType("ProviderClosed", "provider", (_PROVIDER,), "a provider closes"),
    # agreements
    EventType("GrantAwarded", "agreement", _AWARD_FIELDS, "a grant is awarded", _direct_award_rule),
    EventType(
        "ContractAwarded",
        "agreement",
        _AWARD_FIELDS,
        "a contract (or SLA, call-off, alliance or lead-provider contract) is awarded",
        _direct_award_rule,
    ),
    EventType(
        "RolledOver",
        "agreement",
        (
            _AGREEMENT,
            Field("new_end", _date, help="a date YYYY-MM-DD"),
            Field("annual_value", _money, required=False),
        ),
        "re-commissioned for a new term without competition",
        _always("guidance expects every rollover to be justified"),
    ),
    EventType(
        "Extended",
        "agreement",
        (
            _AGREEMENT,
            Field("new_end", _date, help="a date YYYY-MM-DD"),
        ),
        "the end date moves later",
        _always("guidance expects every extension to be justified"),
    ),
    EventType(
        "Varied",
        "agreement",
        (
            _AGREEMENT,
            Field("annual_value", _money, required=False),
            Field("scope", _notes, required=False),
            Field("applies_from", _date, required=False),
        ),
        "value or scope changed from a date",
    ),
    EventType(
        "Restructured",
        "agreement",
        (
            _AGREEMENT,
            Field(
                "change",
                _choice(v.RESTRUCTURE_CHANGES),
                help="one of " + ", ".join(v.RESTRUCTURE_CHANGES),
            ),
            Field("related_agreements", v.RELATED_IDS, help="a list of agreement ids"),
            Field("provider_id", _id, required=False),
            Field("commissioner_id", _id, required=False),
            Field("providers", v.PROVIDER_SHARES, required=False),
            Field("commissioners", v.COMMISSIONER_SHARES, required=False),
        ),
        "merged, split, novated, alliance membership or subcontract changed, or moved commissioner",
    ),
    EventType(
        "Reprocured",
        "agreement",
        (
            _AGREEMENT,
            Field("successor_agreement_id", _id, help="the successor agreement's id"),
            Field("incumbent_retained", v.BOOLEAN, help="true or false"),
        ),
        "a competition was run; names the successor agreement",
    ),
    EventType(
        "Terminated",
        "agreement",
        (_AGREEMENT,),
        "ended early",
        _always("guidance expects every termination to be justified"),
    ),
    EventType(
        "Decommissioned",
        "agreement",
        (_AGREEMENT,),
        "service ended by decision",
        _always("guidance expects every decommissioning to be justified"),
    ),
    EventType("Expired", "agreement", (_AGREEMENT,), "lapsed at its end"),
    EventType(
        "FundingResponsibilityAgreed",
        "agreement",
        (
            _AGREEMENT,
            Field(
                "commissioners",
                v.COMMISSIONER_SHARES,
                help="a list of {commissioner_id, share}",
            ),
            Field("notes", _notes, help="the settlement's notes"),
            Field("applies_from", _date, required=False),
        ),
        "a settlement between commissioners on who pays what share",
    ),
    # responsibility
    EventType(
        "HandedOver",
        "lead",
        (
            Field("agreements", _ids, required=False),
            Field("portfolio_of", _id, required=False),
            Field("from_lead", _id, help="the lead handing over"),
            Field("to_lead", _id, help="the lead taking over"),
            Field("from_commissioner", _id, required=False),
            Field("to_commissioner", _id, required=False),
            Field("notes", _notes, required=False),
        ),
        "agreements or a whole portfolio pass from one lead to another",
        _always("guidance expects every handover to say why"),
    ),
    # corrections
    EventType(
        "Corrected",
        "target",
        (
            Field("corrects", _id, help="the event_id of the corrected event"),
            Field("fields", v.OBJECT, help="an object of corrected field values"),
            *_SUBJECT_REFS,
        ),
        "replaces fields of an earlier event from that event's effective date",
    ),
    EventType(
        "Rescinded",
        "target",
        (
            Field("rescinds", _id, help="the event_id of the rescinded event"),
            *_SUBJECT_REFS,
        ),
        "withdraws an earlier event, which stays in the ledger with no effect",
    ),
)

CATALOGUE: dict[str, EventType] = {t.name: t for t in _TYPES}
RESERVED_FIELDS = ("recorded_at", "timestamp", "recorded_time")
COMMON_FIELDS = ("event_id", "type", "effective_on", "recorded_by", "rationale", "source")
# the kind of each common field's value (`type` is a catalogue name)
COMMON_TYPES: dict[str, v.FieldType] = {
    "event_id": v.IDENTIFIER,
    "effective_on": v.DATE,
    "recorded_by": v.TEXT,
    "rationale": v.NOTES,
    "source": v.TEXT,
}
CORRECTABLE_COMMON = ("effective_on", "recorded_by", "rationale", "source")
AWARD_TYPES = frozenset({"GrantAwarded", "ContractAwarded"})
ENDING_TYPES = frozenset({"Terminated", "Decommissioned", "Expired"})
CORRECTION_TYPES = frozenset({"Corrected", "Rescinded"})
DECISION_TYPES = frozenset({"RolledOver", "Extended", "Reprocured", "Restructured"}) | ENDING_TYPES
SUBJECT_FIELD: dict[str, str] = {
    "agreement": "agreement_id",
    "provider": "provider_id",
    "commissioner": "commissioner_id",
    "lead": "from_lead",
}


@dataclass(frozen=True)
class LedgerEvent:
    """One event as users write it: the common fields plus the type's own `data`."""

    event_id: str
    type: str
    effective_on: str
    recorded_by: str
    rationale: str | None
    source: str | None
    data: dict[str, Any]

    @property
    def spec(self) -> EventType:
        return CATALOGUE[self.type]

    @property
    def subject_id(self) -> str | None:
        key = SUBJECT_FIELD.get(self.spec.subject)
        return self.data.get(key) if key else None

    def to_record(self) -> dict[str, Any]:
        """The flat native-format object, fields in catalogue order, extras last."""
        rec: dict[str, Any] = {
            "event_id": self.event_id,
            "type": self.type,
            "effective_on": self.effective_on,
            "recorded_by": self.recorded_by,
        }
        if self.rationale is not None:
            rec["rationale"] = self.rationale
        if self.source is not None:
            rec["source"] = self.source
        for f in self.spec.fields:
            if f.name in self.data:
                rec[f.name] = self.data[f.name]
        for key, value in self.data.items():
            if key not in rec:
                rec[key] = value
        return rec

    def digest(self) -> str:
        """Content fingerprint: re-importing the identical event adds nothing."""
        body = orjson.dumps(self.to_record(), option=orjson.OPT_SORT_KEYS)
        return hashlib.blake2b(body, digest_size=16).hexdigest()


def parse_event(raw: Any) -> LedgerEvent:
    """Validate one native-format object into a `LedgerEvent`, or raise `InvalidFieldError`."""
    if not isinstance(raw, dict):
        raise InvalidFieldError("(record)", "a JSON object", type(raw).__name__)
    type_name = raw.get("type")
    spec = CATALOGUE.get(type_name) if isinstance(type_name, str) else None
    if spec is None:
        if type_name is None:
            raise InvalidFieldError("type", "an event type", missing=True)
        raise UnknownEventTypeError(type_name, list(CATALOGUE))
    for reserved in RESERVED_FIELDS:
        if reserved in raw:
            raise InvalidFieldError(
                reserved,
                "no such field: the recorded time is the ledger's clock when the "
                "event is stored, never set by a file or a command",
                raw[reserved],
            )
    # the common fields' kinds (COMMON_TYPES) called directly: the import's hot path
    event_id = raw.get("event_id")
    if event_id is None:
        raise InvalidFieldError("event_id", "a stable id string chosen by the writer", missing=True)
    event_id = v.parse_id("event_id", event_id)
    effective_on = raw.get("effective_on")
    if effective_on is None:
        raise InvalidFieldError("effective_on", "a date YYYY-MM-DD", missing=True)
    effective_on = v.parse_date("effective_on", effective_on)
    recorded_by = raw.get("recorded_by")
    if recorded_by is None:
        raise InvalidFieldError("recorded_by", "who entered it", missing=True)
    recorded_by = v.parse_text("recorded_by", recorded_by)
    rationale = raw.get("rationale")
    if rationale is not None:
        rationale = v.parse_notes("rationale", rationale)
    source = raw.get("source")
    if source is not None:
        source = v.parse_text("source", source)
    try:
        data = spec.parse_data(raw)
    except InvalidFieldError as err:
        err.event_type = spec.name  # the reference's section for this type's fields
        raise
    why = spec.rationale_rule(data)
    if why and rationale is None:
        raise RationaleRequiredError(spec.name, why)
    return LedgerEvent(event_id, spec.name, effective_on, recorded_by, rationale, source, data)


def stored_event(
    event_id: str,
    type_name: str,
    effective_on: str,
    recorded_by: str,
    rationale: str | None,
    source: str | None,
    data: dict[str, Any],
) -> LedgerEvent:
    """An event as a store holds it, each value read by its field's kind (`FieldType.read`):
    the same event when every value is canonical (the usual case, checked cheaply), else its
    lenient reading, so a ledger recorded before a check applied replays and exports."""
    read, _ = CATALOGUE[type_name].read_data(data)
    return LedgerEvent(
        event_id,
        type_name,
        v.read_date(effective_on) or effective_on,
        v.read_text(recorded_by) or recorded_by,
        None if rationale is None else v.read_notes(rationale),
        None if source is None else v.read_text(source),
        read,
    )


def check_corrected_fields(spec: EventType, fields: Mapping[str, Any], *, prefix: str) -> None:
    """A correction names only fields the corrected type has (or the common fields it may
    correct); its values are then checked by those fields' own kinds."""
    for name in fields:
        if name not in spec.field_names and name not in CORRECTABLE_COMMON:
            known = ", ".join([*(f.name for f in spec.fields), *CORRECTABLE_COMMON])
            raise InvalidFieldError(
                f"{prefix}{name}", f"a field of {spec.name} ({known})", fields[name]
            )
