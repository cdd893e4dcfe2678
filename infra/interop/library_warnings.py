"""The warnings of the libraries an import uses, counted in its report instead of printed.

Why: ocdskit logs, when it upgrades an OCDS 1.0 release in which one organisation appears twice
with different details, both whole records as raw JSON (through the `logging` module's
last-resort handler, straight to stderr); ocdsmerge warns through `warnings` about repeated ids.
A user sees a terminal full of supplier records after an import that succeeded. Here each is
counted by kind (the first line of the message, without the records) and shown in the import
report, once.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from infra.interop.bounds import one_line

LOGGERS = ("ocdskit", "ocdsmerge", "ijson")


class _Counting(logging.Handler):
    def __init__(self, counts: Counter[str]):
        super().__init__(logging.DEBUG)
        self.counts = counts

    def emit(self, record: logging.LogRecord) -> None:
        try:
            first = record.getMessage().split("\n", 1)[0]
        except Exception:  # noqa: BLE001 - a library's malformed log call is still one warning
            first = str(record.msg).split("\n", 1)[0]
        self.counts[f"{record.name}: {kind(first)}"] += 1


def kind(message: str) -> str:
    """A warning's message as a kind: one line, quoted values (ids, roles) elided."""
    return one_line(re.sub(r"'[^']*'|\"[^\"]*\"|\[[^\]]*\]", "…", message), 160)


@contextmanager
def counted(counts: Counter[str]) -> Iterator[None]:
    """Within: the libraries' log records and every Python warning are counted in `counts`
    by kind, and none reaches stderr."""
    handler = _Counting(counts)
    saved = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.propagate))
        logger.addHandler(handler)
        logger.propagate = False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                yield
            finally:
                for warning in caught:
                    text = str(warning.message).split("\n", 1)[0]
                    counts[f"{warning.category.__name__}: {kind(text)}"] += 1
    finally:
        for logger, propagate in saved:
            logger.removeHandler(handler)
            logger.propagate = propagate
