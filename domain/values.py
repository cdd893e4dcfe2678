"""Value objects and their parsers: money, shares, dates, financial years, closed vocabularies.

Parsers take JSON-ish input and return canonical primitives (strings), so that what is stored is
exactly what is exported, and raise `InvalidFieldError` naming the field and what was expected.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from domain.errors import InvalidFieldError

COMMISSIONER_KINDS = (
    "pct",
    "sha",
    "ccg",
    "icb",
    "nhse",
    "council",
    "csu",
    "other_public",
    "unknown",
)
SECTORS = ("nhs", "third_sector", "private", "public_other", "unknown")
SIZE_BANDS = ("micro", "small", "medium", "large", "major", "unknown")
AGREEMENT_KINDS = (
    "grant",
    "contract",
    "sla",
    "framework_call_off",
    "alliance",
    "lead_provider",
    "spot",
    "unknown",
)
PROVIDER_ROLES = ("sole", "lead", "alliance_member", "subcontractor")
ROUTES = ("competitive_tender", "direct_award", "grant_round", "framework", "spot", "unknown")
COMPETITIVE_ROUTES = ("competitive_tender", "grant_round")
FUNDING_STREAMS = ("nhs", "social_care", "public_health", "pooled", "unknown")
RESTRUCTURE_CHANGES = (
    "merged_into",
    "split_into",
    "novated",
    "member_joined",
    "member_left",
    "subcontract_added",
    "subcontract_removed",
    "moved_commissioner",
)

# -- the one definition of each value kind -----------------------------------------------------
# The catalogue checks every field with these at the boundary and stores the canonical form; the
# frame (projections.payload) checks what it reads from a store with the same patterns and bounds,
# and reads a value stored before they applied (an older ledger) with the same kind's lenient
# `read`, so the import and the views cannot disagree about a value (docs/format.md#values).

FIRST_DAY = "1900-01-01"  # the range of every date the ledger accepts
LAST_DAY = "2099-12-31"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"  # ASCII digits only: no week or ordinal dates
MONEY_DIGITS = 13  # pounds below ten trillion a year: beyond any agreement, within a float's pence
MONEY_PATTERN = r"^[0-9]{1,13}\.[0-9]{2}$"  # as stored
SHARE_PATTERN = r"^[0-9]{1,6}(\.[0-9]{1,6})?$"  # as stored (as written: "1", "0.5", "0.50")
SLUG_PATTERN = r"^[a-z0-9]+(?:[_-][a-z0-9]+)*$"
ID_MAX = 1_000  # characters of an id
LINE_MAX = 4_000  # characters of a name, title, source or other one-line text
NOTES_MAX = 100_000  # characters of a rationale, notes or scope (which may hold line breaks)
# Characters refused in any text: C0 controls (NUL, TAB, ESC ...; a line break is allowed in
# notes), DEL and C1 controls, bidirectional embeddings, overrides and isolates (text that
# displays other than it reads), lone surrogates; and in one-line text the line and paragraph
# separators. As code point ranges, from which the Python and the polars patterns are built.
FORBIDDEN_RANGES = ((0x00, 0x09), (0x0B, 0x1F), (0x7F, 0x9F), (0x202A, 0x202E), (0x2066, 0x2069))
LINE_BREAK = 0x0A  # refused in one-line text, a line break in notes
ONE_LINE_ONLY = ((LINE_BREAK, LINE_BREAK), (0x2028, 0x2029))


def _python_class(ranges: tuple[tuple[int, int], ...]) -> str:
    return "[" + "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in ranges) + "\\ud800-\\udfff]"


def _rust_class(ranges: tuple[tuple[int, int], ...]) -> str:
    return "[" + "".join(f"\\x{{{lo:x}}}-\\x{{{hi:x}}}" for lo, hi in ranges) + "]"


_LINE_FORBIDDEN = re.compile(_python_class(FORBIDDEN_RANGES + ONE_LINE_ONLY))
_NOTES_FORBIDDEN = re.compile(_python_class(FORBIDDEN_RANGES))
# what the frame looks for in stored text (polars' regex) to read it again with `read`; a line
# break included, which the field's own kind then accepts or not
SUSPECT_TEXT = _rust_class(FORBIDDEN_RANGES + ONE_LINE_ONLY)

_DATE = re.compile(DATE_PATTERN)
_MONEY = re.compile(r"^[0-9]{1,13}(\.[0-9]{1,2})?$")
_SHARE = re.compile(SHARE_PATTERN)
_SLUG = re.compile(SLUG_PATTERN)
_CANONICAL_MONEY = re.compile(MONEY_PATTERN)
ONE = Decimal(1)
_TWO_PLACES = Decimal("0.01")
_OPEN_END = (
    "an agreement with no fixed end is recorded with the end of its current term (or its next "
    "review date) and moved later with Extended or RolledOver when it continues"
)


def _refused_character(value: str, forbidden: re.Pattern[str]) -> str | None:
    """The first character `forbidden` refuses, named as U+XXXX, or None."""
    if value.isascii() and value.isprintable():
        return None
    found = forbidden.search(value)
    return None if found is None else f"U+{ord(found.group()):04X}"


def _checked_text(field: str, value: Any, limit: int, forbidden: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidFieldError(field, what, value)
    if len(value) > limit:
        raise InvalidFieldError(
            field, f"{what} of at most {limit:,} characters", f"text of {len(value):,} characters"
        )
    bad = _refused_character(value, forbidden)
    if bad is not None:
        raise InvalidFieldError(
            field,
            f"{what} without control characters ({bad} is one; see docs/format.md#values)",
            value,
        )
    if value.isascii() or unicodedata.is_normalized("NFC", value):
        return value
    return unicodedata.normalize("NFC", value)


def parse_text(field: str, value: Any) -> str:
    """One line of text (a name, a title, a source): non-empty, stored in NFC."""
    if (  # the usual case, at the cost of a few method calls (the import's hot path)
        type(value) is str
        and value.isascii()
        and value.isprintable()
        and 0 < len(value) <= LINE_MAX
        and not value.isspace()
    ):
        return value
    return _checked_text(field, value, LINE_MAX, _LINE_FORBIDDEN, "a non-empty string")


def parse_id(field: str, value: Any) -> str:
    """An id chosen by the writer (compared exactly, as published): one line, at most ID_MAX."""
    if (
        type(value) is str
        and value.isascii()
        and value.isprintable()
        and 0 < len(value) <= ID_MAX
        and not value.isspace()
    ):
        return value
    return _checked_text(field, value, ID_MAX, _LINE_FORBIDDEN, "a non-empty id string")


def parse_notes(field: str, value: Any) -> str:
    """Free text that may run over lines (a rationale, notes, a scope): line breaks are `\\n`."""
    if (
        type(value) is str
        and value.isascii()
        and value.isprintable()
        and 0 < len(value) <= NOTES_MAX
        and not value.isspace()
    ):
        return value
    if isinstance(value, str) and "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _checked_text(field, value, NOTES_MAX, _NOTES_FORBIDDEN, "a non-empty string")


def parse_date(field: str, value: Any) -> str:
    """ISO date `YYYY-MM-DD` from FIRST_DAY to LAST_DAY; kept as the string (ISO dates sort as
    they compare)."""
    # DATE_PATTERN, checked by string methods (a regex costs more on the import's hot path):
    # ASCII, dashes in place, then the digits and the day itself by `fromisoformat`
    if (
        type(value) is not str
        or len(value) != 10
        or not value.isascii()
        or value[4] != "-"
        or value[7] != "-"
    ):
        raise InvalidFieldError(field, "a date YYYY-MM-DD", value)
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidFieldError(field, "a date YYYY-MM-DD", value) from None
    if not FIRST_DAY <= value <= LAST_DAY:
        expected = f"a date YYYY-MM-DD from {FIRST_DAY} to {LAST_DAY}"
        if value > LAST_DAY:
            expected += f"; {_OPEN_END}"
        raise InvalidFieldError(field, expected, value)
    return value


def parse_money(field: str, value: Any) -> str:
    """Pounds per annum: a string of ASCII digits, non-negative, at most pence, below ten
    trillion. Stored with two decimals."""
    if type(value) is str and value.isascii():
        whole, dot, cents = value.partition(".")
        if whole.isdigit() and len(whole) <= MONEY_DIGITS and (whole == "0" or whole[0] != "0"):
            if len(cents) == 2 and cents.isdigit():
                return value  # canonical already: the usual case
            if not dot:
                return value + ".00"
            if len(cents) == 1 and cents.isdigit():
                return value + "0"
    if not isinstance(value, str) or not _MONEY.match(value):
        raise InvalidFieldError(
            field,
            "money as a string of pounds in ASCII digits, non-negative, at most two decimals "
            f'and {MONEY_DIGITS} digits before them ("332000.00")',
            value,
        )
    return f"{Decimal(value):.2f}"  # leading zeros dropped


def parse_choice(field: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise InvalidFieldError(field, "one of " + ", ".join(choices), value)
    return str(value)


def parse_slug(field: str, value: Any) -> str:
    if not isinstance(value, str) or len(value) > ID_MAX or not _SLUG.match(value):
        raise InvalidFieldError(field, "a lower-case slug such as 'supported_housing'", value)
    return value


def parse_bool(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidFieldError(field, "true or false", value)
    return value


def parse_id_list(field: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise InvalidFieldError(field, "a non-empty list of id strings", value)
    return [parse_id(f"{field}[{i}]", item) for i, item in enumerate(value)]


def parse_related_ids(field: str, value: Any) -> list[str]:
    """A possibly empty list of ids (a subcontract change may relate to no other agreement)."""
    if not isinstance(value, list):
        raise InvalidFieldError(field, "a list of agreement id strings", value)
    return [parse_id(f"{field}[{i}]", item) for i, item in enumerate(value)]


def parse_share(field: str, value: Any) -> Decimal:
    if not isinstance(value, str) or not _SHARE.match(value):
        raise InvalidFieldError(
            field,
            'a share as a decimal string in ASCII digits with at most six places ("0.5")',
            value,
        )
    share = Decimal(value)
    if share <= 0:
        raise InvalidFieldError(field, "a share greater than 0", value)
    return share


def check_shares_sum(field: str, shares: list[Decimal]) -> None:
    total = sum(shares, Decimal(0))
    if total != ONE:
        raise InvalidFieldError(field, "shares summing to exactly 1", f"shares summing to {total}")


def _only_keys(where: str, item: dict[str, Any], keys: frozenset[str], shape: str) -> None:
    """A share is a fixed structure: a key it does not have is refused, so nothing unchecked
    (and no text the views cannot read) hides inside it in an immutable ledger."""
    extra = sorted(set(item) - keys)
    if extra:
        raise InvalidFieldError(where, f"an object {shape} (no other keys)", f"keys {extra}")


_COMMISSIONER_SHARE_KEYS = frozenset({"commissioner_id", "share"})
_PROVIDER_SHARE_KEYS = frozenset({"provider_id", "role", "share"})


def parse_commissioner_shares(field: str, value: Any) -> list[dict[str, str]]:
    """`[{commissioner_id, share}]`, shares positive and summing to exactly 1."""
    if not isinstance(value, list) or not value:
        raise InvalidFieldError(field, "a non-empty list of {commissioner_id, share}", value)
    out: list[dict[str, str]] = []
    shares: list[Decimal] = []
    for i, item in enumerate(value):
        where = f"{field}[{i}]"
        if not isinstance(item, dict):
            raise InvalidFieldError(where, "an object {commissioner_id, share}", item)
        _only_keys(where, item, _COMMISSIONER_SHARE_KEYS, "{commissioner_id, share}")
        cid = parse_id(f"{where}.commissioner_id", item.get("commissioner_id"))
        if "share" not in item:
            raise InvalidFieldError(f"{where}.share", "a share", missing=True)
        shares.append(parse_share(f"{where}.share", item["share"]))
        out.append({**item, "commissioner_id": cid})
    ids = [o["commissioner_id"] for o in out]
    if len(set(ids)) != len(ids):
        raise InvalidFieldError(field, "each commissioner listed once", ids)
    check_shares_sum(field, shares)
    return out


def parse_provider_shares(field: str, value: Any) -> list[dict[str, str]]:
    """`[{provider_id, role, share}]`: subcontractors carry no share; the others sum to 1."""
    if not isinstance(value, list) or not value:
        raise InvalidFieldError(field, "a non-empty list of {provider_id, role, share}", value)
    out: list[dict[str, str]] = []
    shares: list[Decimal] = []
    roles: list[str] = []
    for i, item in enumerate(value):
        where = f"{field}[{i}]"
        if not isinstance(item, dict):
            raise InvalidFieldError(where, "an object {provider_id, role, share}", item)
        _only_keys(where, item, _PROVIDER_SHARE_KEYS, "{provider_id, role, share}")
        pid = parse_id(f"{where}.provider_id", item.get("provider_id"))
        role = parse_choice(f"{where}.role", item.get("role"), PROVIDER_ROLES)
        roles.append(role)
        if role == "subcontractor":
            if item.get("share") is not None:
                raise InvalidFieldError(
                    f"{where}.share", "no share for a subcontractor", item["share"]
                )
        else:
            if "share" not in item:
                raise InvalidFieldError(f"{where}.share", "a share", missing=True)
            shares.append(parse_share(f"{where}.share", item["share"]))
        out.append({**item, "provider_id": pid, "role": role})
    ids = [o["provider_id"] for o in out]
    if len(set(ids)) != len(ids):
        raise InvalidFieldError(field, "each provider listed once", ids)
    if not shares:
        raise InvalidFieldError(field, "at least one provider who is not a subcontractor", value)
    if roles.count("sole") and len(roles) - roles.count("subcontractor") != 1:
        raise InvalidFieldError(
            field, "a sole provider to be the only provider with a share", roles
        )
    if roles.count("lead") > 1:
        raise InvalidFieldError(field, "at most one lead provider", roles)
    if "subcontractor" in roles and "lead" not in roles:
        raise InvalidFieldError(field, "a lead provider when subcontractors are listed", roles)
    check_shares_sum(field, shares)
    return out


def parse_successor_shares(field: str, value: Any) -> list[dict[str, str]]:
    return parse_commissioner_shares(field, value)


def parse_object(field: str, value: Any) -> dict[str, Any]:
    """A Corrected's object of field values: each value is checked by the corrected event's
    own field types when the correction is recorded (`domain.timeline.corrected_event`)."""
    if not isinstance(value, dict) or not value:
        raise InvalidFieldError(field, "a non-empty object of corrected field values", value)
    return dict(value)


# -- lenient reading of what a store already holds ----------------------------------------------
# A ledger recorded before a kind's checks applied may hold a value they refuse. Events are
# immutable, so such a value is read, never rewritten: as the canonical value it means when
# that is clear (an ISO week date as its day, a year beyond the range as the range's end,
# non-ASCII digits as their digits, a control character as U+FFFD), else as no value (None).

REPLACEMENT = "\ufffd"
_ANY_DIGIT = re.compile(r"\d")


def _canonical_day(value: str) -> bool:
    """DATE_PATTERN by string methods (the read of every stored event's dates)."""
    return len(value) == 10 and value.isascii() and value[4] == "-" and value[7] == "-"


def _canonical_share(value: Any) -> bool:
    """SHARE_PATTERN by string methods."""
    if type(value) is not str or not value.isascii():
        return False
    whole, dot, places = value.partition(".")
    return (
        whole.isdigit() and len(whole) <= 6 and (not dot or (places.isdigit() and len(places) <= 6))
    )


def _ascii_digits(text: str) -> str:
    return _ANY_DIGIT.sub(lambda m: str(unicodedata.digit(m.group(), 0)), text)


def read_date(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    if FIRST_DAY <= value <= LAST_DAY and _canonical_day(value):
        return value  # stored by a ledger that checked it (fromisoformat) or by this one
    try:
        day = dt.date.fromisoformat(_ascii_digits(value.strip()))
    except ValueError:
        return None
    return min(max(day.isoformat(), FIRST_DAY), LAST_DAY)


def _read_decimal(value: Any) -> Decimal | None:
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    try:
        number = Decimal(_ascii_digits(str(value).strip()))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() and number >= 0 else None


def read_money(value: Any) -> str | None:
    if type(value) is str and value.isascii():
        whole, _, cents = value.partition(".")
        if whole.isdigit() and len(whole) <= MONEY_DIGITS and len(cents) == 2 and cents.isdigit():
            return value  # as stored by a ledger that checked it (MONEY_PATTERN)
    number = _read_decimal(value)
    if number is None or number >= Decimal(10) ** MONEY_DIGITS:
        return None
    return f"{number.quantize(_TWO_PLACES):.2f}"


def read_share(value: Any) -> str | None:
    if _canonical_share(value):
        return str(value)
    number = _read_decimal(value)
    if number is None or number == 0 or number > ONE:
        return None
    return format(number.quantize(Decimal("0.000001")).normalize(), "f")


def _read_text(value: Any, forbidden: re.Pattern[str]) -> str | None:
    if type(value) is str and value.isascii() and value.isprintable():
        return value
    if isinstance(value, bool | int | float):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = forbidden.sub(REPLACEMENT, value)
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def read_text(value: Any) -> str | None:
    return _read_text(value, _LINE_FORBIDDEN)


def read_notes(value: Any) -> str | None:
    if isinstance(value, str):
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _read_text(value, _NOTES_FORBIDDEN)


def read_slug(value: Any) -> str | None:
    return read_text(value)  # any text reads (the boundary checked the slug's form)


def read_bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def read_id_list(value: Any) -> list[str] | None:
    if not isinstance(value, list):
        return None
    if all(type(item) is str and item.isascii() and item.isprintable() for item in value):
        return value
    return [t for t in (read_text(item) for item in value) if t is not None]


def _canonical_entry(item: Any, ref: str) -> bool:
    if type(item) is not dict:
        return False
    ident, share = item.get(ref), item.get("share")
    return (
        type(ident) is str
        and ident.isascii()
        and ident.isprintable()
        and (share is None or _canonical_share(share))
    )


def _read_shares(value: Any, ref: str) -> list[dict[str, Any]] | None:
    if not isinstance(value, list):
        return None
    if all(_canonical_entry(item, ref) for item in value):
        return value  # the usual case: as stored
    out = []
    for item in value:
        if not isinstance(item, dict):
            continue
        entry = {**item, ref: read_text(item.get(ref))}
        if "share" in item:
            entry["share"] = None if item["share"] is None else read_share(item["share"])
        if "role" in item:
            entry["role"] = read_text(item["role"])
        out.append(entry)
    return out


def read_commissioner_shares(value: Any) -> list[dict[str, Any]] | None:
    return _read_shares(value, "commissioner_id")


def read_provider_shares(value: Any) -> list[dict[str, Any]] | None:
    return _read_shares(value, "provider_id")


def read_object(value: Any) -> dict[str, Any] | None:
    return dict(value) if isinstance(value, dict) else None


Parser = Callable[[str, Any], Any]
Reader = Callable[[Any], Any]


@dataclass(frozen=True)
class FieldType:
    """A kind of value: how the boundary checks it (`parse`: the canonical form, or an
    `InvalidFieldError` naming the field and what was expected), how a value a store already
    holds is read (`read`: canonical, or None; never an error) and, for text kinds, the
    pattern every canonical stored value matches (the frame checks stored values with it)."""

    kind: str
    parse: Parser
    read: Reader
    expected: str
    pattern: str | None = None

    def __call__(self, field: str, value: Any) -> Any:
        return self.parse(field, value)


def choice(choices: tuple[str, ...]) -> FieldType:
    """A closed vocabulary."""
    return FieldType(
        "choice",
        partial(parse_choice, choices=choices),
        lambda value: value if value in choices else read_text(value),
        "one of " + ", ".join(choices),
        "^(" + "|".join(re.escape(c) for c in choices) + ")$",
    )


TEXT = FieldType("text", parse_text, read_text, "a non-empty string")
IDENTIFIER = FieldType("identifier", parse_id, read_text, "a non-empty id string")
NOTES = FieldType("notes", parse_notes, read_notes, "a non-empty string")
DATE = FieldType(
    "date", parse_date, read_date, f"a date YYYY-MM-DD from {FIRST_DAY} to {LAST_DAY}", DATE_PATTERN
)
MONEY = FieldType(
    "money", parse_money, read_money, 'money as a string of pounds ("40000.00")', MONEY_PATTERN
)
SLUG = FieldType("slug", parse_slug, read_slug, "a lower-case slug", SLUG_PATTERN)
BOOLEAN = FieldType("boolean", parse_bool, read_bool, "true or false")
IDS = FieldType("ids", parse_id_list, read_id_list, "a non-empty list of id strings")
RELATED_IDS = FieldType("ids", parse_related_ids, read_id_list, "a list of agreement ids")
COMMISSIONER_SHARES = FieldType(
    "commissioner_shares",
    parse_commissioner_shares,
    read_commissioner_shares,
    "a list of {commissioner_id, share}",
    SHARE_PATTERN,
)
SUCCESSOR_SHARES = FieldType(
    "commissioner_shares",
    parse_successor_shares,
    read_commissioner_shares,
    "a list of {commissioner_id, share}",
    SHARE_PATTERN,
)
PROVIDER_SHARES = FieldType(
    "provider_shares",
    parse_provider_shares,
    read_provider_shares,
    "a list of {provider_id, role, share}",
    SHARE_PATTERN,
)
OBJECT = FieldType("object", parse_object, read_object, "an object of corrected field values")


@dataclass(frozen=True, order=True)
class FinancialYear:
    """April 1 to March 31, labelled `2014/15`."""

    start_year: int

    @classmethod
    def containing(cls, day: dt.date) -> FinancialYear:
        return cls(day.year if day.month >= 4 else day.year - 1)

    @classmethod
    def parse(cls, label: str) -> FinancialYear:
        m = re.fullmatch(r"(\d{4})/(\d{2})", label)
        if not m or (int(m.group(1)) + 1) % 100 != int(m.group(2)):
            raise InvalidFieldError("year", "a financial year such as 2014/15", label)
        return cls(int(m.group(1)))

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.start_year, 4, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.start_year + 1, 3, 31)

    @property
    def label(self) -> str:
        return f"{self.start_year}/{(self.start_year + 1) % 100:02d}"

    def __str__(self) -> str:
        return self.label


def next_day(iso: str) -> str:
    return (dt.date.fromisoformat(iso) + dt.timedelta(days=1)).isoformat()


def equal_shares(n: int) -> list[str]:
    """An equal split into n shares of six places, the remainder to the first (FORMAT.md)."""
    base = (Decimal(1) / n).quantize(Decimal("0.000001"), rounding="ROUND_DOWN")
    first = Decimal(1) - base * (n - 1)
    return [_fmt_share(first)] + [_fmt_share(base)] * (n - 1)


def _fmt_share(d: Decimal) -> str:
    s = format(d.normalize(), "f")
    return s


def to_decimal(value: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:  # pragma: no cover - values are parsed before
        raise InvalidFieldError("annual_value", "a decimal", value) from None
