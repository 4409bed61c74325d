"""Schema migrations: Alembic revisions under `memory/ledger/alembic/versions`, one schema for
SQLite and PostgreSQL, applied in order and never edited.

Any number of processes may start on one store at once; migrating is serialized across them
(SQLite: the migration's `BEGIN IMMEDIATE` transaction; PostgreSQL: an advisory lock held
while Alembic runs), so two replicas never race and the second finds the work done.

Stores made before Alembic kept the names of the migrations they had applied in
`schema_migrations`; the revisions carry the same names, so such a store is stamped at the
last one it had and upgraded from there.
"""

from __future__ import annotations

import functools
import logging
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from memory.ledger.urls import is_postgres, redact, sqlalchemy_url

log = logging.getLogger("selfmodel.ledger")
SCRIPTS = Path(__file__).with_name("alembic")
# Any constant both kinds of process agree on: the key of the lock migrations hold.
MIGRATION_LOCK = 7_316_010
# Alembic's `context` is a module-level proxy: two threads of one process must not migrate at
# once, whichever stores they open.
_IN_PROCESS = threading.Lock()


def _config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = connection
    return config


def engine_for(target: str) -> sa.Engine:
    """An engine for migrating and copying (the hot path uses its own connections)."""
    url = sqlalchemy_url(target)
    if is_postgres(target):
        return sa.create_engine(url, poolclass=sa.pool.NullPool)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)

    # pysqlite opens transactions lazily and never for DDL; a migration must be one
    # transaction holding the write lock from its first statement (SQLAlchemy's recipe).
    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        dbapi_connection.execute("PRAGMA busy_timeout=30000")

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@functools.cache
def head() -> str:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    found = ScriptDirectory.from_config(config).get_current_head()
    assert found is not None
    return found


def current(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _legacy_revision(connection: sa.Connection) -> str | None:
    """The last migration a store made before Alembic applied, if it is one."""
    names = sa.inspect(connection).get_table_names()
    if "schema_migrations" not in names or "alembic_version" in names:
        return None
    done = {r[0] for r in connection.exec_driver_sql("SELECT name FROM schema_migrations")}
    script = ScriptDirectory(str(SCRIPTS))
    last = None
    for revision in reversed(list(script.walk_revisions())):  # oldest first
        if revision.revision not in done:
            break
        last = revision.revision
    return last


def upgrade(target: str, to: str | None = None) -> list[str]:
    """Bring the store at `target` (a SQLite path or a PostgreSQL URL) to the newest schema
    (or to revision `to`); returns the revisions applied."""
    # Alembic logs each plugin and each revision's docstring at INFO: one line of ours instead.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    with _IN_PROCESS:
        applied = _upgrade_locked(target, to or head())
    if applied:
        log.info(
            "store %s migrated to %s (%d revisions)", redact(target), applied[-1], len(applied)
        )
    return applied


def _upgrade_locked(target: str, to: str) -> list[str]:
    engine = engine_for(target)
    try:
        with engine.connect() as connection:
            postgres = connection.dialect.name == "postgresql"
            if postgres:
                connection.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK})")
                connection.commit()
            try:
                return _upgrade(connection, to)
            finally:
                if postgres:
                    connection.rollback()
                    connection.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK})")
                    connection.commit()
    finally:
        engine.dispose()


def _upgrade(connection: sa.Connection, target: str) -> list[str]:
    # One transaction from reading the revision to the last migration, so the revision read is
    # the one upgraded from: on SQLite its BEGIN IMMEDIATE is the lock that lets one process
    # of several started together migrate (Alembic runs inside a transaction it finds open).
    config = _config(connection)
    with connection.begin():
        before = current(connection)
        legacy = _legacy_revision(connection) if before is None else None
        if legacy is not None:
            command.stamp(config, legacy)
            before = legacy
        if before == target:
            return []
        command.upgrade(config, target)
    script = ScriptDirectory(str(SCRIPTS))
    return [r.revision for r in reversed(list(script.iterate_revisions(target, before or "base")))]
