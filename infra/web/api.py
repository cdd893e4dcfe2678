"""The JSON API: the CLI's views under `/api/`, with the keys `cledger ... --format json` writes.

A view of one table is the CLI's list of flat objects (`infra.render.tables.write_json`: money
as two-decimal strings, dates ISO); a report (the brief, an agreement's audit) its nested JSON
(`projections.report.json_ready`). Every route takes `as_of` and `known_at`; a bad parameter is
a 400 and an unknown name a 404, each `{"detail": "one line"}`.
"""

from __future__ import annotations

import io
from typing import Annotated, Any, Literal

import orjson
import polars as pl
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from infra.render.tables import write_json
from infra.web import views
from infra.web.pages import site_of
from infra.web.params import When
from infra.web.params import months as months_param

router = APIRouter(prefix="/api", tags=["views"])

AsOf = Annotated[str | None, Query(description="a date in the world, YYYY-MM-DD (default today)")]
KnownAt = Annotated[
    str | None,
    Query(description="what the ledger said at this time (ISO timestamp; no zone means UTC)"),
]
Name = Annotated[str | None, Query(description="an id the ledger holds")]
Months = Annotated[int | None, Query(description="how far ahead, in months (default 6)")]
Year = Annotated[str | None, Query(description="a financial year such as 2014/15")]
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": 'a bad parameter, in one line: {"detail": "..."}'},
    404: {"description": "a name the ledger does not hold, in one line"},
}


class JSON(Response):
    media_type = "application/json"


def frame_json(df: pl.DataFrame) -> Response:
    buffer = io.BytesIO()
    write_json(df, buffer, money=("annual_value_held",))  # as `cledger leads` etc. write it
    return JSON(buffer.getvalue())


def report_json(report: dict[str, Any]) -> Response:
    from projections.report import json_ready

    return JSON(orjson.dumps(json_ready(report)) + b"\n")


def _when(as_of: str | None, known_at: str | None) -> When:
    return When.parse(as_of, known_at)


@router.get("/agreements", responses=ERRORS)
def agreements(
    request: Request,
    as_of: AsOf = None,
    known_at: KnownAt = None,
    commissioner: Name = None,
    provider: Name = None,
    category: Name = None,
    status: Annotated[str | None, Query(description="a status, or 'open' or 'ended'")] = None,
) -> Response:
    """`cledger agreements --format json`."""
    rows = views.agreements(
        site_of(request).frames, _when(as_of, known_at), commissioner=commissioner,
        provider=provider, category=category, status=status,
    )  # fmt: skip
    return frame_json(rows)


@router.get("/agreements/{agreement_id}", responses=ERRORS)
def audit(
    request: Request, agreement_id: str, as_of: AsOf = None, known_at: KnownAt = None
) -> Response:
    """`cledger audit AGREEMENT --format json`."""
    return report_json(views.audit(site_of(request).frames, _when(as_of, known_at), agreement_id))


@router.get("/agreements/{agreement_id}/history", responses=ERRORS)
def history(request: Request, agreement_id: str) -> Response:
    """`cledger history AGREEMENT --format json`."""
    return frame_json(views.history(site_of(request).frames, agreement_id))


@router.get("/brief", responses=ERRORS)
def brief(
    request: Request,
    lead: Name = None,
    commissioner: Name = None,
    months: Months = None,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> Response:
    """`cledger brief --lead X | --commissioner Y --format json`."""
    report = views.brief(
        site_of(request).frames, _when(as_of, known_at), lead=lead, commissioner=commissioner,
        months=months_param(months),
    )  # fmt: skip
    return report_json(report)


def _continuity(view: str):  # type: ignore[no-untyped-def]
    def route(
        request: Request,
        agreement: Name = None,
        lead: Name = None,
        commissioner: Name = None,
        category: Name = None,
        months: Months = None,
        as_of: AsOf = None,
        known_at: KnownAt = None,
    ) -> Response:
        rows = views.continuity_view(
            site_of(request).frames, _when(as_of, known_at), view, months=months_param(months),
            agreement=agreement, lead=lead, commissioner=commissioner, category=category,
        )  # fmt: skip
        return frame_json(rows)

    route.__doc__ = f"`cledger {view} --format json` (`months`: the pipeline's horizon)."
    return route


for _view in ("continuity", "pipeline", "flags"):
    router.add_api_route(f"/{_view}", _continuity(_view), methods=["GET"], responses=ERRORS,
                         name=_view)  # fmt: skip


def _market(part: str):  # type: ignore[no-untyped-def]
    def route(
        request: Request,
        category: Name = None,
        commissioner: Name = None,
        year: Year = None,
        as_of: AsOf = None,
        known_at: KnownAt = None,
    ) -> Response:
        rows = views.market_view(
            site_of(request).frames, _when(as_of, known_at), part, category=category,
            commissioner=commissioner, year=year,
        )  # fmt: skip
        return frame_json(rows)

    command = part if part in ("market", "concentration") else f"diversity --part {part}"
    route.__doc__ = f"`cledger {command} --format json`."
    return route


for _part in views.MARKET_PARTS:
    router.add_api_route(f"/{_part}", _market(_part), methods=["GET"], responses=ERRORS,
                         name=_part)  # fmt: skip


def _names(kind: str):  # type: ignore[no-untyped-def]
    def route(request: Request, as_of: AsOf = None, known_at: KnownAt = None) -> Response:
        return frame_json(views.names(site_of(request).frames, _when(as_of, known_at), kind))

    route.__doc__ = f"`cledger {kind} --format json`."
    return route


for _kind in ("leads", "commissioners", "providers", "categories"):
    router.add_api_route(f"/{_kind}", _names(_kind), methods=["GET"], responses=ERRORS,
                         name=_kind)  # fmt: skip


@router.get("/find", responses=ERRORS)
def find(
    request: Request,
    q: Annotated[str, Query(description="words to look for (case and accents ignored)")],
    kind: Literal["commissioner", "provider", "lead", "category", "agreement"] | None = None,
    limit: Annotated[int, Query(ge=0, description="at most this many rows (0: all)")] = 50,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> Response:
    """`cledger find TEXT --format json`."""
    found = views.find(site_of(request).frames, _when(as_of, known_at), q, limit=0)
    if kind is not None:
        found = found.filter(pl.col("kind") == kind)
    return frame_json(found.head(limit) if limit else found)


@router.get("/stats", responses=ERRORS)
def stats(request: Request) -> Response:
    """`cledger stats --format json`."""
    return frame_json(views.stats(site_of(request).frames))


@router.get("/glance", responses=ERRORS)
def glance(request: Request, as_of: AsOf = None, known_at: KnownAt = None) -> Response:
    """The home page's figures: agreements open and ended, providers and commissioners
    holding agreements, spend in the financial year of the date, red flags, decisions due."""
    result = views.glance(site_of(request).frames, _when(as_of, known_at))
    return JSON(orjson.dumps(result) + b"\n")
