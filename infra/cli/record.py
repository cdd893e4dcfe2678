"""`cledger record TYPE --field value ...`: one event, entered as a form is filled in.

Why generated: the catalogue (`domain.catalogue`) is the one declaration of every event type
and its fields, so each type's command, its flags and its `--help` are made from it here, and a
new field is a new flag without a second list to keep. A flag the type does not have is
refused (an immutable ledger must not keep a typo for ever); who records is required.
"""

from __future__ import annotations

import datetime as dt
import inspect
import os
from typing import Annotated, Any

import orjson
import typer
from typer.core import TyperGroup

from domain.catalogue import CATALOGUE, COMMON_FIELDS, EventType, Field, parse_event
from domain.errors import InvalidFieldError, UnknownEventTypeError
from infra.cli.app import _ledger, app

COMMON_HELP = {
    "event_id": "a stable id for the event (default: a fresh one)",
    "effective_on": "when it took effect in the world, YYYY-MM-DD (default today)",
    "recorded_by": "who records it (default: $CLEDGER_USER, else $USER)",
    "rationale": "why",
    "source": "the document it comes from (letter, notice id, URL)",
}


class EventTypes(TyperGroup):
    """The group of event types: an unknown type is the catalogue's error, listing the types."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in CATALOGUE:
            raise UnknownEventTypeError(cmd_name, list(CATALOGUE))
        return super().get_command(ctx, cmd_name)


record_app = typer.Typer(
    cls=EventTypes,
    no_args_is_help=True,
    help="Record one event from flags, checked as an import is: 'cledger record RolledOver "
    "--agreement-id g-1 --new-end 2015-03-31 --rationale \"...\"'. Each type's flags: "
    "'cledger record TYPE --help'. Lists and objects are given as JSON. The fields: "
    "docs/format.md.",
)
app.add_typer(record_app, name="record")


def event_from_flags(spec: EventType, values: dict[str, str | None]) -> dict[str, Any]:
    """The native object the flags describe: JSON lists, objects and booleans decoded, the
    defaults filled in (a fresh event id, today, who records)."""
    raw: dict[str, Any] = {"type": spec.name}
    for name, value in values.items():
        if value is not None:
            raw[name] = _value(value)
    raw.setdefault("event_id", f"cli-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}-{os.getpid()}")
    raw.setdefault("effective_on", dt.date.today().isoformat())
    who = raw.get("recorded_by") or os.environ.get("CLEDGER_USER") or os.environ.get("USER")
    if not who:
        raise InvalidFieldError(
            "recorded_by", "who records it: --recorded-by NAME, or CLEDGER_USER set", missing=True
        )
    raw["recorded_by"] = who
    return raw


def _value(text: str) -> Any:
    """A flag's text, or the JSON it holds (a list, an object, true or false); text that only
    looks like JSON stays text, for the field's own check to judge."""
    if text[:1] in "[{" or text in ("true", "false"):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return text
    return text


def _flag_help(f: Field) -> str:
    expected = f.help or "a value"
    if expected.startswith(("a list", "an object", "a non-empty object")):
        expected += " as JSON"
    return f"{expected}{'' if f.required else ' (optional)'}"


def _option(name: str, help_: str) -> inspect.Parameter:
    flag = "--" + name.replace("_", "-")
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[str | None, typer.Option(flag, help=help_, show_default=False)],
    )


def _command(spec: EventType) -> None:
    def run(**values: str | None) -> None:
        event = parse_event(event_from_flags(spec, values))
        report = _ledger(create=True).record([event])
        state = "recorded" if report.recorded else "already in the ledger"
        typer.echo(f"{event.type} {event.event_id} {state}")

    if spec.rationale_rule({}):
        why = " (required)"
    elif spec.rationale_rule({"route": "direct_award"}):
        why = " (required for a direct award)"
    else:
        why = ""
    common = [
        _option(name, COMMON_HELP[name] + (why if name == "rationale" else ""))
        for name in COMMON_FIELDS
        if name != "type"
    ]
    own = [_option(f.name, _flag_help(f)) for f in spec.fields]
    run.__signature__ = inspect.Signature([*own, *common])  # type: ignore[attr-defined]
    run.__name__ = spec.name
    run.__doc__ = f"{spec.help[:1].upper()}{spec.help[1:]}."
    record_app.command(spec.name)(run)


for _spec in CATALOGUE.values():
    _command(_spec)
