"""The lookup store on each database the read models run on, for the tests that must hold on
all three: SQLite (in a folder of its own, which the engine creates), PostgreSQL and MariaDB
(a fresh database each, from the session's servers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.database import create_database_engine
from projections.lookup_store import LookupStore

EACH_DATABASE = [
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mysql", marks=pytest.mark.mysql),
]


def lookup_store_on(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LookupStore]:
    """The body of a fixture parametrised with `EACH_DATABASE`: a store with its schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/views/lookup.db"
    else:
        url = request.getfixturevalue(f"fresh_{request.param}_url")
    engine = create_database_engine(url)
    lookup = LookupStore(engine)
    lookup.create_schema()
    yield lookup
    engine.dispose()
