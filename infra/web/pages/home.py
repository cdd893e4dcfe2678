"""The home page (the ledger at a glance, and a search box) and the search's results."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from infra.web import views
from infra.web.pages import View, respond, site_of, text_param, when_of

router = APIRouter(include_in_schema=False)

# where a thing found is shown
PAGE_OF = {
    "agreement": "/agreements/{}",
    "provider": "/providers/{}",
    "commissioner": "/commissioners/{}",
    "lead": "/brief?lead={}",
    "category": "/market?category={}",
}


@router.get("/")
def home(request: Request) -> Response:
    when = when_of(request)
    glance = views.glance(site_of(request).frames, when)
    return site_of(request).page(
        request, "home.html", when, "The ledger at a glance", glance=glance
    )


@router.get("/search")
@router.get("/search.csv")
def search(request: Request) -> Response:
    """Agreements (by id or title), providers, commissioners, leads and categories whose id or
    name holds every word of `q` (`cledger find`)."""
    when = when_of(request)
    text = text_param(request, "q") or ""
    found = views.find(site_of(request).frames, when, text, limit=0)
    results = [
        (
            row["kind"],
            row["label"],
            row["id"],
            row["matched_on"],
            _href(when, row["kind"], row["id"]),
        )
        for row in found.head(200).iter_rows(named=True)
    ]
    return respond(
        request, when, "search.html", f"Search: {text}" if text else "Search",
        [View("found", "Found", found)], q=text, results=results,
    )  # fmt: skip


def _href(when: views.When, kind: str, ident: str) -> str:
    from urllib.parse import quote

    pattern = PAGE_OF[kind]
    if "?" in pattern:
        path, _, query = pattern.partition("?")
        return when.link(path, **{query.split("=")[0]: ident})
    return when.link(pattern.format(quote(ident, safe="")))
