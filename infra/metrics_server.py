"""Each part's own HTTP endpoint: `/metrics` for Prometheus, `/health` for people and probes.

It runs in a thread of its own, so a scrape is answered while the part's event loop is busy
folding a batch. `/metrics` is prometheus-client's exposition of the default registry;
`/health` is a small JSON object (`PartHealth.report`): the part, whether it is ready, and
the last warning or error it logged, which is what `alertfold status` shows. A port already
taken costs the metrics, not the part: the process logs a warning and runs on.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIEnvironment

from prometheus_client import make_wsgi_app

from infra.metrics import LOG_MESSAGES

log = logging.getLogger(__name__)

PROBLEM_TEXT_LIMIT = 300


@dataclass(frozen=True)
class Problem:
    """A warning or error as logged (the same text, so no more secret than the log)."""

    at: str
    level: str
    logger: str
    message: str


class PartHealth:
    """What `/health` reports; also a logging handler noting the last warning or error."""

    def __init__(self, part: str, ready: Callable[[], bool] = lambda: True) -> None:
        self.part = part
        self._ready = ready
        self._started = time.time()
        self.last_problem: Problem | None = None

    def ready(self) -> bool:
        try:
            return bool(self._ready())
        except Exception:  # read from another thread while the part changes: ask again later
            return False

    def note(self, record: logging.LogRecord) -> None:
        LOG_MESSAGES.labels(record.levelname.lower()).inc()
        message = " ".join(record.getMessage().split())
        if len(message) > PROBLEM_TEXT_LIMIT:
            message = message[: PROBLEM_TEXT_LIMIT - 3] + "..."
        self.last_problem = Problem(
            at=datetime.fromtimestamp(record.created, UTC).isoformat(timespec="seconds"),
            level=record.levelname.lower(),
            logger=record.name,
            message=message,
        )

    def report(self) -> dict[str, Any]:
        problem = self.last_problem
        return {
            "part": self.part,
            "ready": self.ready(),
            "uptime_seconds": round(time.time() - self._started, 1),
            "last_problem": None if problem is None else asdict(problem),
        }

    def watch_logs(self) -> None:
        """Note every warning and error logged from now on, whichever logger it came from."""
        logging.getLogger().addHandler(_ProblemHandler(self))


class _ProblemHandler(logging.Handler):
    def __init__(self, health: PartHealth) -> None:
        super().__init__(logging.WARNING)
        self._health = health

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._health.note(record)
        except Exception:
            self.handleError(record)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    """Scrapes come every few seconds: no access log line for each."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _application(health: PartHealth) -> Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]:
    metrics = make_wsgi_app()

    def application(request: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = request.get("PATH_INFO", "")
        if path == "/metrics":
            exposition: Iterable[bytes] = metrics(request, start_response)
            return exposition
        if path == "/health":
            report = health.report()
            body = json.dumps(report).encode()
            status = "200 OK" if report["ready"] else "503 Service Unavailable"
        else:
            body, status = b'{"error": "not found: /metrics or /health"}', "404 Not Found"
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]

    return application


class MetricsServer:
    def __init__(self, server: WSGIServer) -> None:
        self._server = server
        self.port: int = server.server_port
        self._thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def serve_part_metrics(host: str, port: int, health: PartHealth) -> MetricsServer | None:
    """Serve `/metrics` and `/health` for the process's part; None when the port is taken."""
    health.watch_logs()
    try:
        server = make_server(
            host, port, _application(health), server_class=_Server, handler_class=_QuietHandler
        )
    except OSError as error:
        log.warning(
            "metrics: cannot listen on %s:%d (%s); this %s serves no metrics",
            host,
            port,
            error.strerror or error,
            health.part,
        )
        return None
    log.info("metrics on http://%s:%d/metrics, health on /health", host, server.server_port)
    return MetricsServer(server)
