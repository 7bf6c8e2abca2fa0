"""A PostgreSQL server for the store tests, and a fresh database per test.

``postgres_server_url`` (session) is MGA_TEST_DATABASE_URL when CI sets it; otherwise a
throwaway cluster is started from the local PostgreSQL installation in a temporary
directory on a free loopback port, and removed when the session ends. Without either,
the tests that need it skip and say why. ``postgres_database_url`` creates a database
with a unique name for one test and drops it afterwards.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url

from support.service import free_port

ENVIRONMENT_VARIABLE = "MGA_TEST_DATABASE_URL"
_START_TIMEOUT = 60.0


def postgres_bin() -> Path | None:
    """The newest local PostgreSQL's bin directory that has initdb."""
    candidates = [Path(found) for found in glob.glob("/usr/lib/postgresql/*/bin")]
    usable = [path for path in candidates if os.access(path / "initdb", os.X_OK)]

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in path.parent.name.split(".") if part.isdigit())

    return max(usable, key=version, default=None)


class PostgresCluster:
    """initdb + pg_ctl in a temporary directory; as user postgres when we are root."""

    def __init__(self, bin_dir: Path) -> None:
        self._bin = bin_dir
        self._dir = Path(tempfile.mkdtemp(prefix="mga-test-pg-"))
        self._data = self._dir / "data"
        self._log = self._dir / "log"
        self._prefix: list[str] = []
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root.
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                shutil.rmtree(self._dir, ignore_errors=True)
                pytest.skip("running as root and there is no user `postgres` to run PostgreSQL")
            os.chown(self._dir, owner.pw_uid, owner.pw_gid)
            self._prefix = ["runuser", "-u", "postgres", "--"]
        self.port = free_port()

    def start(self) -> str:
        self._run("initdb", "-D", str(self._data), "-A", "trust", "-U", "postgres", "--no-sync")
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self._dir} -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self._data), "-l", str(self._log), "-w", "-o", options, "start"
        )
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        try:
            if (self._data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self._data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        command = [*self._prefix, str(self._bin / program), *args]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=_START_TIMEOUT, check=False
        )
        if done.returncode != 0:
            log = self._log.read_text(errors="replace")[-2000:] if self._log.exists() else ""
            raise RuntimeError(
                f"{program} exited {done.returncode}: {done.stderr.strip()}\n{log}".strip()
            )


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A SQLAlchemy URL of a PostgreSQL server the tests may create databases on."""
    given = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if given:
        yield given
        return
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip(
            f"no PostgreSQL: {ENVIRONMENT_VARIABLE} is not set and no initdb is installed "
            "under /usr/lib/postgresql/*/bin"
        )
    cluster = PostgresCluster(bin_dir)
    try:
        url = cluster.start()
    except BaseException:
        cluster.stop()
        raise
    try:
        yield url
    finally:
        cluster.stop()


def _asyncpg_dsn(url: str, *, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


@asynccontextmanager
async def fresh_database(server_url: str) -> AsyncIterator[str]:
    """A new, empty database on the server for the duration; yields its SQLAlchemy URL."""
    name = f"mga_test_{uuid.uuid4().hex[:16]}"
    # asyncpg runs each statement outside a transaction (autocommit), as CREATE DATABASE needs.
    admin = await asyncpg.connect(_asyncpg_dsn(server_url), timeout=30)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close(timeout=30)
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(_asyncpg_dsn(server_url), timeout=30)
        try:
            # FORCE ends sessions a failed test may have left open.
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close(timeout=30)


@pytest_asyncio.fixture
async def postgres_database_url(postgres_server_url: str) -> AsyncIterator[str]:
    async with fresh_database(postgres_server_url) as url:
        yield url
