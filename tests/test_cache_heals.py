"""The frame cache heals (issue 13, part 3): a cache that cannot be used is set aside and rebuilt
from the store, with one warning line on stderr; the answer is the one an intact cache gives,
never an empty one, and the call after it is quiet again. One test per kind of damage, through
the real CLI, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.test_cli import EXAMPLE, cledger

Damage = Callable[[Path], None]
pytestmark = pytest.mark.slow  # five processes a test


def _manifest(folder: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((folder / "manifest.json").read_text())


def _rewrite_manifest(folder: Path, change: Callable[[dict], None]) -> None:  # type: ignore[type-arg]
    raw = _manifest(folder)
    change(raw)
    (folder / "manifest.json").write_text(json.dumps(raw))


def _first_part(folder: Path) -> Path:
    return folder / _manifest(folder)["parts"][0]["name"]


def truncate_a_part(folder: Path) -> None:
    part = _first_part(folder)
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])


def corrupt_a_part(folder: Path) -> None:
    """Same size, garbage in the middle (the footer intact)."""
    part = _first_part(folder)
    body = bytearray(part.read_bytes())
    middle = len(body) // 2
    body[middle - 64 : middle + 64] = b"\xff" * 128
    part.write_bytes(bytes(body))


def corrupt_the_amendments(folder: Path) -> None:
    part = folder / _manifest(folder)["amendments"]["name"]
    part.write_bytes(b"PAR1" + b"\0" * (part.stat().st_size - 4))


def delete_a_part(folder: Path) -> None:
    _first_part(folder).unlink()


def garble_the_manifest(folder: Path) -> None:
    (folder / "manifest.json").write_text('{"parts": [')


def delete_the_manifest(folder: Path) -> None:
    (folder / "manifest.json").unlink()


def list_no_parts(folder: Path) -> None:
    _rewrite_manifest(folder, lambda raw: raw.update(parts=[]))


def drop_a_field(folder: Path) -> None:
    _rewrite_manifest(folder, lambda raw: raw.pop("last_id"))


def ids_beyond_the_log(folder: Path) -> None:
    _rewrite_manifest(folder, lambda raw: raw.update(last_id=raw["last_id"] + 1_000))


def another_version(folder: Path) -> None:
    _rewrite_manifest(folder, lambda raw: raw.update(version="0:old"))


DAMAGE: list[Damage] = [
    truncate_a_part,
    corrupt_a_part,
    corrupt_the_amendments,
    delete_a_part,
    garble_the_manifest,
    delete_the_manifest,
    list_no_parts,
    drop_a_field,
    ids_beyond_the_log,
    another_version,
]


def _cache_folder(store_url: str, cache: Path) -> Path:
    if store_url.startswith("sqlite"):
        return Path(store_url[len("sqlite:///") :] + ".frame")
    (folder,) = cache.glob("*.frame")
    return folder


@pytest.mark.parametrize("damage", DAMAGE, ids=[d.__name__ for d in DAMAGE])
def test_a_damaged_cache_is_set_aside_and_rebuilt(
    store_url: str, tmp_path: Path, damage: Damage
) -> None:
    cache = tmp_path / "cache"
    cledger("import", str(EXAMPLE), store=store_url, cache=cache)
    probes = [
        ("market", "--as-of", "2008-07-15", "--format", "json"),  # the corrections applied
        ("agreements", "--as-of", "2008-07-15", "--format", "json"),
    ]
    intact = [cledger(*p, store=store_url, cache=cache) for p in probes]
    assert all(done.stderr.strip() == "" for done in intact)
    assert json.loads(intact[0].stdout) and json.loads(intact[1].stdout)
    folder = _cache_folder(store_url, cache)

    damage(folder)
    healed = cledger(*probes[0], store=store_url, cache=cache)
    lines = healed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"warning: the frame cache at {folder} "), (
        healed.stderr
    )
    assert "rebuilt from the store" in lines[0]
    assert healed.stdout == intact[0].stdout
    assert folder.with_name(folder.name + ".set-aside").is_dir()

    again = cledger(*probes[1], store=store_url, cache=cache)  # quiet, the same answer
    assert again.stdout == intact[1].stdout and again.stderr.strip() == ""


def test_a_store_that_grows_after_the_damage_is_read_whole(tmp_path: Path) -> None:
    """Healing reads the store as it is now: events recorded after the cache was damaged are
    in the rebuilt frame."""
    store = f"sqlite:///{tmp_path}/l.db"
    lines = EXAMPLE.read_text().splitlines()
    first, rest = tmp_path / "first.jsonl", tmp_path / "rest.jsonl"
    first.write_text("\n".join(lines[:6]) + "\n")
    rest.write_text("\n".join(lines[6:]) + "\n")
    cledger("import", str(first), store=store)
    before = json.loads(cledger("stats", "--format", "json", store=store).stdout)
    assert before[-1] == {"type": "total", "events": 6}
    truncate_a_part(tmp_path / "l.db.frame")
    cledger("import", str(rest), store=store)
    after = cledger("stats", "--format", "json", store=store)
    assert json.loads(after.stdout)[-1] == {"type": "total", "events": 9}
    assert after.stderr.startswith("warning: the frame cache")
