"""Reading files whose publishers did not all use UTF-8.

Councils export registers from spreadsheets in Windows-1252; some OCDS publishers wrote latin-1.
A file is read as UTF-8 when it decodes as UTF-8 (a byte-order mark is dropped), else as
Windows-1252 (latin-1 with printable quotes and dashes where latin-1 has control codes), else as
latin-1, which decodes any bytes; a file that opens with a UTF-16 byte-order mark (a spreadsheet's
"Unicode text") is read as UTF-16. The check reads the file once in chunks, so it costs a pass but
no memory.
"""

from __future__ import annotations

import codecs
import io
from pathlib import Path
from typing import IO

from domain.errors import LedgerError

CHUNK = 1 << 20
_FALLBACKS = ("cp1252", "latin-1")


def detect_encoding(path: Path) -> str:
    """`utf-8`, `utf-8-sig` (with a byte-order mark), `utf-16` (with its byte-order mark),
    `cp1252` or `latin-1`."""
    try:
        with path.open("rb") as handle:
            head = handle.read(3)
    except OSError as err:
        raise LedgerError(f"{path}: cannot open ({err.strerror})") from None
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) and _decodes(path, "utf-16"):
        return "utf-16"  # a spreadsheet's "Unicode text": its byte-order mark says which
    first = "utf-8-sig" if head == codecs.BOM_UTF8 else "utf-8"
    for encoding in (first, *_FALLBACKS):
        if _decodes(path, encoding):
            return encoding
    return "latin-1"  # pragma: no cover - latin-1 decodes every byte


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as handle:
        try:
            while chunk := handle.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def open_utf8(path: Path, encoding: str) -> IO[bytes]:
    """A binary stream of the file as UTF-8 bytes, transcoded on the fly when it is not."""
    raw = path.open("rb", buffering=CHUNK)
    if encoding == "utf-8":
        return raw
    if encoding == "utf-8-sig":
        raw.read(3)
        return raw
    return io.BufferedReader(_Transcoded(raw, encoding), buffer_size=CHUNK)


def open_text(path: Path, encoding: str) -> IO[str]:
    """A text stream for CSV readers (newlines left to the csv module)."""
    return path.open("r", encoding=encoding, newline="")


class _Transcoded(io.RawIOBase):
    """Bytes in a single-byte encoding, read out as UTF-8."""

    def __init__(self, raw: IO[bytes], encoding: str):
        super().__init__()
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = self._raw.read(CHUNK)  # a chunk may end inside a character: incremental
            text = self._decoder.decode(chunk, final=not chunk)
            if not chunk and not text:
                return 0
            self._pending = memoryview(text.encode("utf-8"))
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()
