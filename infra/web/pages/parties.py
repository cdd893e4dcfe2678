"""Providers, commissioners and leads: the lists (`cledger providers`, `commissioners`,
`leads`), and a page for each provider and commissioner with what it holds and held."""

from __future__ import annotations

import polars as pl
from fastapi import APIRouter, Request
from fastapi.responses import Response

from infra.web import views
from infra.web.pages import View, respond, site_of, text_param, when_of
from infra.web.params import NotFound

router = APIRouter(include_in_schema=False)
TITLES = {
    "providers": "Providers",
    "commissioners": "Commissioners",
    "leads": "Commissioning leads",
    "categories": "Service categories",
}
KEY = {"providers": "provider_id", "commissioners": "commissioner_id"}


def _listing(kind: str):  # type: ignore[no-untyped-def]
    def listing(request: Request) -> Response:
        when = when_of(request)
        rows = views.names(site_of(request).frames, when, kind)
        return respond(request, when, "list.html", TITLES[kind], [View(kind, TITLES[kind], rows)],
                       filters={})  # fmt: skip

    return listing


for _kind in TITLES:
    router.add_api_route(f"/{_kind}", _listing(_kind), methods=["GET"])
    router.add_api_route(f"/{_kind}.csv", _listing(_kind), methods=["GET"])


def _party(kind: str):  # type: ignore[no-untyped-def]
    single = kind[:-1]

    def party(request: Request, ident: str) -> Response:
        when = when_of(request)
        frames = site_of(request).frames
        listed = views.names(frames, when, kind)
        me = listed.filter(pl.col(KEY[kind]) == ident)
        if me.is_empty():
            views.require(frames.snapshot(when.as_of, when.known_at), **{single: ident})
            raise NotFound(f"no {single} '{ident}'")
        rows = views.agreements(frames, when, **{single: ident})
        held = rows.filter(pl.col("status").is_in(["active", "not_started", "lapsed"]))
        before = rows.filter(~pl.col("status").is_in(["active", "not_started", "lapsed"]))
        facts = me.row(0, named=True)
        return respond(
            request, when, "party.html", f"{facts.get('name') or ident}",
            [View("holds", "What it holds (in force, not started, or lapsed)", held),
             View("held", "What it held (ended or rescinded)", before)],
            kind=single, ident=ident, facts=facts,
        )  # fmt: skip

    return party


for _kind in KEY:
    router.add_api_route(f"/{_kind}/{{ident}}.csv", _party(_kind), methods=["GET"])
    router.add_api_route(f"/{_kind}/{{ident}}", _party(_kind), methods=["GET"])

__all__ = ["router", "text_param"]
