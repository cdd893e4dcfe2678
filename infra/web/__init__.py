"""The read-only web site of the ledger (`cledger serve`): the CLI's views as pages and JSON.

- `app.py`: the FastAPI application (read-only, one-line errors, security headers);
- `frames.py`: the event frame held in memory between requests, refreshed as the store grows;
- `views.py`: every view, computed as the CLI computes it; `params.py`: the query parameters;
- `tables.py`: tables sorted on the server, formatted and linked, and their CSV;
- `charts.py`: the charts as inline SVG; `pages/`: one module per page; `api.py`: `/api/`.
"""

from __future__ import annotations

from infra.web.app import create_app

__all__ = ["create_app"]
