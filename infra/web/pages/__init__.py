"""The site's pages, one module per page or group of pages; each route answers its page as
HTML and, at the same address with `.csv`, its table's rows (`?table=` names one of several).

`respond` is what every page does once its views are computed: the CSV asked for, or the page
with its tables sorted and cut to the rows shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl
from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from infra.web.app import Site
from infra.web.params import When, page_number
from infra.web.tables import csv_bytes, pick, table


@dataclass
class View:
    """A table of a page: its name (for `?table=` and `?sort=name.column`), its heading, its
    rows, and whether it is a section of a report (written to CSV as the CLI writes those)."""

    name: str
    title: str
    rows: pl.DataFrame
    section: bool = False
    note: str = ""


def site_of(request: Request) -> Site:
    site: Site = request.app.state.site
    return site


def when_of(request: Request) -> When:
    q = request.query_params
    return When.parse(q.get("as_of"), q.get("known_at"))


def wants_csv(request: Request) -> bool:
    return request.url.path.endswith(".csv")


def respond(
    request: Request,
    when: When,
    template: str,
    title: str,
    views: list[View],
    **context: Any,
) -> Response:
    """The page, or with `.csv` the rows of one of its tables."""
    q = dict(request.query_params)
    single = len(views) == 1
    if wants_csv(request):
        name = pick([v.name for v in views], q.get("table"))
        view = next(v for v in views if v.name == name)
        body = csv_bytes(view.rows, q, name=name, single=single, section=view.section)
        filename = request.url.path.rsplit("/", 1)[-1].removesuffix(".csv")
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}-{name}.csv"'},
        )
    path = request.url.path
    page = page_number(_int(q.get("page")))
    tables = {
        v.name: table(
            v.rows,
            name=v.name,
            title=v.title,
            when=when,
            path=path,
            params=q,
            single=single,
            page=page if single or q.get("table") == v.name else 1,
            note=v.note,
        )  # fmt: skip
        for v in views
    }
    response: HTMLResponse = site_of(request).page(
        request, template, when, title, tables=tables, **context
    )
    return response


def _int(value: str | None) -> int | None:
    from infra.web.params import BadParam

    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise BadParam("page", "a page number, 1 or more", value) from None


def text_param(request: Request, name: str) -> str | None:
    """A text parameter, None when absent or empty (an empty form field)."""
    value = request.query_params.get(name)
    return value if value else None
