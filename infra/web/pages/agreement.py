"""One agreement: its timeline (corrections beside what they correct), terms, lineage before
and after as links, flags, and its value over time (`cledger audit` and `cledger history`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from infra.web import views
from infra.web.charts import value_chart
from infra.web.pages import View, respond, site_of, when_of

router = APIRouter(include_in_schema=False)

SECTIONS = {
    "history": "Timeline as recorded (each correction or rescission under what it corrects)",
    "terms": "Rollovers and extensions, with the days each added",
    "lineage": "Lineage: the agreements before and after",
    "links": "Links between the lineage's agreements",
    "flags": "Red flags",
    "continuity": "Continuity",
}


@router.get("/agreements/{agreement_id}")
@router.get("/agreements/{agreement_id}.csv")  # applied first: matched before the page
def agreement(request: Request, agreement_id: str) -> Response:
    when = when_of(request)
    frames = site_of(request).frames
    report = views.audit(frames, when, agreement_id)
    history = report["history"]
    classes = []
    for row in history.iter_rows(named=True):
        kind = "amendment" if row.get("amends") else ""
        kind += " amended" if row.get("amended") else ""
        classes.append(kind.strip())
    tables = [View(name, title, report[name], section=True) for name, title in SECTIONS.items()]
    terms = report["agreement"].row(0, named=True) if report["agreement"].height else None
    chart = None if request.url.path.endswith(".csv") else value_chart(frames, when, agreement_id)
    return respond(
        request, when, "agreement.html", f"Agreement {agreement_id}", tables,
        agreement_id=agreement_id, terms=terms, history_classes=classes, value_svg=chart,
    )  # fmt: skip
