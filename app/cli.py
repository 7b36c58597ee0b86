"""The `alertfold` command: run the product, its parts, and the local broker.

Errors a person can act on are printed as one line on stderr with exit code 2, never as a
traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from app.audit_command import add_audit_parser
from app.composition import Alertfold, create_app
from app.config_command import add_config_parser
from app.garbage_collector import tune_garbage_collector
from app.kafka_command import add_kafka_parser
from app.notifications_command import add_notifications_parser
from app.replay_command import add_replay_parser
from app.restarts import BROKER_UNAVAILABLE
from app.status_command import add_status_parser
from app.telemetry import serve_metrics
from infra.kafka_admin import BrokerUnreachable, TopologyError, ensure_topics
from infra.local_kafka import LocalKafkaError
from infra.logs import configure_logging
from infra.settings import Settings, SettingsError, load_settings
from infra.topology import topic_specs

log = logging.getLogger("alertfold")
# The parts that put links to alertfold in what they send: Slack's Details… modal (the
# interactions, and the API in HTTP mode) and notifications (the notifier, and the API's test).
_LINKING_PARTS = ("api", "interactions", "notifier")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    tune_garbage_collector()
    try:
        return int(args.handler(args))
    except BrokerUnreachable as error:
        print(f"alertfold: {error}", file=sys.stderr)
        return BROKER_UNAVAILABLE
    except (SettingsError, TopologyError, LocalKafkaError, OSError) as error:
        print(f"alertfold: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alertfold",
        description="Event-sourced Slack alert manager. Settings come from the environment "
        "and the config file ALERTFOLD_CONFIG names (see README, 'Settings').",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    up = commands.add_parser(
        "up",
        help="run everything on embedded defaults "
        "(broker, worker, projector, auditor, presenter, notifier, API)",
    )
    up.set_defaults(handler=_up)
    worker = commands.add_parser(
        "worker", help="run a fold worker (several share the partitions between them)"
    )
    worker.set_defaults(handler=_worker)
    projector = commands.add_parser("projector", help="run the lookup view projector")
    projector.set_defaults(handler=_projector)
    auditor = commands.add_parser("auditor", help="record issue-events in the audit store")
    auditor.set_defaults(handler=_auditor)
    presenter = commands.add_parser(
        "presenter", help="show issues in Slack (dry-run without SLACK_BOT_TOKEN)"
    )
    presenter.set_defaults(handler=_presenter)
    notifier = commands.add_parser(
        "notifier", help="send issue events to the notification channels (webhook, ntfy, …)"
    )
    notifier.set_defaults(handler=_notifier)
    interactions = commands.add_parser(
        "interactions",
        help="take Slack reactions, buttons and /alertfold over Socket Mode "
        "(HTTP mode is served by the API, with SLACK_SIGNING_SECRET)",
    )
    interactions.set_defaults(handler=_interactions)
    api = commands.add_parser("api", help="run the HTTP API")
    api.set_defaults(handler=_api)
    topics = commands.add_parser("topics", help="create the topics (idempotent) and list them")
    topics.set_defaults(handler=_topics)
    openapi = commands.add_parser("openapi", help="print the HTTP API's OpenAPI document")
    openapi.set_defaults(handler=_openapi)
    verify = commands.add_parser(
        "verify",
        help="re-fold alerts and ticks from the beginning and compare with issue-events",
    )
    verify.set_defaults(handler=_verify)
    add_replay_parser(commands)
    add_status_parser(commands)
    add_audit_parser(commands)
    add_kafka_parser(commands)
    add_config_parser(commands)
    add_notifications_parser(commands)
    return parser


def _settings(process: str) -> Settings:
    settings = load_settings()
    configure_logging(settings.log_level, process, settings.log_format)
    if process in _LINKING_PARTS:
        warn_without_links(settings)
    return settings


def warn_without_links(settings: Settings) -> None:
    """Say at start that links are left out, rather than send ones no browser opens."""
    if not settings.effective_public_url:
        log.warning(
            "ALERTFOLD_PUBLIC_URL is not set and the API listens on %s, which no browser "
            "opens: Slack's Details… modal and notifications go without links to alertfold; "
            "set ALERTFOLD_PUBLIC_URL to the address people open the API at",
            settings.api_host,
        )


def _ensure_topics(alertfold: Alertfold, timeout: float = 60) -> None:
    specs = topic_specs(alertfold.settings)
    asyncio.run(ensure_topics(alertfold.kafka, specs, timeout=timeout))


def _topics(_: argparse.Namespace) -> int:
    alertfold = create_app(_settings("topics"))
    _ensure_topics(alertfold)
    for spec in topic_specs(alertfold.settings):
        print(f"{spec.name:<24} {spec.partitions:>3} partitions  {spec.purpose}")
    return 0


def _worker(_: argparse.Namespace) -> int:
    alertfold = create_app(_settings("worker"))
    _ensure_topics(alertfold)
    log.info("fold worker starting on %s", alertfold.kafka.servers)
    worker = alertfold.worker()
    _run_part(alertfold, "worker", worker, lambda: worker.ready)
    return 0


def _projector(_: argparse.Namespace) -> int:
    alertfold = create_app(_settings("projector"))
    _ensure_topics(alertfold)
    log.info("lookup projector reading %s", alertfold.settings.issue_events_topic)
    projector = alertfold.projector()
    _run_part(alertfold, "projector", projector, lambda: projector.ready)
    return 0


def _auditor(_: argparse.Namespace) -> int:
    alertfold = create_app(_settings("auditor"))
    _ensure_topics(alertfold)
    log.info("auditor recording %s", alertfold.settings.issue_events_topic)
    auditor = alertfold.auditor()
    _run_part(alertfold, "auditor", auditor, lambda: auditor.ready)
    return 0


def _presenter(_: argparse.Namespace) -> int:
    alertfold = create_app(_settings("presenter"))
    _ensure_topics(alertfold)
    from gateways.slack.presenter import SlackSetupError

    if alertfold.settings.dry_run:
        log.info("Slack dry-run: messages are logged, nothing is sent")
    else:
        log.info("Slack presenter posting through %s", alertfold.settings.slack_api_url)
    presenter = alertfold.presenter()
    try:
        _run_part(alertfold, "presenter", presenter, lambda: _is_set(presenter.ready))
    except SlackSetupError as error:
        print(f"alertfold: {error}", file=sys.stderr)
        return 2
    return 0


def _notifier(_: argparse.Namespace) -> int:
    alertfold = create_app(_settings("notifier"))
    _ensure_topics(alertfold)
    from infra.secret_box import SecretBoxError

    log.info("notifier reading %s", alertfold.settings.issue_events_topic)
    notifier = alertfold.notifier()
    try:
        _run_part(alertfold, "notifier", notifier, lambda: notifier.ready)
    except SecretBoxError as error:
        print(f"alertfold: {error}", file=sys.stderr)
        return 2
    return 0


def _interactions(_: argparse.Namespace) -> int:
    alertfold = create_app(_settings("interactions"))
    _ensure_topics(alertfold)
    gateway = alertfold.interactions()
    log.info("Slack interactions: Socket Mode -> %s", alertfold.settings.interactions_topic)
    _run_part(alertfold, "interactions", gateway, lambda: gateway.connected)
    return 0


class _Runnable(Protocol):
    async def run(self) -> None: ...
    async def stop(self) -> None: ...


def _run_part(
    alertfold: Alertfold, part: str, service: _Runnable, ready: Callable[[], bool]
) -> None:
    """Run the part with its metrics endpoint beside it, until SIGINT or SIGTERM."""
    server = serve_metrics(alertfold.settings, part, ready)
    try:
        _run_until_signalled(service)
    finally:
        if server is not None:
            server.close()


def _is_set(ready: bool | asyncio.Event) -> bool:
    """The Slack presenter's readiness is an event its tests wait on; the dry run's a flag."""
    return ready.is_set() if isinstance(ready, asyncio.Event) else ready


def _run_until_signalled(service: _Runnable) -> None:
    async def run() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, lambda: asyncio.ensure_future(service.stop()))
        await service.run()

    asyncio.run(run())


def _api(_: argparse.Namespace) -> int:
    import uvicorn

    alertfold = create_app(_settings("api"))
    try:
        _ensure_topics(alertfold, timeout=5)
    except BrokerUnreachable as error:
        # The API still starts: it answers 503 to ingest until the broker is back.
        log.warning("%s", error)
    settings = alertfold.settings
    log.info(
        "API listening on http://%s:%d (%d process%s)",
        settings.api_host,
        settings.api_port,
        settings.api_workers,
        "" if settings.api_workers == 1 else "es",
    )
    # Several workers each build the app from the environment, as this process did.
    app: Any = alertfold.api() if settings.api_workers == 1 else "app.composition:api_app"
    server = serve_metrics(settings, "api")
    try:
        uvicorn.run(
            app,
            factory=settings.api_workers > 1,
            workers=settings.api_workers,
            host=settings.api_host,
            port=settings.api_port,
            log_level=settings.log_level,
            log_config=None,  # uvicorn's lines in alertfold's format (text or JSON)
            access_log=settings.log_level == "debug",
            # Pages' live-update streams never end by themselves; on shutdown they are cut after
            # this long, so stopping the API does not wait for every browser to go away.
            timeout_graceful_shutdown=5,
            # Longer than the idle timeout of the usual load balancers (60 s), so a kept-alive
            # connection is never closed here while a client or balancer sends on it.
            timeout_keep_alive=75,
        )
    finally:
        if server is not None:
            server.close()
    return 0


def _openapi(_: argparse.Namespace) -> int:
    from gateways.api.app import openapi_document

    print(json.dumps(openapi_document(), indent=2, sort_keys=True))
    return 0


def _verify(_: argparse.Namespace) -> int:
    from agents.verify import VerifyTopics, verify_log

    alertfold = create_app(_settings("verify"))
    _ensure_topics(alertfold, timeout=10)
    settings = alertfold.settings
    names = VerifyTopics(
        settings.alerts_topic,
        settings.ticks_topic,
        settings.interactions_topic,
        settings.issue_events_topic,
    )

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    total, results = asyncio.run(
        verify_log(alertfold.kafka, names, alertfold.routes, settings.partitions, say)
    )
    for result in results:
        if result.divergence is not None:
            print(f"diverged at {result.divergence.describe()}")
            return 1
    pending = sum(r.not_yet_folded for r in results)
    print(f"identical ({total:,} events)")
    if pending:
        print(f"{pending:,} more event(s) would follow from inputs the worker has not folded yet")
    return 0


def _up(args: argparse.Namespace) -> int:
    from app.supervisor import run_everything

    return run_everything(_settings("up"))


if __name__ == "__main__":
    sys.exit(main())
