"""What the web tests share: a demo ledger, the site on it, and the CLI's JSON of a view."""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from infra.store.frame_cache import scan_event_frame
from tests.cli_process import cledger


def cli_json(store: str, *args: str) -> Any:
    """`cledger ARGS --format json` on `store`, parsed."""
    return json.loads(cledger(*args, "--format", "json", store=store).stdout)


def corrected_agreement(store: str) -> str:
    """An agreement of the ledger with a `Corrected` event (the demo has some)."""
    frame = scan_event_frame(store)
    rows = (
        frame.filter(pl.col("type") == "Corrected")
        .filter(pl.col("subject_id").str.contains(r"-\d{4}-"))
        .select("subject_id")
        .collect()
    )
    assert rows.height, "the demo ledger has no corrected agreement"
    return str(rows["subject_id"][0])
