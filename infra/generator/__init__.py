"""Generators of realistic ledger history: a conurbation since 2005 (`generate`), recorded into
a ledger by `build`, and England-scale native files for benchmarks (`write_england`).

Why a package: the conurbation is told through many small parts (cast, market, lifecycle,
reforms, staff churn, set-piece stories), each with one job; this module only names the public
entry points.
"""

from __future__ import annotations

from infra.generator.build import build
from infra.generator.conurbation import generate
from infra.generator.england import write_england
from infra.generator.journal import GeneratedEvent

__all__ = ["GeneratedEvent", "build", "generate", "write_england"]
