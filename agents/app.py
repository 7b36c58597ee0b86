"""The worker's Faust app: topics, the issues table and the fold agent, wired from settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import faust

from agents.clock import Clock, register_clock
from agents.fold_agent import AlertFolder, register_fold_agent
from agents.fold_progress import FoldProgress, GapReader, progress_table
from agents.issue_table import issues_table
from agents.topics import declare_topics
from domain.routing import RouteTable
from infra.settings import Settings


def create_worker_app(
    settings: Settings,
    bootstrap_servers: str,
    routes: RouteTable,
    clock: Callable[[], datetime],
) -> faust.App:
    """Build (not start) the worker; nothing touches the network until it runs."""
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{server}" for server in bootstrap_servers.split(",")],
        store="memory://",
        datadir=str(settings.data_dir / "worker"),
        # Values are JSON documents validated by hand; Faust only moves bytes.
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        # A dead letter carries its input base64-encoded, and `alerts` takes values up to
        # 8 MB: with Faust's 1 MB default one large bad alert crashed the agent for good.
        # 16 MB is the dead-letter topic's own limit.
        producer_max_request_size=16 * 1024 * 1024,
        web_enabled=False,
        autodiscover=False,
        worker_redirect_stdouts=False,
        table_standby_replicas=0,
        # A crashed worker's channels move to a live one within seconds, not Kafka's 45 s.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
        broker_commit_every=1000,
        broker_commit_interval=1.0,
        stream_wait_empty=True,
    )
    topics = declare_topics(app, settings)
    folder = AlertFolder(
        table=issues_table(app, settings.partitions),
        progress=FoldProgress(
            progress_table(app, settings.partitions), GapReader(bootstrap_servers)
        ),
        topics=topics,
        routes=routes,
        partitions=settings.partitions,
    )
    register_fold_agent(app, topics, folder)
    register_clock(app, Clock(topics, settings.partitions, clock), settings.tick_seconds)
    return app
