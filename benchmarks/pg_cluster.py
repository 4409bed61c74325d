"""A throwaway PostgreSQL cluster for the tests and benchmarks: Debian's server binaries, a
data directory and socket in a temp dir, a free loopback port, owned by the `postgres` user
when we are root (PostgreSQL refuses to run as root). `SELFMODEL_TEST_PG` (a URL of a role
that may create schemas) uses a server that is already running instead.

Each test gets a schema of its own in one database (a URL whose `search_path` names it):
creating a schema takes milliseconds where a database takes a template copy."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg

ROLE, PASSWORD, DATABASE = "selfmodel", "selfmodel-test", "selfmodel"


def server_binaries() -> Path | None:
    found = sorted(
        (Path(d) for d in glob.glob("/usr/lib/postgresql/*/bin") if Path(d, "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return found[-1] if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_owner(args: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


class Cluster:
    def __init__(self, admin_url: str, stop: list[str] | None, workdir: Path | None) -> None:
        self.admin_url = admin_url
        self._stop = stop
        self._workdir = workdir

    @classmethod
    def start(cls, max_connections: int = 300, own: bool = False) -> Cluster:
        """`max_connections`: the server's limit (PostgreSQL's default is 100); `own`: start
        a server even when `SELFMODEL_TEST_PG` names one (a test of the limit needs its own)."""
        given = os.environ.get("SELFMODEL_TEST_PG")
        if given and not own:
            return cls(given, None, None)
        binaries = server_binaries()
        if binaries is None:
            raise RuntimeError(
                "no PostgreSQL server under /usr/lib/postgresql (apt-get install postgresql)"
            )
        workdir = Path(tempfile.mkdtemp(prefix="selfmodel-pg-"))
        if os.geteuid() == 0:
            shutil.chown(workdir, "postgres", "postgres")
        data, sock = workdir / "data", workdir / "sock"
        subprocess.run(
            _as_owner([str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8",
                       "--locale=C", "--auth=trust"]),
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        subprocess.run(_as_owner(["mkdir", "-p", str(sock)]), check=True)
        port = _free_port()
        options = (
            f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off "
            f"-c max_connections={max_connections}"
        )
        subprocess.run(
            _as_owner([str(binaries / "pg_ctl"), "-D", str(data), "-l", str(workdir / "log"),
                       "-w", "-t", "60", "-o", options, "start"]),
            check=True, capture_output=True, timeout=90,
        )  # fmt: skip
        admin = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
            conn.execute(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
        url = f"postgresql://{ROLE}:{PASSWORD}@127.0.0.1:{port}/{DATABASE}"
        stop = _as_owner([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"])
        return cls(url, stop, workdir)

    def fresh(self) -> str:
        """A URL whose tables live in a new, empty schema."""
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        separator = "&" if "?" in self.admin_url else "?"
        return f"{self.admin_url}{separator}options={quote(f'-csearch_path={schema}')}"

    def stop(self) -> None:
        if self._stop is not None:
            with contextlib.suppress(Exception):
                subprocess.run(self._stop, capture_output=True, timeout=60)
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)


@contextlib.contextmanager
def running(max_connections: int = 300, own: bool = False) -> Iterator[Cluster]:
    cluster = Cluster.start(max_connections, own)
    try:
        yield cluster
    finally:
        cluster.stop()
