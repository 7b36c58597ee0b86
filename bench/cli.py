"""`python -m bench [--only NAME]... [--quick] [--profile]`: run, print the table, save results.

One benchmark failing does not stop the others: its error is printed and kept in the JSON,
and the exit code is 1. Results go to `bench/results/<UTC timestamp>.json` and `.png`.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from bench.broker import bench_broker
from bench.context import DEFAULT_PARTITIONS, BenchContext
from bench.figures import Figure
from bench.plot import can_plot, plot
from bench.registry import BENCHMARKS, Benchmark, by_name
from bench.report import environment, relate_to_floor, table, write_json

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    # A topic's first produce may meet a leader not yet elected; aiokafka retries, quietly.
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    try:
        chosen = [by_name(name) for name in args.only] if args.only else list(BENCHMARKS)
    except KeyError as error:
        print(f"bench: {error.args[0]}", file=sys.stderr)
        return 2
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    with _workdir(args.workdir) as workdir:
        with bench_broker(workdir / "kafka", _say) as broker:
            _say(f"broker: {broker.description}")
            ctx = BenchContext(broker.bootstrap_servers, workdir, args.quick, args.profile)
            ctx.profiles_dir = args.results_dir / f"{stamp}-profiles"
            figures, errors = _run_all(ctx, chosen)
        env = environment(broker.description, args.quick, DEFAULT_PARTITIONS)
    relate_to_floor(figures)
    print(table(figures))
    out: Path = args.results_dir / f"{stamp}.json"
    write_json(out, env, figures, errors)
    print(f"\nresults: {out}")
    if not can_plot():
        print("plot:    skipped: matplotlib is not installed (pip install -e '.[bench]')")
    elif plot(figures, out.with_suffix(".png")):
        print(f"plot:    {out.with_suffix('.png')}")
    for name, trace in errors.items():
        print(f"{name} failed: {trace.splitlines()[-1]}", file=sys.stderr)
    return 1 if errors else 0


def _run_all(ctx: BenchContext, chosen: list[Benchmark]) -> tuple[list[Figure], dict[str, str]]:
    figures: list[Figure] = []
    errors: dict[str, str] = {}
    for benchmark in chosen:
        _say(f"\n== {benchmark.name}: {benchmark.summary}")
        try:
            found = benchmark.run(ctx)
        except Exception:
            errors[benchmark.name] = traceback.format_exc()
            _say(errors[benchmark.name])
            continue
        for figure in found:
            _say(f"{figure.name} = {figure.value_text()}")
        figures.extend(found)
    return figures, errors


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark alertfold on a real broker: "
        + ", ".join(b.name for b in BENCHMARKS)
        + ". Uses KAFKA_BOOTSTRAP_SERVERS when set, else starts a local broker.",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run only this benchmark (repeatable)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes: proves the benchmarks run, measures little",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile the worker (fold, latency), the replay and the API (views) with py-spy, "
        "if on PATH; stacks go beside the results",
    )
    parser.add_argument(
        "--workdir", type=Path, help="keep the processes' logs and data here (default: removed)"
    )
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=RESULTS_DIR,
        help=f"where to write (default {RESULTS_DIR})",
    )
    return parser


@contextmanager
def _workdir(kept: Path | None) -> Iterator[Path]:
    if kept is not None:
        kept.mkdir(parents=True, exist_ok=True)
        yield kept.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="alertfold-bench-") as scratch:
        yield Path(scratch)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
