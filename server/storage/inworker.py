"""The database as a worker process of the heavy work (``conference/heavy.py``) reads it, for
the outcomes page (``views/outcomestable.py``) and a conference's export
(``conference/exportwork.py``).

Such a worker is given the database's URL, never rows by pickle, and reads what it needs
itself. It keeps one store per URL (its engine keeps no idle connection: one is opened for each
piece of work, ``Store.connect(url, pooled=False)``) and one event loop of its own, for as long
as the process lives. Only the worker's own work runs on that loop, so CPU work may hold it.

A worker process imports this before its first piece of work, so it stays light: the store
loads with the first call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from server.storage.store import Store

T = TypeVar("T")

_loop: asyncio.AbstractEventLoop | None = None  # this worker process's own event loop
_stores: dict[str, Store] = {}  # by database URL: one store per worker process


class Unreadable(Exception):
    """The database failed while a worker read it. What it raised (SQLAlchemy's exceptions,
    the driver's) need not survive the pickle back to the server: this says what it was."""


def run(work: Coroutine[Any, Any, T]) -> T:
    """``work`` run to its end on this process's own event loop (Unreadable when the
    database failed)."""
    global _loop
    if _loop is None:
        _loop = asyncio.new_event_loop()
    try:
        return _loop.run_until_complete(work)
    except Exception as exc:
        from sqlalchemy.exc import SQLAlchemyError

        if isinstance(exc, SQLAlchemyError | OSError):
            raise Unreadable(f"{type(exc).__name__}: {exc}") from None
        raise


def store(database_url: str) -> Store:
    """This process's store of the database at ``database_url``."""
    found = _stores.get(database_url)
    if found is None:
        from server.storage.store import Store

        found = _stores[database_url] = Store.connect(database_url, pooled=False)
    return found
