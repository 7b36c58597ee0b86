"""The broker stops while the API takes alerts: the API answers 503, never 202, until the
broker is back; then it accepts again by itself, and every alert it accepted is folded.

The test stops and restarts a broker, so it runs its own (the project's local broker, on
fixed ports and one data directory, so topics and their records survive the restart).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from harness.waiting import eventually
from infra.local_kafka import LocalKafka, free_port, java_version_ok
from tests.support.kafka import JAR_CACHE_DIR, START_TIMEOUT_S
from tests.support.product import Product, running_product

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not java_version_ok(), reason="needs Java 17+ for its own local broker"),
]

SENDERS = 4

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    correlation_id: str
    sent: float  # time.monotonic() before the request
    answered: float  # and after its answer
    status: int | None  # None: no HTTP answer at all
    body: str


class Senders:
    """Threads posting one alert per request, each with its own correlation id, until stopped."""

    def __init__(self, product: Product, channel: str) -> None:
        self._product = product
        self._channel = channel
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.answers: list[Answer] = []
        self._threads = [
            threading.Thread(target=self._send, args=(n,), daemon=True) for n in range(SENDERS)
        ]

    def __enter__(self) -> Senders:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def answered_between(self, start: float, end: float) -> list[Answer]:
        """Answers to requests sent at or after `start` and answered by `end`."""
        with self._lock:
            return [a for a in self.answers if a.sent >= start and a.answered <= end]

    def accepted_since(self, start: float) -> list[Answer]:
        """Accepted (202) answers to requests sent at or after `start`."""
        with self._lock:
            return [a for a in self.answers if a.sent >= start and a.status == 202]

    def _send(self, sender: int) -> None:
        with httpx.Client(base_url=self._product.api_url, timeout=30) as client:
            n = 0
            while not self._stop.is_set():
                correlation_id = f"s{sender}-{n}"
                n += 1
                alert = {
                    "slackChannelId": self._channel,
                    "correlationId": correlation_id,
                    "header": f"alert {correlation_id}",
                }
                sent = time.monotonic()
                try:
                    response = client.post("/alert", json=alert)
                    status, body = response.status_code, response.text
                except httpx.HTTPError as error:
                    status, body = None, repr(error)
                with self._lock:
                    self.answers.append(
                        Answer(correlation_id, sent, time.monotonic(), status, body)
                    )


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalKafka]:
    kafka = LocalKafka(
        cache_dir=JAR_CACHE_DIR,
        data_dir=tmp_path / "kafka",
        port=free_port(),
        controller_port=free_port(),
        progress=log.info,
    )
    kafka.start(timeout=START_TIMEOUT_S)
    try:
        yield kafka
    finally:
        kafka.stop()


@pytest.fixture
def product(broker: LocalKafka, tmp_path: Path) -> Iterator[Product]:
    with running_product(broker.bootstrap_servers, tmp_path / "product") as product:
        yield product


def folded_correlations(product: Product, channel: str) -> set[str]:
    events = [json.loads(r.value) for r in product.records("issue-events")]
    return {e["correlation_id"] for e in events if e["channel_id"] == channel}


def health(product: Product) -> tuple[int, bool]:
    response = product.get("/health")
    return response.status_code, response.json()["broker"]["ok"]


@pytest.mark.timeout(240)
def test_api_answers_503_while_the_broker_is_down_and_loses_no_accepted_alert(
    broker: LocalKafka, product: Product
) -> None:
    channel = f"CB{uuid.uuid4().hex[:8].upper()}"
    with Senders(product, channel) as senders:
        eventually(lambda: senders.accepted_since(0), timeout=30, what="a first accepted alert")
        # The outage comes while every part runs (the worker has folded): a worker still
        # declaring its topics dies with the broker, and `alertfold up` starts it again.
        eventually(
            lambda: folded_correlations(product, channel),
            timeout=60,
            what="the worker to fold a first alert",
        )

        broker.stop()
        down_since = time.monotonic()
        eventually(
            lambda: len(senders.answered_between(down_since, time.monotonic())) >= SENDERS,
            timeout=60,
            what="answers to alerts sent while the broker is down",
        )
        assert health(product) == (503, False)
        down_until = time.monotonic()

        broker.start(timeout=START_TIMEOUT_S)
        up_since = time.monotonic()
        eventually(
            lambda: senders.accepted_since(up_since),
            timeout=60,
            what="the API to accept alerts again, without a restart",
        )
        assert health(product) == (200, True)

    answers = senders.answers
    unexpected = [a for a in answers if a.status not in (202, 503)]
    assert not unexpected, unexpected
    while_down = senders.answered_between(down_since, down_until)
    assert [a for a in while_down if a.status != 503] == []
    assert all("Kafka did not acknowledge" in a.body for a in while_down)
    accepted = {a.correlation_id for a in answers if a.status == 202}
    log.info(
        "%d requests: %d accepted, %d refused while the broker was down",
        len(answers),
        len(accepted),
        len(while_down),
    )

    def all_accepted_folded() -> bool:
        product.check_alive()
        return accepted <= folded_correlations(product, channel)

    eventually(all_accepted_folded, timeout=60, interval=1, what=f"{len(accepted)} alerts folded")
