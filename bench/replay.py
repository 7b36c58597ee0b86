"""Replay: `alertfold replay` rebuilding every read model from offset 0 of `issue-events`.

The log is written straight to `issue-events`: ten events per issue (opened, then grouped),
built with the tests' `IssueStory` once and copied per issue with its ids replaced, so a
million events are loaded at the broker's pace rather than pydantic's. Nothing else runs:
the figure is the command's own rate, and the wall time includes its start-up.
`ALERTFOLD_BENCH_DATABASE_URL` replays into another database than the default SQLite (an
empty PostgreSQL or MySQL database).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from bench.alerts import channel_id
from bench.context import BenchContext
from bench.figures import Figure, Target
from bench.kafka_io import produce
from bench.profiling import record_prefix, summarise_file
from harness.stories import IssueStory
from wire.issue_events import encode_issue_event

EVENTS_PER_ISSUE = 10
CHANNELS = 64
_SUMMARY = re.compile(r"replayed ([\d,]+) events in ([\d.]+) s \(([\d,]+) events/s\)")


def issue_events(count: int) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) pairs of `count` issue events, whole issues of `EVENTS_PER_ISSUE` events."""
    story = IssueStory(
        "ISSUEID",
        "CHANNELID",
        "CORRID",
        start=datetime.now(UTC) - timedelta(hours=1),
        step=timedelta(seconds=1),
    )
    story.opened()
    for _ in range(EVENTS_PER_ISSUE - 1):
        story.grouped()
    template = [encode_issue_event(event) for event in story.events]
    for issue in range(count // EVENTS_PER_ISSUE):
        channel = channel_id(issue % CHANNELS).encode()
        ids = f"bench-issue-{issue}".encode(), f"corr-{issue}".encode()
        for value in template:
            yield (
                channel,
                value.replace(b"ISSUEID", ids[0])
                .replace(b"CORRID", ids[1])
                .replace(b"CHANNELID", channel),
            )


def run(ctx: BenchContext) -> list[Figure]:
    count = ctx.size(1_000_000, 5_000)
    database = chosen_database()
    env = {"DATABASE_URL": database} if database else {}
    with ctx.product("replay", **env) as product:
        product.create_topics()
        ctx.say(f"writing {count:,} issue events to {product.topic('issue-events')}")
        asyncio.run(
            produce(
                product.kafka,
                product.topic("issue-events"),
                issue_events(count),
                ctx.progress("load", count),
            )
        )
        ctx.say("running alertfold replay")
        stacks = ctx.profiles_dir / "replay" / "stacks.collapsed.txt"
        prefix = (record_prefix(stacks) or []) if ctx.profile else []
        started = time.perf_counter()
        done = product.command("replay", timeout=120 + count / 1_000, prefix=prefix)
        done.check_returncode()
        wall = time.perf_counter() - started
    found = _SUMMARY.search(done.stdout)
    if found is None:
        raise AssertionError(
            f"alertfold replay printed no summary:\n{done.stdout}\n{done.stderr[-2000:]}"
        )
    events = int(found[1].replace(",", ""))
    if events != count:
        raise AssertionError(f"alertfold replay read {events:,} events, {count:,} were written")
    setup = {
        "events": count,
        "issues": count // EVENTS_PER_ISSUE,
        "partitions": ctx.partitions,
        "command_s": float(found[2]),
        "wall_s_with_startup": round(wall, 1),
        "database": database_kind(database),
        "summary": _without_profiler_lines(done.stdout),
        **({"profile": summarise_file(stacks)} if ctx.profile else {}),
    }
    return [
        Figure(
            "replay",
            "alertfold replay, every read model",
            float(found[3].replace(",", "")),
            "events/s",
            Target(50_000, True),
            setup,
        ),
        Figure("replay", "same, wall time incl. start-up", count / wall, "events/s", setup=setup),
    ]


def chosen_database() -> str | None:
    """The database the replay and views benchmarks write to instead of the default SQLite:
    `ALERTFOLD_BENCH_DATABASE_URL`, an empty PostgreSQL or MySQL database."""
    return os.environ.get("ALERTFOLD_BENCH_DATABASE_URL") or None


def database_kind(url: str | None) -> str:
    if not url:
        return "SQLite"
    return "PostgreSQL" if url.startswith("postgres") else "MySQL/MariaDB"


def _without_profiler_lines(output: str) -> str:
    lines = output.splitlines()
    return "\n".join(line for line in lines if line.strip() and not line.startswith("py-spy>"))
