"""Generations of a read model: which one is served, which one a replay is building.

A read model's tables carry a generation number (`issues_g3`). One row per read model in
`read_model_generations` says which generation is `live` (served and kept current by the
projector) and which one, if any, is `building` (filled from offset 0 by `alertfold
replay`). Switching is one UPDATE of that row, so every reader and writer sees either the old
generation or the new one, never a mix. A generation that is neither live nor building is
retired: nothing may write to it any more, and its tables are dropped.

Writers check, inside their own transaction, that the generation they write is still live
or building (`writable`), and hold the row so a switch cannot commit in between:
PostgreSQL and MySQL with a shared row lock (writers do not block each other), SQLite with
a no-op UPDATE that takes the database's single write lock before anything is read, so the
check and the writes see the same state. A writer that finds its generation retired gets
`GenerationRetired` and moves to the live one.

The registry is shared by every SQL read model; each passes its own name.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from projections.upserts import insert_ignoring_duplicates

metadata = sa.MetaData()

read_model_generations = sa.Table(
    "read_model_generations",
    metadata,
    sa.Column(
        "read_model", sa.String().with_variant(sa.String(100), "mysql", "mariadb"), primary_key=True
    ),
    sa.Column("live", sa.Integer, nullable=False),
    sa.Column("building", sa.Integer, nullable=True),
)

FIRST_GENERATION = 1
# Serialises schema creation between processes on PostgreSQL, where two concurrent
# `CREATE TABLE IF NOT EXISTS` can still collide in the catalog (pg_type).
SCHEMA_LOCK = 0x616C6572  # "aler"


class GenerationRetired(Exception):
    """The generation a writer owns was replaced (or abandoned); its tables may be gone."""


@dataclass(frozen=True)
class GenerationState:
    live: int
    building: int | None

    def writable(self, generation: int) -> bool:
        return generation in (self.live, self.building)


def lock_schema(conn: sa.Connection) -> None:
    """Hold the schema lock until the transaction ends (PostgreSQL; SQLite needs none)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})


class GenerationRegistry:
    """The generation row of one read model; every method runs on the caller's connection.

    Taking a connection lets a read model create or drop its tables in the same transaction
    as the registry change.
    """

    def __init__(self, read_model: str) -> None:
        self.read_model = read_model
        self._row = read_model_generations.c.read_model == read_model
        # Built once: every batch a reader writes asks for the state (SQLAlchemy then
        # reuses their compiled form instead of building them again).
        table = read_model_generations
        self._state_query = sa.select(table.c.live, table.c.building).where(self._row)
        self._touch = table.update().where(self._row).values(live=table.c.live)

    def create(self, conn: sa.Connection) -> GenerationState:
        """Create the registry (if missing) and this read model's row (generation 1 live).

        `INSERT … ON CONFLICT DO NOTHING` and, on PostgreSQL, a transaction-scoped advisory
        lock keep this race-free between processes that start together (the projector, the
        auditor and the API each create their read model's row).
        """
        lock_schema(conn)
        conn.execute(sa.schema.CreateTable(read_model_generations, if_not_exists=True))
        insert_ignoring_duplicates(
            conn,
            read_model_generations,
            [{"read_model": self.read_model, "live": FIRST_GENERATION, "building": None}],
        )
        return self.state(conn)

    def state(self, conn: sa.Connection) -> GenerationState:
        return self._read(conn, self._state_query)

    def hold(self, conn: sa.Connection) -> GenerationState:
        """The state, held until the transaction ends: no switch can commit meanwhile."""
        if conn.dialect.name != "sqlite":
            return self._read(conn, self._state_query.with_for_update(read=True))
        self._take_sqlite_write_lock(conn)
        return self.state(conn)

    def writable(self, conn: sa.Connection, generation: int | None) -> int:
        """`generation` (the live one when None), held; `GenerationRetired` if retired."""
        state = self.hold(conn)
        if generation is None:
            return state.live
        if not state.writable(generation):
            raise GenerationRetired(
                f"{self.read_model} generation {generation} was replaced "
                f"(live: {state.live}, building: {state.building})"
            )
        return generation

    def begin_building(self, conn: sa.Connection) -> tuple[int, int | None]:
        """Allocate a new generation to build; returns it and the unfinished one it replaces.

        A generation still marked building belongs to a replay that was killed before it
        could clean up; the caller drops its tables.
        """
        state = self._locked_state(conn)
        new = max(state.live, state.building or 0) + 1
        conn.execute(read_model_generations.update().where(self._row).values(building=new))
        return new, state.building

    def switch(self, conn: sa.Connection, generation: int) -> int:
        """Make the building `generation` live; returns the generation it replaced."""
        state = self._locked_state(conn)
        if state.building != generation:
            raise GenerationRetired(
                f"{self.read_model} generation {generation} is no longer being built "
                f"(building: {state.building}); another replay took over"
            )
        conn.execute(
            read_model_generations.update().where(self._row).values(live=generation, building=None)
        )
        return state.live

    def abandon(self, conn: sa.Connection, generation: int) -> None:
        """Forget a generation that will not be finished (its tables are the caller's)."""
        conn.execute(
            read_model_generations.update()
            .where(self._row, read_model_generations.c.building == generation)
            .values(building=None)
        )

    def _locked_state(self, conn: sa.Connection) -> GenerationState:
        if conn.dialect.name != "sqlite":
            return self._read(conn, self._state_query.with_for_update())
        self._take_sqlite_write_lock(conn)
        return self.state(conn)

    def _take_sqlite_write_lock(self, conn: sa.Connection) -> None:
        """A no-op write first, so what the transaction reads next cannot be stale."""
        conn.execute(self._touch)

    @staticmethod
    def _read(conn: sa.Connection, query: sa.Select[tuple[int, int | None]]) -> GenerationState:
        row = conn.execute(query).one()
        return GenerationState(live=row.live, building=row.building)
