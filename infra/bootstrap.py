"""The composition root: the one place where real parts are wired (store, clock)."""

from __future__ import annotations

from domain.ledger import Clock, Ledger, utc_now
from infra.store.urls import (
    configured_store,
    ensure_store,
    parse_store_url,
    persistence_env,
    require_store,
    schema_lock,
)


def open_ledger(store: str | None = None, *, clock: Clock = utc_now, create: bool = True) -> Ledger:
    """Open the ledger at `store`, or the configured default: created when missing if `create`
    (the commands that write), else refused when missing (`infra.store.urls.NoLedgerError`)."""
    url = parse_store_url(configured_store(store))
    if create:
        ensure_store(url)
    else:
        require_store(url)
    with schema_lock(url):
        return Ledger(persistence_env(url), clock=clock)


def existing_store(store: str | None = None) -> str:
    """The configured store's URL, once it is known to hold a ledger (for the readers that go
    to the store without the `Ledger` application: the event frame)."""
    url = configured_store(store)
    require_store(parse_store_url(url))
    return url
