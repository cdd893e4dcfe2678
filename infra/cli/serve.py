"""`cledger serve`: the read-only web site of the ledger (`infra.web`).

FastAPI and uvicorn are imported when the command runs, so `cledger --help` stays quick.
"""

from __future__ import annotations

import threading
import time
from typing import Annotated, Any

import typer

from infra.cli.app import app, store_url


@app.command()
def serve(
    host: Annotated[
        str, typer.Option("--host", help="the address to listen on (default: this machine only)")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="the port")] = 8000,
) -> None:
    """Serve the ledger as a read-only web site: home and search, briefs, agreements'
    timelines, the market, flags, the pipeline, providers and commissioners, each as of any
    date and as known at any time; JSON under /api/ (the CLI's keys; OpenAPI at
    /api/openapi.json)."""
    import uvicorn

    from infra.web import create_app

    url = store_url()  # a mistyped store is refused before anything listens
    site = create_app(url)
    typer.echo(f"serving {url} on http://{host}:{port}/ (read-only; Ctrl-C stops)", err=True)
    threading.Thread(target=_warm, args=(site,), name="warm", daemon=True).start()
    uvicorn.run(site, host=host, port=port, log_level="warning", access_log=False)


def _warm(site: Any) -> None:
    """Today's home page and market (its views and charts) computed while the server starts
    listening (on a 1M-event ledger they take seconds): the first reader finds them ready. A
    failure here is the first request's to report, so it is only noted."""
    from infra.web import views
    from infra.web.charts import market_chart
    from infra.web.params import When

    started = time.monotonic()
    try:
        frames, today = site.state.site.frames, When.parse(None, None)
        views.warm(frames, today)
        for part, chart in (
            ("market", "market_chart"),
            ("concentration", "concentration_chart"),
            ("mix", "diversity_chart"),
        ):  # the market page's charts, as the page asks for them
            market_chart(frames, today, chart, views.market_view(frames, today, part), None, None)
        typer.echo(f"today's views ready ({time.monotonic() - started:.1f} s)", err=True)
    except Exception as err:  # noqa: BLE001 - the request that needs the view reports it
        typer.echo(f"warning: the views for today were not prepared: {err}", err=True)
