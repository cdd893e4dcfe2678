"""Money and shares written exactly as FORMAT.md fixes them.

Why: money is a string with two decimals and shares are decimal strings with at most six places
summing to exactly 1; generating them with floats would produce records the ledger refuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from domain.values import equal_shares

ONE = Decimal(1)
PENNY = Decimal("0.01")
SIX_PLACES = Decimal("0.000001")


def money(value: Decimal) -> str:
    """Pounds per annum as the native string ("332000.00")."""
    return f"{value.quantize(PENNY, rounding=ROUND_HALF_UP):.2f}"


def rounded(value: float | Decimal, step: int) -> Decimal:
    """A plausible budget: `value` rounded to a multiple of `step` pounds (at least one step)."""
    steps = int((Decimal(str(value)) / step).quantize(ONE, rounding=ROUND_HALF_UP))
    return Decimal(max(steps, 1) * step)


def step_for(value: float | Decimal) -> int:
    """Budgets are round numbers at the scale they are set: hundreds, thousands, ten-thousands."""
    v = float(value)
    if v < 10_000:
        return 50
    if v < 100_000:
        return 500
    if v < 1_000_000:
        return 1_000
    return 10_000


def share_text(share: Decimal) -> str:
    """A share as its shortest decimal string ("1", "0.5", "0.333334")."""
    text = format(share.normalize(), "f")
    return text


def weighted_shares(weights: Sequence[Decimal]) -> list[Decimal]:
    """Shares proportional to `weights`, six places, summing to exactly 1 (remainder first)."""
    total = sum(weights, Decimal(0))
    parts = [(w / total).quantize(SIX_PLACES, rounding=ROUND_DOWN) for w in weights]
    parts[0] += ONE - sum(parts, Decimal(0))
    return parts


def equal(n: int) -> list[Decimal]:
    """An equal split, as the domain computes it (FORMAT.md: remainder to the first)."""
    return [Decimal(s) for s in equal_shares(n)]


def commissioner_list(shares: Sequence[tuple[str, Decimal]]) -> list[dict[str, str]]:
    return [{"commissioner_id": cid, "share": share_text(s)} for cid, s in shares]
