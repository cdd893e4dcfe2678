"""Value objects and their parsers: money, shares, dates, financial years, closed vocabularies.

Parsers take JSON-ish input and return canonical primitives (strings), so that what is stored is
exactly what is exported, and raise `InvalidFieldError` naming the field and what was expected.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
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

_SLUG = re.compile(r"^[a-z0-9]+(?:[_-][a-z0-9]+)*$")
_MONEY = re.compile(r"^\d+(\.\d{1,2})?$")
_SHARE = re.compile(r"^\d+(\.\d{1,6})?$")
ONE = Decimal(1)


def parse_text(field: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidFieldError(field, "a non-empty string", value)
    return value


def parse_date(field: str, value: Any) -> str:
    """ISO date `YYYY-MM-DD`; kept as the string (ISO dates sort as they compare)."""
    if not isinstance(value, str) or len(value) != 10:
        raise InvalidFieldError(field, "a date YYYY-MM-DD", value)
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidFieldError(field, "a date YYYY-MM-DD", value) from None
    return value


def parse_money(field: str, value: Any) -> str:
    """Pounds per annum: a string, non-negative, at most pence. Stored with two decimals."""
    if not isinstance(value, str) or not _MONEY.match(value):
        raise InvalidFieldError(
            field,
            'money as a string of pounds, non-negative, at most two decimals ("332000.00")',
            value,
        )
    return f"{Decimal(value):.2f}"


def parse_choice(field: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise InvalidFieldError(field, "one of " + ", ".join(choices), value)
    return str(value)


def parse_slug(field: str, value: Any) -> str:
    if not isinstance(value, str) or not _SLUG.match(value):
        raise InvalidFieldError(field, "a lower-case slug such as 'supported_housing'", value)
    return value


def parse_bool(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidFieldError(field, "true or false", value)
    return value


def parse_id_list(field: str, value: Any) -> list[str]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and v.strip() for v in value)
    ):
        raise InvalidFieldError(field, "a non-empty list of id strings", value)
    return list(value)


def parse_related_ids(field: str, value: Any) -> list[str]:
    """A possibly empty list of ids (a subcontract change may relate to no other agreement)."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise InvalidFieldError(field, "a list of agreement id strings", value)
    return list(value)


def parse_share(field: str, value: Any) -> Decimal:
    if not isinstance(value, str) or not _SHARE.match(value):
        raise InvalidFieldError(
            field, 'a share as a decimal string with at most six places ("0.5")', value
        )
    share = Decimal(value)
    if share <= 0:
        raise InvalidFieldError(field, "a share greater than 0", value)
    return share


def check_shares_sum(field: str, shares: list[Decimal]) -> None:
    total = sum(shares, Decimal(0))
    if total != ONE:
        raise InvalidFieldError(field, "shares summing to exactly 1", f"shares summing to {total}")


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
        cid = parse_text(f"{where}.commissioner_id", item.get("commissioner_id"))
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
        pid = parse_text(f"{where}.provider_id", item.get("provider_id"))
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
