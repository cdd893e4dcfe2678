"""`cledger serve`: the read-only web site of the ledger (`infra.web`).

FastAPI and uvicorn are imported when the command runs, so `cledger --help` stays quick.
"""

from __future__ import annotations

from typing import Annotated

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
    uvicorn.run(site, host=host, port=port, log_level="warning", access_log=False)
