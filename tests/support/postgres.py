"""A real PostgreSQL server for tests, without Docker.

`ALERTFOLD_TEST_POSTGRES_URL` points the tests at an existing server. Otherwise a throwaway
cluster is created with the machine's PostgreSQL server binaries (`initdb`, `pg_ctl`), bound
to a free loopback port, with trust authentication and durability switched off (its data is
discarded anyway). PostgreSQL refuses to run as root, so under root the cluster is owned by
and run as the `postgres` system user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from infra.local_kafka import free_port

ENV_URL = "ALERTFOLD_TEST_POSTGRES_URL"
DATABASE = "alertfold_test"
SERVER_USER = "postgres"

INSTALL_HINT = (
    "PostgreSQL is needed for these tests: set ALERTFOLD_TEST_POSTGRES_URL to a server "
    "(postgresql://user:password@host:port/database), or install the server binaries "
    "(Debian/Ubuntu: `apt-get install postgresql`; they provide initdb and pg_ctl)."
)

# A Unix socket path must fit in sockaddr_un (107 bytes with `/.s.PGSQL.<port>`).
_MAX_SOCKET_DIR = 80


@dataclass(frozen=True)
class _Binaries:
    initdb: Path
    pg_ctl: Path


def postgres_available() -> bool:
    """Whether `session_postgres` can provide a server on this machine."""
    if os.environ.get(ENV_URL):
        return True
    return _find_binaries() is not None and (not _is_root() or _server_user_exists())


@contextlib.contextmanager
def session_postgres(tmp_dir: Path) -> Iterator[str]:
    """Yield a SQLAlchemy URL of an empty PostgreSQL database, stopping the server after."""
    url = os.environ.get(ENV_URL)
    if url:
        yield url
        return
    binaries = _find_binaries()
    if binaries is None:
        raise RuntimeError(f"PostgreSQL server binaries (initdb, pg_ctl) not found. {INSTALL_HINT}")
    if _is_root() and not _server_user_exists():
        raise RuntimeError(
            f"running as root, but there is no {SERVER_USER!r} system user to run PostgreSQL "
            f"as (initdb refuses root). {INSTALL_HINT}"
        )
    with _cluster_dir(Path(tmp_dir)) as cluster_dir:
        yield from _run_cluster(binaries, cluster_dir)


def _run_cluster(binaries: _Binaries, cluster_dir: Path) -> Iterator[str]:
    data_dir = cluster_dir / "data"
    log_file = cluster_dir / "server.log"
    if _is_root():
        entry = pwd.getpwnam(SERVER_USER)
        for path in (cluster_dir, *cluster_dir.rglob("*")):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    _run(
        binaries,
        cluster_dir,
        [
            str(binaries.initdb),
            "--pgdata",
            str(data_dir),
            "--username",
            SERVER_USER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-locale",
            "--no-sync",
        ],
    )
    port = _start(binaries, cluster_dir, data_dir, log_file)
    try:
        with psycopg.connect(
            host="127.0.0.1", port=port, user=SERVER_USER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        yield f"postgresql://{SERVER_USER}@127.0.0.1:{port}/{DATABASE}"
    finally:
        _run(
            binaries,
            cluster_dir,
            [str(binaries.pg_ctl), "stop", "--pgdata", str(data_dir), "--mode", "fast", "--wait"],
            check=False,
        )


def _start(binaries: _Binaries, cluster_dir: Path, data_dir: Path, log_file: Path) -> int:
    """Start the server on a free port; another process may grab the port, so retry."""
    last_error = ""
    for _attempt in range(3):
        port = free_port()
        options = " ".join(
            [
                f"-p {port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={cluster_dir}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=50",
            ]
        )
        result = _run(
            binaries,
            cluster_dir,
            [
                str(binaries.pg_ctl),
                "start",
                "--pgdata",
                str(data_dir),
                "--log",
                str(log_file),
                "--options",
                options,
                "--wait",
                "--timeout",
                "60",
            ],
            check=False,
        )
        if result.returncode == 0 and _accepts_connections(port, timeout=30):
            return port
        last_error = _tail(log_file) or result.stderr or result.stdout
        _run(
            binaries,
            cluster_dir,
            [str(binaries.pg_ctl), "stop", "--pgdata", str(data_dir), "--mode", "immediate"],
            check=False,
        )
    raise RuntimeError(f"PostgreSQL did not start in {cluster_dir}:\n{last_error}")


def _accepts_connections(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(
                host="127.0.0.1", port=port, user=SERVER_USER, dbname="postgres", connect_timeout=2
            ):
                return True
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)


def _run(
    binaries: _Binaries, cwd: Path, command: list[str], *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    if _is_root():
        command = [_runuser(), "-u", SERVER_USER, "--", *command]
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    env.pop("PGDATA", None)
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed with exit code {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result


@contextlib.contextmanager
def _cluster_dir(tmp_dir: Path) -> Iterator[Path]:
    """A directory for the cluster: inside `tmp_dir` when the server user can reach it.

    Under root, pytest's temporary directories sit below a mode-0700 root-owned folder the
    `postgres` user cannot traverse, and a long path would not fit a Unix socket name; a
    fresh folder under the system temporary directory is used then, and removed after.
    """
    tmp_dir.mkdir(parents=True, exist_ok=True)
    candidate = tmp_dir / "pg"
    if len(str(candidate)) <= _MAX_SOCKET_DIR and _server_user_can_enter(tmp_dir):
        candidate.mkdir(exist_ok=True)
        yield candidate
        return
    fallback = Path(tempfile.mkdtemp(prefix="alertfold-pg-"))
    try:
        yield fallback
    finally:
        shutil.rmtree(fallback, ignore_errors=True)


def _server_user_can_enter(directory: Path) -> bool:
    if not _is_root():
        return True
    result = subprocess.run(
        [_runuser(), "-u", SERVER_USER, "--", "test", "-x", str(directory)],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def _find_binaries() -> _Binaries | None:
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return _Binaries(Path(initdb), Path(pg_ctl))
    for bin_dir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True):
        initdb_path, pg_ctl_path = Path(bin_dir, "initdb"), Path(bin_dir, "pg_ctl")
        if initdb_path.is_file() and pg_ctl_path.is_file():
            return _Binaries(initdb_path, pg_ctl_path)
    return None


def _version_key(bin_dir: str) -> tuple[int, ...]:
    version = Path(bin_dir).parent.name
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def _is_root() -> bool:
    return os.geteuid() == 0


def _server_user_exists() -> bool:
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        return False
    return shutil.which("runuser") is not None


def _runuser() -> str:
    return shutil.which("runuser") or "runuser"


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
