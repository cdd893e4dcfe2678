"""Whole-ledger lists: the agreements (with the CLI's filters), the red flags and the expiry
pipeline, each row linking to its agreement."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.register import STATUSES
from infra.web import views
from infra.web.pages import View, respond, site_of, text_param, when_of
from infra.web.params import months as months_param

router = APIRouter(include_in_schema=False)
FILTERS = ("lead", "commissioner", "category")


@router.get("/agreements")
@router.get("/agreements.csv")
def agreements(request: Request) -> Response:
    when = when_of(request)
    chosen = {k: text_param(request, k) for k in ("commissioner", "provider", "category", "status")}
    rows = views.agreements(site_of(request).frames, when, **chosen)
    return respond(
        request, when, "list.html", "Agreements", [View("agreements", "Agreements", rows)],
        filters=chosen, statuses=[*STATUSES, "open", "ended"],
        intro="Every agreement awarded by the date (ended ones included), as the ledger knew "
        "it then.",
    )  # fmt: skip


@router.get("/flags")
@router.get("/flags.csv")
def flags(request: Request) -> Response:
    when = when_of(request)
    chosen = {k: text_param(request, k) for k in FILTERS}
    rows = views.continuity_view(site_of(request).frames, when, "flags", **chosen)
    return respond(
        request, when, "list.html", "Red flags", [View("flags", "Red flags", rows)],
        filters=chosen,
        intro="One row per agreement and flag, with the reason in words.",
    )  # fmt: skip


@router.get("/pipeline")
@router.get("/pipeline.csv")
def pipeline(request: Request, months: int | None = None) -> Response:
    when = when_of(request)
    ahead = months_param(months)
    chosen = {k: text_param(request, k) for k in FILTERS}
    rows = views.continuity_view(site_of(request).frames, when, "pipeline", months=ahead, **chosen)
    return respond(
        request, when, "list.html", "Expiry pipeline",
        [View("pipeline", f"Ending within {ahead} months with no decision recorded", rows)],
        filters={**chosen, "months": str(ahead)},
        intro="Agreements ending soon with no decision recorded since their last term.",
    )  # fmt: skip
