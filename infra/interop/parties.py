"""Suppliers, recipients and buyers of a source matched to the ledger's providers and commissioners.

A party is matched by identifier first (org-id style `GB-COH-01234567`, `GB-CHC-1000001`,
`GB-NHS-RAT`; a provider's `charity_number`, `company_number` and `ods_code` count; an empty
identifier counts as none), compared ignoring case, spaces and a Companies House number's
leading zeros (registries' numbers do not differ by those: `sc012345` is `SC012345`), but stored
exactly as the source published it (outer spaces trimmed); else by normalised name (case,
punctuation, `&`/`and`, a leading `the` and trailing legal forms such as `Ltd` ignored). A name
shared by two different ledger organisations, or one whose holder has a different identifier of
the same scheme, does not match.
Anything unmatched is created, once, registered on the earliest day the import uses it, with an
id derived from its identifier (or its name), so a re-import finds it again.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from domain.catalogue import LedgerEvent, parse_event
from domain.errors import LedgerError
from domain.ledger import Ledger
from infra.interop.party_events import party_events
from infra.interop.report import Origin, PartyCounts

_LEGAL_FORMS = {"ltd", "limited", "plc", "llp", "cic", "cio", "inc", "incorporated"}
_SCHEME_FIELDS = {"GB-CHC": "charity_number", "GB-COH": "company_number", "GB-NHS": "ods_code"}


def normalise_name(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()
    words = re.sub(r"[^a-z0-9]+", " ", text.replace("&", " and ")).split()
    if words and words[0] == "the":
        words = words[1:]
    while len(words) > 1 and words[-1] in _LEGAL_FORMS:
        words = words[:-1]
    return " ".join(words)


def identifier_key(scheme: Any, ident: Any) -> str | None:
    """`SCHEME-ID` as the source spelled it (outer spaces trimmed), or None for an empty
    identifier. Compared through `match_key`."""
    if ident is None or isinstance(ident, bool):
        return None
    value = str(ident).strip()
    if not value:
        return None
    code = str(scheme or "").strip() or "X-UNKNOWN"
    return f"{code}-{value}"


def split_identifier(identifier: str) -> tuple[str, str]:
    """(scheme, id) of `SCHEME-ID`: org-id schemes are two parts (`GB-COH`, `X-UNKNOWN`)."""
    parts = identifier.split("-", 2)
    if len(parts) == 3:
        return f"{parts[0]}-{parts[1]}", parts[2]
    return "", identifier


def match_key(identifier: str) -> str:
    """What identifies an organisation in `SCHEME-ID`, whatever its spelling: case and spaces
    ignored, a Companies House number's leading zeros added."""
    scheme, value = split_identifier(re.sub(r"\s+", "", identifier).upper())
    if scheme == "GB-COH" and value.isdigit():
        value = value.zfill(8)
    return f"{scheme}-{value}" if scheme else value


def slug(text: str, limit: int = 80) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    out = re.sub(r"[^a-z0-9]+", "-", ascii_text.casefold()).strip("-")
    return out[:limit].rstrip("-") or "unnamed"


@dataclass(frozen=True)
class Party:
    """A party as a source states it."""

    name: str
    identifiers: tuple[str, ...] = ()  # identifier keys, the main one first
    ledger_id: str | None = None  # the ledger's own id, when the source was written by cledger


@dataclass
class _Index:
    names: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    identifiers: dict[str, str] = field(default_factory=dict)
    schemes: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    refs: set[str] = field(default_factory=set)

    def add(self, ref: str, names: Iterable[str], identifiers: Iterable[str]) -> None:
        self.refs.add(ref)
        for name in names:
            if normalise_name(name):
                self.names[normalise_name(name)].add(ref)
        for identifier in identifiers:
            key = match_key(identifier)
            self.identifiers.setdefault(key, ref)
            self.schemes[ref][split_identifier(key)[0]] = key

    def by_name(self, party: Party) -> str | None:
        found = self.names.get(normalise_name(party.name), set())
        if len(found) != 1:
            return None
        ref = next(iter(found))
        held = self.schemes.get(ref, {})
        for identifier in party.identifiers:
            key = match_key(identifier)
            scheme = split_identifier(key)[0]
            if scheme in held and held[scheme] != key:
                return None  # same name, different organisation
        return ref


@dataclass
class _New:
    ref: str
    party: Party
    first_day: str
    origin: Origin
    source: str
    attributes: dict[str, Any]


class PartyBook:
    """Resolves parties to ledger ids for one import, and registers the ones it creates."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        fmt: str,
        providers: PartyCounts,
        commissioners: PartyCounts,
    ):
        self.fmt = fmt
        self.counts = {"provider": providers, "commissioner": commissioners}
        self.index = {"provider": _Index(), "commissioner": _Index()}
        self.new: dict[tuple[str, str], _New] = {}
        self.seen: set[tuple[str, str]] = set()
        self._load(ledger)

    def _load(self, ledger: Ledger) -> None:
        """Index every name and identifier the ledger's organisations have carried, reading
        their events only (not the agreements'), in recorded order."""
        names: dict[tuple[str, str], list[str]] = defaultdict(list)
        keys: dict[tuple[str, str], list[str]] = defaultdict(list)
        for e in party_events(ledger):
            kind = e.spec.subject
            if kind not in ("provider", "commissioner") or "name" not in e.data:
                continue
            ref = (kind, e.data[f"{kind}_id"])
            names[ref].append(e.data["name"])
            for scheme, field_name in _SCHEME_FIELDS.items():
                key = identifier_key(scheme, e.data.get(field_name))
                if key:
                    keys[ref].append(key)
            keys[ref].extend(str(k) for k in e.data.get("org_identifiers") or ())
        for (subject, party_id), found in names.items():
            self.index[subject].add(party_id, found, keys[(subject, party_id)])

    def resolve(
        self,
        subject: str,
        party: Party,
        day: str,
        origin: Origin,
        source: str,
        **attributes: Any,
    ) -> str:
        """The ledger id of `party` as a provider or commissioner (`subject`), used on `day` by
        the record at `origin` (its `source` note goes on a registration)."""
        kind = subject
        index, counts = self.index[kind], self.counts[kind]
        how, ref = self._match(index, party)
        if ref is None:
            ref = self._new_ref(index, party)
            index.add(ref, [party.name], party.identifiers)
            self.new[(kind, ref)] = _New(ref, party, day, origin, source, attributes)
            counts.created += 1
            counts.created_ids.append(ref)
        elif (kind, ref) in self.new:
            pending = self.new[(kind, ref)]
            if day < pending.first_day:
                pending.first_day = day
        if (kind, ref) not in self.seen:
            self.seen.add((kind, ref))
            if how == "identifier":
                counts.by_identifier += 1
            elif how == "name":
                counts.by_name += 1
        return ref

    def _match(self, index: _Index, party: Party) -> tuple[str, str | None]:
        if party.ledger_id and party.ledger_id in index.refs:
            return "identifier", party.ledger_id
        for identifier in party.identifiers:
            key = match_key(identifier)
            if key in index.identifiers:
                return "identifier", index.identifiers[key]
        ref = index.by_name(party)
        if ref is not None:
            return "name", ref
        return "created", None

    @staticmethod
    def _new_ref(index: _Index, party: Party) -> str:
        if party.ledger_id:
            return party.ledger_id
        base = (
            slug(match_key(party.identifiers[0]))
            if party.identifiers
            else "name-" + slug(normalise_name(party.name) or party.name)
        )
        ref, n = base, 1
        while ref in index.refs:
            n += 1
            ref = f"{base}-{n}"
        return ref

    def registrations(self) -> list[tuple[LedgerEvent, Origin]]:
        """The created commissioners and providers, each registered on its first day of use."""
        out: list[tuple[LedgerEvent, Origin]] = []
        for (kind, ref), new in sorted(self.new.items()):
            record: dict[str, Any] = {
                "event_id": f"{self.fmt}:{kind}:{ref}",
                "type": "CommissionerEstablished"
                if kind == "commissioner"
                else "ProviderRegistered",
                "effective_on": new.first_day,
                "recorded_by": f"import:{self.fmt}",
                "source": new.source,
                f"{kind}_id": ref,
                "name": new.party.name,
                **new.attributes,
            }
            if kind == "provider":
                for scheme, field_name in _SCHEME_FIELDS.items():
                    for identifier in new.party.identifiers:
                        published_scheme, value = split_identifier(identifier)
                        if published_scheme.upper() == scheme and field_name not in record:
                            record[field_name] = value
            if new.party.identifiers:
                record["org_identifiers"] = list(new.party.identifiers)
            try:
                event = parse_event(record)
            except LedgerError as err:  # a name or identifier the format refuses
                raise new.origin.refuse(
                    f"its {kind} '{new.party.name[:80]}' maps to a {record['type']} event that "
                    f"is invalid: {err}"
                ) from None
            out.append((event, new.origin))
        return out
