"""One connection interface over two databases: SQLite (the zero-config default) and PostgreSQL.

The ledger's statements are written once, in the SQL both dialects share, with `?` markers.
`sqlite3` takes them as they are. For PostgreSQL, `PgConnection` rewrites the markers into
psycopg's (once per statement text, cached), adapts the Python values SQLite accepts and
PostgreSQL refuses (`bool` into an INTEGER column, numpy scalars), and hands back rows that
read by position and by name, like `sqlite3.Row`. Where the dialects truly differ a statement
asks `conn.dialect`.

PostgreSQL's text cannot hold U+0000, SQLite's can, and any client text may carry one (a
reply, a message, an evidence quote, a user id). `PgConnection` stores it escaped and reads it
back unescaped, so both ledgers return exactly what was written: U+0000 is stored as U+FFFF
U+FFFE and U+FFFF itself as U+FFFF U+FFFF (two noncharacters, which Unicode reserves for a
program's internal use; text without either is stored as it is). Every parameter is escaped
the same way, so equality and `IN` on such a column match as on SQLite. (`LIKE` differs: SQLite
reads a text only up to its first NUL there; the ledger matches patterns only on user ids,
which are printable.)
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
import psycopg

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
# A database that cannot take a write now (locked, disk full, the server gone): retry later.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (sqlite3.OperationalError, psycopg.OperationalError)
# A write that breaks a key or a constraint: the request's fault, never retried.
INTEGRITY_ERRORS: tuple[type[Exception], ...] = (sqlite3.IntegrityError, psycopg.IntegrityError)


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def fetchmany(self, size: int = ...) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What the ledger's statements use of a connection."""

    dialect: str

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any: ...

    def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any]], /) -> Any: ...


class SqliteConnection(sqlite3.Connection):
    """`sqlite3.Connection` that says its dialect (a subclass: no cost per statement)."""

    dialect = SQLITE


class Row:
    """A result row read by position or by column name (and `dict(row)`), as `sqlite3.Row`."""

    __slots__ = ("_names", "_values")

    def __init__(self, names: dict[str, int], values: tuple[Any, ...]) -> None:
        self._names = names
        self._values = values

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, str):
            return self._values[self._names[key]]
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._names)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._names, self._values, strict=True))!r})"


# PostgreSQL text's escape for U+0000 (see the module's docstring).
ESCAPE, _NUL = "\uffff", "\ufffe"
_ESCAPED = re.compile("\uffff([\uffff\ufffe])")


def escape_text(text: str) -> str:
    """`text` as PostgreSQL stores it: U+0000 and the escape character escaped."""
    if "\x00" not in text and ESCAPE not in text:
        return text
    return text.replace(ESCAPE, ESCAPE + ESCAPE).replace("\x00", ESCAPE + _NUL)


def _unescaped(match: re.Match[str]) -> str:
    return ESCAPE if match.group(1) == ESCAPE else "\x00"


def unescape_text(text: str) -> str:
    """The inverse of `escape_text` (text stored before it, with a lone U+FFFF, reads as is)."""
    return _ESCAPED.sub(_unescaped, text) if ESCAPE in text else text


_MARKER = re.compile(r"'(?:[^']|'')*'|\?|%")


@lru_cache(maxsize=2048)
def to_psycopg(sql: str) -> str:
    """`?` markers to `%s`, and a literal `%` doubled, leaving quoted strings alone."""

    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        return token.replace("%", "%%")

    return _MARKER.sub(swap, sql)


def _adapt(value: Any) -> Any:
    if isinstance(value, str):
        return escape_text(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def _params(parameters: Sequence[Any]) -> list[Any]:
    return [_adapt(v) for v in parameters]


def _read(value: Any) -> Any:
    if isinstance(value, str):
        return unescape_text(value)
    return bytes(value) if isinstance(value, memoryview) else value


def row_factory(cursor: Any) -> Any:
    """psycopg's row factory for the ledger: `Row`s, text unescaped, blobs as `bytes`."""
    description = cursor.description
    if description is None:
        return lambda values: values
    names = {column.name: i for i, column in enumerate(description)}

    def make(values: Sequence[Any]) -> Row:
        return Row(names, tuple(_read(v) for v in values))

    return make


class PgConnection:
    """A psycopg 3 connection in autocommit mode; transactions are opened with `BEGIN`."""

    dialect = POSTGRESQL

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        """`raw`: a connection made with `autocommit=True` and `row_factory` (`connect`)."""
        self.raw = raw

    @classmethod
    def connect(cls, url: str) -> PgConnection:
        return cls(psycopg.connect(url, autocommit=True, row_factory=row_factory))

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        if parameters:
            return self.raw.execute(to_psycopg(sql), _params(parameters))
        return self.raw.execute(sql)  # no parameters: psycopg reads `%` literally

    def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any]]) -> Any:
        cursor = self.raw.cursor()
        batch = [_params(p) for p in seq_of_parameters]
        if batch:
            cursor.executemany(to_psycopg(sql), batch)
        return cursor

    @property
    def broken(self) -> bool:
        return bool(self.raw.closed or self.raw.broken)

    def close(self) -> None:
        self.raw.close()
