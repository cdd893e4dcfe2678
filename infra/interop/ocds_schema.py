"""The OCDS 1.1 schemas, vendored (see `schema/NOTICE.md`): merge rules for `ocdsmerge` and a
validator of release packages. Nothing here touches the network.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft4Validator
from ocdsmerge import Merger
from ocdsmerge.rules import get_merge_rules
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SCHEMA_DIR = Path(__file__).with_name("schema")


@cache
def release_schema() -> dict[str, Any]:
    schema: dict[str, Any] = orjson.loads((SCHEMA_DIR / "release-schema.json").read_bytes())
    return schema


@cache
def package_schema() -> dict[str, Any]:
    schema: dict[str, Any] = orjson.loads((SCHEMA_DIR / "release-package-schema.json").read_bytes())
    return schema


@cache
def merge_rules() -> dict[tuple[str, ...], str]:
    """`ocdsmerge`'s rules from the vendored schema (its default would download the schema)."""
    return get_merge_rules(release_schema())


def merger() -> Merger:
    return Merger(merge_rules=merge_rules())


@cache
def package_validator() -> Draft4Validator:
    release = release_schema()
    registry: Registry = Registry().with_resource(
        release["id"], Resource.from_contents(release, default_specification=DRAFT4)
    )
    return Draft4Validator(
        package_schema(), registry=registry, format_checker=Draft4Validator.FORMAT_CHECKER
    )


def package_errors(package: dict[str, Any], limit: int = 5) -> list[str]:
    """Schema errors of a release package, each as `path: message` (empty when valid)."""
    errors = []
    for error in package_validator().iter_errors(package):
        path = "/".join(str(p) for p in error.absolute_path) or "(package)"
        errors.append(f"{path}: {error.message}")
        if len(errors) >= limit:
            break
    return errors
