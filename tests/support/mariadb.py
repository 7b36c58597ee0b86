"""A real MariaDB server for tests, without Docker, like `tests.support.postgres`.

`ALERTFOLD_TEST_MYSQL_URL` points the tests at an existing MySQL or MariaDB server.
Otherwise a throwaway server is started from the machine's MariaDB binaries
(`mariadb-install-db`, `mariadbd`; Debian's `mariadb-server`, which `make test` installs when
missing) in a temporary folder, on a free loopback port, with durability switched off (its
data is discarded anyway) and root allowed in without a password over TCP.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pymysql
from sqlalchemy.engine import make_url

from infra.local_kafka import free_port

ENV_URL = "ALERTFOLD_TEST_MYSQL_URL"

INSTALL_HINT = (
    "MariaDB is needed for these tests: set ALERTFOLD_TEST_MYSQL_URL to a server "
    "(mysql://user:password@host:port/database), or install the server "
    "(Debian/Ubuntu: `apt-get install mariadb-server`; `make test` does it when root)."
)


def _binaries() -> tuple[str, str] | None:
    install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
    server = shutil.which("mariadbd") or shutil.which("mariadbd", path="/usr/sbin:/usr/libexec")
    return (install, server) if install and server else None


def mariadb_available() -> bool:
    return bool(os.environ.get(ENV_URL)) or _binaries() is not None


@contextlib.contextmanager
def session_mariadb(tmp_dir: Path) -> Iterator[str]:
    """Yield a URL of a server (database `mysql`; tests create their own), stopping it after."""
    url = os.environ.get(ENV_URL)
    if url:
        yield url
        return
    binaries = _binaries()
    if binaries is None:
        raise RuntimeError(
            f"MariaDB binaries (mariadb-install-db, mariadbd) not found. {INSTALL_HINT}"
        )
    # A Unix socket path must be short; pytest's folders can be long.
    folder = Path(tempfile.mkdtemp(prefix="alertfold-maria-"))
    try:
        yield from _run_server(*binaries, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run_server(install: str, server: str, folder: Path) -> Iterator[str]:
    data = folder / "data"
    user = ["--user=root"] if os.geteuid() == 0 else []
    subprocess.run(
        [
            install,
            "--no-defaults",
            f"--datadir={data}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            *user,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    port = free_port()
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [
            server,
            "--no-defaults",
            f"--datadir={data}",
            f"--socket={folder / 'sock'}",
            f"--pid-file={folder / 'server.pid'}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            "--skip-name-resolve",
            "--skip-log-bin",
            "--innodb-flush-log-at-trx-commit=0",
            "--innodb-doublewrite=0",
            "--innodb-buffer-pool-size=256M",
            "--max-connections=200",
            *user,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for(port, process, folder / "server.log")
        yield f"mysql://root@127.0.0.1:{port}/mysql"
    finally:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"MariaDB exited with {process.returncode}:\n{_tail(log)}")
        try:
            pymysql.connect(host="127.0.0.1", port=port, user="root", connect_timeout=2).close()
            return
        except pymysql.err.OperationalError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"MariaDB did not accept connections:\n{_tail(log)}") from None
            time.sleep(0.2)


def fresh_database(server_url: str, name: str) -> str:
    """Create an empty database on the server; its URL."""
    url = make_url(server_url)
    with (
        contextlib.closing(
            pymysql.connect(
                host=url.host or "127.0.0.1",
                port=url.port or 3306,
                user=url.username or "root",
                password=url.password or "",
                autocommit=True,
            )
        ) as conn,
        conn.cursor() as cursor,
    ):
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    return url.set(database=name).render_as_string(hide_password=False)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
