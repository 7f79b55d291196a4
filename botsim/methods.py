"""The Bot API's method signatures, and checking a call's parameters against them.

The signatures come from ``botsim/botapi_methods.json`` (its ``_source`` key says
where they were extracted from; regenerate with ``tools/extract_botapi_spec.py``).
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from typing import Any

from botsim.errors import JSONDict, bad_request

PRIMITIVE_TYPES = frozenset({"String", "Integer", "Float", "Boolean", "InputFile"})


@functools.cache
def load_method_specs() -> dict[str, dict[str, JSONDict]]:
    """Return ``{method: {field: {"types": [...], "required": bool}}}`` from the packaged JSON.

    Loaded through importlib.resources so the simulator works from an installed
    wheel as well as from a checkout, and never needs the upstream spec file.
    """
    raw = json.loads(
        importlib.resources.files("botsim")
        .joinpath("botapi_methods.json")
        .read_text(encoding="utf-8")
    )
    return {name: spec["fields"] for name, spec in raw.items() if not name.startswith("_")}


def validate(spec: dict[str, JSONDict], params: JSONDict, *, strict: bool) -> None:
    """Refuse a call as Telegram would: a missing required field, an unparsable object.

    ``strict`` also refuses parameters the method does not have (Telegram itself
    ignores them silently, which hides typos).
    """
    if strict:
        for key in params:
            if key not in spec:
                raise bad_request(f"unknown parameter {key}")
    for key, field_spec in spec.items():
        if field_spec["required"] and key not in params:
            raise bad_request(f"{key} is required")
        value = params.get(key)
        if isinstance(value, str) and not set(field_spec["types"]) & PRIMITIVE_TYPES:
            what = "reply keyboard markup" if key == "reply_markup" else key
            raise bad_request(f"can't parse {what} JSON object")


def decode(key: str, value: str, types: list[str] | None) -> Any:
    """Turn a form/query string into the value its field's types call for."""
    if types in (["String"], ["InputFile", "String"], ["InputFile"]):
        return value
    if types in (["Integer"], ["Float"]):
        try:
            return int(value) if types == ["Integer"] else float(value)
        except ValueError:
            raise bad_request(f'field "{key}" must be of type {types[0]}') from None
    if types == ["Boolean"]:
        lowered = value.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0", ""):
            return False
        raise bad_request(f'field "{key}" must be of type Boolean')
    try:
        return json.loads(value)
    except ValueError:
        return value


def counts_as_send(method: str) -> bool:
    return (method.startswith("send") and method != "sendChatAction") or method in (
        "copyMessage",
        "forwardMessage",
    )
