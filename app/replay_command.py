"""`alertfold replay`: rebuild every read model from the log, then switch over.

The command only translates: settings in, progress on stderr, a summary on stdout. Ctrl-C
(or SIGTERM) asks the replay to stop; it then removes what it built and the live views stay
as they were (exit code 130).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import TYPE_CHECKING, Any

from app.composition import configure_replay_logging, create_app
from infra.kafka_admin import ensure_topics
from infra.progress import ProgressDisplay
from infra.settings import load_settings
from infra.topology import topic_specs

if TYPE_CHECKING:
    from projections.replay import ReplaySummary

log = logging.getLogger("alertfold")


def add_replay_parser(commands: Any) -> None:
    replay = commands.add_parser(
        "replay",
        help="rebuild every read model from offset 0 into fresh tables, then switch over",
    )
    replay.add_argument(
        "--processes",
        type=_positive,
        metavar="N",
        help="read the log in N processes, each a share of the partitions (default: one "
        "per 100,000 events, up to one more than the number of cores)",
    )
    replay.set_defaults(handler=_replay)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def summary_text(summary: ReplaySummary) -> str:
    """One line per read model after a headline: what a person wants to know at the end."""
    lines = [
        f"replayed {summary.events:,} events in {summary.seconds:.1f} s "
        f"({summary.events_per_second:,.0f} events/s)"
    ]
    for model in summary.models:
        counts = ", ".join(f"{count:,} {what}" for what, count in model.counts.items())
        expired = model.retention
        lines.append(
            f"{model.name}: generation {model.generation} is live (replaced {model.replaced}); "
            f"{counts}; retention removed {expired.issues_deleted:,} closed issues and "
            f"stripped {expired.alerts_stripped:,} alerts"
        )
    return "\n".join(lines)


def _replay(arguments: argparse.Namespace) -> int:
    from projections.replay import ReplayInterrupted, ReplayProgress

    settings = load_settings()
    configure_replay_logging(settings)
    alertfold = create_app(settings)
    asyncio.run(ensure_topics(alertfold.kafka, topic_specs(settings), timeout=30))
    replay = alertfold.replay(processes=arguments.processes)
    display = ProgressDisplay(sys.stderr, label="replay: ")
    last = ReplayProgress(0, 0, 0.0)

    def show(progress: ReplayProgress) -> None:
        nonlocal last
        last = progress
        display.update(progress.done, progress.total, progress.elapsed)

    replay.on_progress = show

    async def run() -> ReplaySummary:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, replay.interrupted.set)
        return await replay.run()

    try:
        summary = asyncio.run(run())
    except ReplayInterrupted:
        display.finish(last.done, last.total, last.elapsed)
        print(
            "alertfold: replay interrupted; the partial generation was removed and the "
            "live views are unchanged",
            file=sys.stderr,
        )
        return 130
    display.finish(summary.events, summary.events, summary.seconds)
    print(summary_text(summary))
    return 0
