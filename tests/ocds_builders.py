"""Small builders of OCDS releases and packages, so each test states only what matters to it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson

COUNCIL = {
    "id": "GB-LAC-E09000008",
    "name": "London Borough of Croydon",
    "identifier": {"scheme": "GB-LAC", "id": "E09000008"},
    "roles": ["buyer"],
}
MIND = {
    "id": "GB-CHC-1000001",
    "name": "Mind in Croydon",
    "identifier": {"scheme": "GB-CHC", "id": "1000001"},
    "roles": ["supplier"],
}
HOUSING = {
    "id": "housing-ltd",
    "name": "Croydon Housing Support Ltd",
    "identifier": {"scheme": "GB-COH", "id": ""},  # an empty identifier counts as none
    "roles": ["supplier"],
}


def ref(party: dict[str, Any]) -> dict[str, Any]:
    return {"id": party["id"], "name": party["name"]}


def award_release(
    ocid: str = "ocds-b5fd17-0001",
    rid: str = "r1",
    date: str = "2016-03-01T09:00:00Z",
    *,
    suppliers: list[dict[str, Any]] | None = None,
    buyer: dict[str, Any] | None = None,
    amount: Any = 730000,
    currency: Any = "GBP",
    start: str | None = "2016-04-01T00:00:00Z",
    end: str | None = "2018-03-31T23:59:59Z",
    method: str | None = "open",
    rationale: str | None = None,
    details: str | None = None,
    cpv: str | None = "85312300-2",
    **extra: Any,
) -> dict[str, Any]:
    suppliers = suppliers if suppliers is not None else [MIND]
    buyer = buyer or COUNCIL
    tender: dict[str, Any] = {"id": f"{ocid}-tender", "title": "Mental health advocacy"}
    if method:
        tender["procurementMethod"] = method
    if rationale:
        tender["procurementMethodRationale"] = rationale
    if details:
        tender["procurementMethodDetails"] = details
    if cpv:
        tender["classification"] = {"scheme": "CPV", "id": cpv}
    period = {k: v for k, v in (("startDate", start), ("endDate", end)) if v}
    release: dict[str, Any] = {
        "ocid": ocid,
        "id": rid,
        "date": date,
        "tag": ["award"],
        "initiationType": "tender",
        "parties": [copy.deepcopy(buyer), *copy.deepcopy(suppliers)],
        "buyer": ref(buyer),
        "tender": tender,
        "awards": [
            {
                "id": "1",
                "date": date,
                "status": "active",
                "value": {"amount": amount, "currency": currency},
                "suppliers": [ref(s) for s in suppliers],
                "contractPeriod": period,
            }
        ],
    }
    release.update(extra)
    return release


def amendment_release(
    ocid: str = "ocds-b5fd17-0001",
    rid: str = "r2",
    date: str = "2018-01-15T10:00:00Z",
    *,
    end: str = "2019-03-31T23:59:59Z",
    amount: Any = 1095000,
    rationale: str = "extended while the service is re-tendered",
    tag: str = "contractAmendment",
) -> dict[str, Any]:
    return {
        "ocid": ocid,
        "id": rid,
        "date": date,
        "tag": [tag],
        "initiationType": "tender",
        "contracts": [
            {
                "id": "c1",
                "awardID": "1",
                "period": {"startDate": "2016-04-01T00:00:00Z", "endDate": end},
                "value": {"amount": amount, "currency": "GBP"},
                "amendments": [{"id": f"a-{rid}", "date": date, "rationale": rationale}],
            }
        ],
    }


def termination_release(
    ocid: str = "ocds-b5fd17-0001", rid: str = "r3", date: str = "2018-09-30T12:00:00Z"
) -> dict[str, Any]:
    return {
        "ocid": ocid,
        "id": rid,
        "date": date,
        "tag": ["contractTermination"],
        "initiationType": "tender",
        "contracts": [{"id": "c1", "awardID": "1", "status": "terminated"}],
    }


def package(releases: list[dict[str, Any]], uri: str = "https://example.org/ocds/p1.json") -> dict:
    return {
        "uri": uri,
        "version": "1.1",
        "publishedDate": "2020-01-01T00:00:00Z",
        "publisher": {"name": "Test publisher"},
        "releases": releases,
    }


def write_json(path: Path, value: Any) -> Path:
    path.write_bytes(orjson.dumps(value, option=orjson.OPT_INDENT_2))
    return path


def write_lines(path: Path, values: list[Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(v) + b"\n" for v in values))
    return path
