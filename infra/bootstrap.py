"""The composition root: the one place where real parts are wired (store, clock)."""

from __future__ import annotations

from domain.ledger import Clock, Ledger, utc_now
from infra.store.urls import (
    configured_store,
    ensure_store,
    parse_store_url,
    persistence_env,
    schema_lock,
)


def open_ledger(store: str | None = None, *, clock: Clock = utc_now) -> Ledger:
    """Open (creating when missing) the ledger at `store`, or the configured default."""
    url = parse_store_url(configured_store(store))
    ensure_store(url)
    with schema_lock(url):
        return Ledger(persistence_env(url), clock=clock)
