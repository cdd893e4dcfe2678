"""The market of a service category and a commissioner (either, both or neither): share over
time by provider, HHI and CR3 over time, the sector and size mix, entrants and exits
(`cledger market`, `concentration`, `diversity`), each with the CLI's chart."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from infra.web import views
from infra.web.charts import cr3_chart, market_chart
from infra.web.pages import View, respond, site_of, text_param, when_of

router = APIRouter(include_in_schema=False)


@router.get("/market")
@router.get("/market.csv")
def market(request: Request) -> Response:
    when = when_of(request)
    frames = site_of(request).frames
    category, commissioner = text_param(request, "category"), text_param(request, "commissioner")
    segment = {"category": category, "commissioner": commissioner}
    shares = views.market_view(frames, when, "market", **segment)
    conc = views.market_view(frames, when, "concentration", **segment)
    mix = views.market_view(frames, when, "mix", **segment)
    entry = views.market_view(frames, when, "entry-exit", **segment)
    csv = request.url.path.endswith(".csv")
    charts: dict[str, str | None] = {}
    if not csv:
        charts = {
            "shares": market_chart(frames, when, "market_chart", shares, **segment),
            "concentration": market_chart(frames, when, "concentration_chart", conc, **segment),
            "mix": market_chart(frames, when, "diversity_chart", mix, **segment),
        }
    tables = [
        View("shares", "Share of spend by provider, by financial year",
             views.one_segment(shares, category, commissioner)),
        View("concentration", "Concentration: HHI, CR3 and effective number of providers",
             views.one_segment(conc, category, commissioner)),
        View("mix", "Spend by provider sector and size band",
             views.one_segment(mix, category, commissioner)),
        View("entry_exit", "Providers entering and leaving",
             views.one_segment(entry, category, commissioner)),
    ]  # fmt: skip
    if not csv and (category or commissioner):  # one segment: one CR3 a year
        segment_rows = views.one_segment(conc, category, commissioner)
        name = f"{category or 'all services'}, {commissioner or 'all commissioners'}"
        charts["cr3"] = cr3_chart(frames, when, segment_rows, name)
    categories = views.names(frames, when, "categories")["service_category"].to_list()
    commissioners = [
        (row["commissioner_id"], row["name"])
        for row in views.names(frames, when, "commissioners").iter_rows(named=True)
    ]
    from infra.render.charts import category_name

    named = dict(commissioners)
    title = f"Market: {category_name(category)}, " + (
        named.get(commissioner, commissioner) if commissioner else "all commissioners"
    )
    return respond(
        request, when, "market.html", title, tables, charts=charts, category=category,
        commissioner=commissioner, categories=categories, commissioners=commissioners,
    )  # fmt: skip
