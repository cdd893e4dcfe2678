"""The handover brief of a lead or a commissioner: `cledger brief`, printable."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from infra.web import views
from infra.web.pages import View, respond, site_of, text_param, when_of
from infra.web.params import months as months_param

router = APIRouter(include_in_schema=False)


@router.get("/brief")
@router.get("/brief.csv")
def brief(request: Request, months: int | None = None) -> Response:
    from projections.briefing import SECTIONS

    when = when_of(request)
    lead, commissioner = text_param(request, "lead"), text_param(request, "commissioner")
    ahead = months_param(months)
    report = views.brief(
        site_of(request).frames, when, lead=lead, commissioner=commissioner, months=ahead
    )
    titles = dict(SECTIONS, due=f"Decisions due in the next {ahead} months")
    sections = [View(name, title, report[name], section=True) for name, title in titles.items()]
    who = lead or commissioner
    return respond(
        request, when, "brief.html", f"Brief for {who}", sections,
        scope=report["scope"], who=who, lead=lead, commissioner=commissioner, months=ahead,
    )  # fmt: skip
