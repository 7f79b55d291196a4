"""``store.base.Store`` names exactly what ``SqliteStore`` offers, with the same signatures.

Handlers and the bot depend on the Protocol; this keeps it honest, so that a
second implementation (PostgreSQL) has one complete list to implement.
"""

from __future__ import annotations

import inspect

from store.base import Store
from store.service import SqliteStore

CONSTRUCTION = {"open"}  # how an implementation is opened is its own business


def public(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, callable)
        if not name.startswith("_") and name not in CONSTRUCTION and not isinstance(member, type)
    }


def shape(signature: inspect.Signature) -> list[tuple[str, object, object]]:
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


def test_protocol_lists_every_public_operation() -> None:
    protocol = {n for n in public(Store) if n not in dir(object)}
    implementation = set(public(SqliteStore))
    assert implementation - protocol == set(), "add these to store/base.py"
    assert protocol - implementation == set(), "SqliteStore lacks these"


def test_signatures_match() -> None:
    protocol = public(Store)
    for name, signature in public(SqliteStore).items():
        assert shape(signature) == shape(protocol[name]), name
        assert inspect.iscoroutinefunction(getattr(SqliteStore, name)) == inspect.iscoroutinefunction(
            getattr(Store, name)
        ), name


async def test_an_open_store_has_the_protocol_attributes(store: SqliteStore) -> None:
    for attribute in Store.__annotations__:
        assert hasattr(store, attribute), attribute
