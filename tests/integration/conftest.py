"""One real Kafka broker, one PostgreSQL and one MariaDB server for the whole test session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy

from tests.support.kafka import session_kafka
from tests.support.mariadb import fresh_database, session_mariadb
from tests.support.postgres import session_postgres
from tests.support.product import Product, running_product


@pytest.fixture(scope="session")
def kafka_bootstrap_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with session_kafka(tmp_path_factory.mktemp("kafka")) as servers:
        yield servers


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with session_postgres(tmp_path_factory.mktemp("postgres")) as url:
        yield url


@pytest.fixture
def fresh_postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A new, empty database on the session's server, so tests never share rows."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin_url = sqlalchemy.engine.make_url(
        postgres_server_url.replace("postgresql://", "postgresql+psycopg://", 1)
    )
    engine = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    yield postgres_server_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session")
def mariadb_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with session_mariadb(tmp_path_factory.mktemp("mariadb")) as url:
        yield url


@pytest.fixture
def fresh_mysql_url(mariadb_server_url: str) -> str:
    """A new, empty database on the session's MariaDB server."""
    return fresh_database(mariadb_server_url, f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="session")
def sqlite_product(
    kafka_bootstrap_servers: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Product]:
    with running_product(kafka_bootstrap_servers, tmp_path_factory.mktemp("sqlite")) as product:
        yield product


@pytest.fixture(scope="session")
def postgres_product(
    kafka_bootstrap_servers: str,
    postgres_server_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Product]:
    workdir: Path = tmp_path_factory.mktemp("postgres")
    with running_product(kafka_bootstrap_servers, workdir, postgres_server_url) as product:
        yield product


@pytest.fixture(params=["sqlite", "postgres"])
def product(request: pytest.FixtureRequest) -> Product:
    return request.getfixturevalue(f"{request.param}_product")  # type: ignore[no-any-return]
