"""``alertfold kafka start|stop|status|run``: the local Kafka broker, or a local cluster of
several (``--brokers 3``), from the command line.

Every handler returns a process exit code and reports failures as one actionable line on
stderr (followed, where it explains the failure, by the last lines of Maven's or the
broker's output), never as a traceback. Progress goes to stderr too, so stdout carries
only the result (``Kafka listening on 127.0.0.1:9092``) for scripts to read.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from infra.local_kafka import (
    DEFAULT_HEAP,
    DEFAULT_NODE_HEAP,
    KAFKA_VERSION,
    LOOPBACK,
    MAX_NODES,
    AlreadyRunningError,
    BrokerState,
    LocalKafka,
    LocalKafkaCluster,
    LocalKafkaError,
    find_running_nodes,
    port_accepts,
    print_progress,
    stop_cluster,
)

DEFAULT_PORT = 9092
DATA_DIR_ENV = "ALERTFOLD_DATA_DIR"
CACHE_DIR_ENV = "ALERTFOLD_CACHE_DIR"
PORT_ENV = "ALERTFOLD_KAFKA_PORT"
DEFAULT_DATA_DIR = Path(".alertfold")
DEFAULT_CACHE_DIR = Path(".cache")

START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_NOT_RUNNING = 3  # LSB init-script convention for "status" of a stopped service
EXIT_INTERRUPTED = 130

Handler = Callable[[argparse.Namespace], int]


def default_data_dir() -> Path:
    """alertfold's data directory: ``$ALERTFOLD_DATA_DIR`` or ``./.alertfold``."""
    value = os.environ.get(DATA_DIR_ENV)
    return Path(value) if value else DEFAULT_DATA_DIR


def default_cache_dir() -> Path:
    """Where downloaded jars are cached: ``$ALERTFOLD_CACHE_DIR`` or ``./.cache``."""
    value = os.environ.get(CACHE_DIR_ENV)
    return Path(value) if value else DEFAULT_CACHE_DIR


def default_port() -> int:
    """The client port: ``$ALERTFOLD_KAFKA_PORT`` (as ``alertfold up`` uses) or 9092."""
    value = os.environ.get(PORT_ENV)
    if not value:
        return DEFAULT_PORT
    try:
        return _port(value)
    except argparse.ArgumentTypeError as exc:
        raise ValueError(f"{PORT_ENV}: {exc}") from None


def broker_data_dir(data_dir: Path | None) -> Path:
    """The broker's own directory inside alertfold's data directory."""
    return (data_dir or default_data_dir()) / "kafka"


def cluster_data_dir(data_dir: Path | None) -> Path:
    """The local cluster's directory (one ``node-<id>`` folder per broker) beside it."""
    return (data_dir or default_data_dir()) / "kafka-cluster"


def _brokers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of brokers: {text!r}") from None
    if not 1 <= value <= MAX_NODES:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_NODES}, not {value}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 0 and 65535, not {value}")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


def _common_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--port",
        type=_port,
        default=None,
        help=f"client (PLAINTEXT) port on {LOOPBACK}, the first of a cluster's (one per "
        f"broker, in a row); 0 picks free ones (default ${PORT_ENV} or {DEFAULT_PORT})",
    )
    parent.add_argument(
        "--brokers",
        type=_brokers,
        default=1,
        help="brokers to start (start, run): 3 make a cluster that survives losing one, with "
        "data in <data-dir>/kafka-cluster (default %(default)s)",
    )
    parent.add_argument(
        "--controller-port",
        type=_port,
        default=0,
        help="KRaft controller port; 0 picks a free one at each start (default)",
    )
    parent.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"alertfold data directory, broker data goes in <data-dir>/kafka "
        f"(default ${DATA_DIR_ENV} or {DEFAULT_DATA_DIR})",
    )
    parent.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help=f"where the Kafka jars are cached (default ${CACHE_DIR_ENV} or {DEFAULT_CACHE_DIR})",
    )
    parent.add_argument(
        "--heap",
        default=None,
        help=f"each broker's JVM maximum heap (default {DEFAULT_HEAP} alone, "
        f"{DEFAULT_NODE_HEAP} in a cluster)",
    )
    parent.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=None,
        help=f"seconds to wait for the broker to start (default {START_TIMEOUT_S:.0f}) "
        f"or to stop before it is killed (default {STOP_TIMEOUT_S:.0f})",
    )
    return parent


def add_kafka_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add ``kafka`` and its actions; each action's handler is set as ``handler``.

    The caller runs ``args.handler(args)`` (or ``run_kafka_command(args)``) and exits
    with the returned code.
    """
    parent = _common_options()
    kafka = subparsers.add_parser(
        "kafka",
        help=f"run a local Apache Kafka {KAFKA_VERSION} broker or cluster (no Docker needed)",
        description=(
            f"A real Apache Kafka {KAFKA_VERSION} broker (KRaft), or a cluster of several, "
            "assembled from Maven Central jars (needs Java 17+, and Maven once to download "
            "the jars). Data is kept between runs."
        ),
    )
    actions = kafka.add_subparsers(dest="kafka_action", metavar="ACTION", required=True)
    handlers: dict[str, tuple[Handler, str]] = {
        "start": (cmd_start, "start the broker(s) in the background and return"),
        "stop": (cmd_stop, "stop the background broker and cluster"),
        "status": (cmd_status, "tell whether the broker and cluster run and where"),
        "run": (cmd_run, "run the broker(s) in the foreground until Ctrl-C"),
    }
    for name, (handler, help_text) in handlers.items():
        action = actions.add_parser(name, parents=[parent], help=help_text, description=help_text)
        action.set_defaults(handler=handler)
    return kafka


def run_kafka_command(args: argparse.Namespace) -> int:
    """Dispatch parsed ``kafka`` arguments to their action's handler."""
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        print("error: missing action: alertfold kafka {start,stop,status,run}", file=sys.stderr)
        return EXIT_ERROR
    return handler(args)


def _local_kafka(args: argparse.Namespace) -> LocalKafka | LocalKafkaCluster:
    cache_dir = args.cache_dir or default_cache_dir()
    port = default_port() if args.port is None else args.port
    if args.brokers > 1:
        return LocalKafkaCluster(
            cache_dir,
            cluster_data_dir(args.data_dir),
            brokers=args.brokers,
            port=port,
            heap=args.heap or DEFAULT_NODE_HEAP,
            progress=print_progress,
        )
    return LocalKafka(
        cache_dir=cache_dir,
        data_dir=broker_data_dir(args.data_dir),
        port=port,
        controller_port=args.controller_port,
        heap=args.heap or DEFAULT_HEAP,
        progress=print_progress,
    )


def _running(kafka: LocalKafka | LocalKafkaCluster) -> list[BrokerState]:
    """The brokers of ``kafka`` that already run: all of them, or none."""
    if isinstance(kafka, LocalKafka):
        state = LocalKafka.find_running(kafka.data_dir)
        return [state] if state else []
    nodes = find_running_nodes(kafka.data_dir)
    return nodes if len(nodes) == kafka.brokers else []


def _servers(states: list[BrokerState]) -> str:
    return ",".join(state.bootstrap_servers for state in states)


def _fail(message: str, details: str = "") -> int:
    print(f"error: {message}", file=sys.stderr)
    for line in details.splitlines():
        print(f"  {line}", file=sys.stderr)
    return EXIT_ERROR


def _guarded(handler: Handler) -> Handler:
    """Turn the expected failures of a handler into one line on stderr and exit code 1."""

    def wrapper(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except LocalKafkaError as exc:
            return _fail(exc.summary, exc.details)
        except ValueError as exc:
            return _fail(str(exc))
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename else ""
            return _fail(f"{exc.strerror or exc}{where}")

    wrapper.__name__ = handler.__name__
    wrapper.__doc__ = handler.__doc__
    return wrapper


@contextmanager
def _signals_ignored() -> Iterator[None]:
    """Keep a second Ctrl-C from orphaning the broker while it shuts down."""
    previous = {
        signum: signal.signal(signum, signal.SIG_IGN) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def _interruptible() -> Iterator[None]:
    """Make Ctrl-C and ``kill <pid>`` both stop a foreground broker cleanly.

    SIGINT is set explicitly because a shell starts background jobs with it ignored,
    and Python then never raises KeyboardInterrupt.
    """

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
        signal.SIGTERM: signal.signal(signal.SIGTERM, interrupt),
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@_guarded
def cmd_start(args: argparse.Namespace) -> int:
    """Start the broker detached: it keeps running after this command returns."""
    kafka = _local_kafka(args)
    running = _running(kafka)
    if running:
        print(
            f"Kafka already running on {_servers(running)} "
            f"(pid {', '.join(str(s.pid) for s in running)}, data in {kafka.data_dir})"
        )
        return EXIT_OK
    try:
        bootstrap = kafka.start(timeout=args.timeout or START_TIMEOUT_S)
    except AlreadyRunningError as exc:
        print(f"Kafka already running on {exc.state.bootstrap_servers} (pid {exc.state.pid})")
        return EXIT_OK
    except KeyboardInterrupt:
        print("interrupted; Kafka was not started", file=sys.stderr)
        return EXIT_INTERRUPTED
    detached = kafka.detach()
    states = detached if isinstance(detached, list) else [detached]
    print(f"Kafka listening on {bootstrap}")
    print(
        f"pid {', '.join(str(s.pid) for s in states)}, data and broker.log in "
        f"{kafka.data_dir}; stop it with `alertfold kafka stop`",
        file=sys.stderr,
    )
    return EXIT_OK


@_guarded
def cmd_stop(args: argparse.Namespace) -> int:
    """Stop the broker and the cluster of the data directory, whichever process started them."""
    data_dir = broker_data_dir(args.data_dir).resolve()
    timeout = args.timeout or STOP_TIMEOUT_S
    with _signals_ignored():
        state = LocalKafka.stop_running(data_dir, timeout=timeout)
        nodes = stop_cluster(cluster_data_dir(args.data_dir).resolve(), timeout=timeout)
    if state is not None:
        print(f"Kafka stopped (pid {state.pid}, was on {state.bootstrap_servers})")
    if nodes:
        print(f"Kafka cluster stopped ({len(nodes)} brokers, were on {_servers(nodes)})")
    if state is None and not nodes:
        print(f"Kafka is not running (data in {data_dir})")
    return EXIT_OK


@_guarded
def cmd_status(args: argparse.Namespace) -> int:
    """Exit 0 when the broker or a broker of the cluster runs, 3 when none does."""
    data_dir = broker_data_dir(args.data_dir).resolve()
    running = [
        *filter(None, [LocalKafka.find_running(data_dir)]),
        *find_running_nodes(cluster_data_dir(args.data_dir).resolve()),
    ]
    if not running:
        print(f"Kafka is not running (data in {data_dir})")
        return EXIT_NOT_RUNNING
    for state in running:
        if port_accepts(LOOPBACK, state.port):
            print(
                f"Kafka running on {state.bootstrap_servers} "
                f"(pid {state.pid}, Kafka {state.version}, data in {state.data_dir})"
            )
        else:
            print(
                f"Kafka (pid {state.pid}) runs but does not accept connections on "
                f"{state.bootstrap_servers} yet; see {state.data_dir / 'broker.log'}"
            )
    return EXIT_OK


@_guarded
def cmd_run(args: argparse.Namespace) -> int:
    """Run the broker in the foreground; Ctrl-C (or SIGTERM) stops it cleanly."""
    kafka = _local_kafka(args)
    with _interruptible():
        try:
            bootstrap = kafka.start(timeout=args.timeout or START_TIMEOUT_S)
            print(f"Kafka listening on {bootstrap}", flush=True)
            print("press Ctrl-C to stop", file=sys.stderr, flush=True)
            # A cluster runs on while a broker of it stops; it ends with the last.
            exits = kafka.wait()
        except KeyboardInterrupt:
            print("stopping Kafka…", file=sys.stderr, flush=True)
            with _signals_ignored():
                kafka.stop(timeout=args.timeout or STOP_TIMEOUT_S)
            print("Kafka stopped", file=sys.stderr)
            return EXIT_OK
    # 143 = 128 + SIGTERM: the JVM's exit after a clean shutdown requested by a signal,
    # e.g. `alertfold kafka stop` from another terminal.
    codes = list(exits.values()) if isinstance(exits, dict) else [exits]
    if all(code in (0, 143, -signal.SIGTERM) for code in codes):
        print("Kafka stopped", file=sys.stderr)
        return EXIT_OK
    return _fail(
        f"Kafka exited with code {', '.join(map(str, codes))}; see broker.log in {kafka.data_dir}",
    )
