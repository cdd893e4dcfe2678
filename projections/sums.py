"""Sums that come out the same, to the last digit, whatever order their terms are added in.

Why: a float sum's last digits follow the order of its additions, and polars adds a group's
terms in an order (and in SIMD lanes aligned to offsets) that its threads vary from run to run
and with their number; so the same store gave shares differing in their last digits from one
run to the next, and no output could be compared byte for byte. Integers add up the same in
any order: each term is put in fixed point (a whole number of `1 / scale`), summed as a
128-bit integer, and divided back. The terms are worked out per row first, which is the same
on every run.
"""

from __future__ import annotations

import polars as pl

MICRO = 10**6  # money: millionths of a pound, far below the penny every figure is shown to
FINE = 10**15  # terms of at most a few units (shares, their squares, s ln s): 15 places


def fixed_sum(terms: pl.Expr, scale: int = FINE) -> pl.Expr:
    """The sum of `terms`, each to the nearest `1 / scale`, in any order the same. A term too
    large for 128 bits at that scale (beyond 10^23 at the default, 10^32 for money, which no
    ledger holds) is left out rather than stop the view."""
    fixed = (terms * scale).round(0).cast(pl.Int128, strict=False)
    return fixed.sum().cast(pl.Float64) / scale


def exact_sum(amount: pl.Expr) -> pl.Expr:
    """A sum of money in pounds, to the millionth of a pound, the same in every run."""
    return fixed_sum(amount, MICRO)
