"""Fuzz the HTTP API from its own OpenAPI document: whatever a client sends, valid or not,
the API answers it without a server error (the broker is up, so not even 503).

Schemathesis generates requests for every operation of `docs/openapi.json` (the document
the API serves; a unit test keeps them equal), conforming and deliberately non-conforming
ones, and sends them to the API process, which publishes accepted alerts to the real broker
and reads the real SQLite view.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.schemas import OpenApiSchema

from domain.alert_limits import MAX_FIELD_COUNT
from tests.support.kafka import REPO_ROOT
from tests.support.product import Product, running_product

pytestmark = pytest.mark.integration

EXAMPLES_PER_OPERATION = 25
FuzzCase = schemathesis.Case[Any]


def fuzz_schema(*phases: str) -> OpenApiSchema:
    loaded = schemathesis.openapi.from_path(REPO_ROOT / "docs" / "openapi.json")
    loaded.config.update(request_timeout=30)
    loaded.config.phases.update(phases=list(phases))
    loaded.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], database="none"
    )
    return loaded


# Reads also get the coverage phase: every boundary value of every query parameter (it found
# `offset=2**63`) and every method a route does not have. Ingest gets random bodies only:
# the coverage phase makes about a thousand cases per alert route.
reads = fuzz_schema("examples", "coverage", "fuzzing").include(method="GET")
ingest = fuzz_schema("examples", "fuzzing").exclude(method="GET")

bounded = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def fuzzed_product(
    kafka_bootstrap_servers: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Product]:
    workdir: Path = tmp_path_factory.mktemp("fuzz")
    # Configured as in production: notification channels with secrets can be stored (a
    # missing key answers 503, which is the operator's to fix, not the client's).
    key = base64.b64encode(os.urandom(32)).decode()
    with running_product(kafka_bootstrap_servers, workdir, ALERTFOLD_SECRETS_KEY=key) as product:
        yield product


@reads.parametrize()
@bounded
def test_no_read_request_makes_the_api_fail(case: FuzzCase, fuzzed_product: Product) -> None:
    answers_without_server_error(case, fuzzed_product)


@ingest.parametrize()
@bounded
def test_no_ingest_request_makes_the_api_fail(case: FuzzCase, fuzzed_product: Product) -> None:
    answers_without_server_error(case, fuzzed_product)


# Schema-conforming alerts almost never pass the domain's rules (a channel id's form, a
# non-empty header or text, absolute links...), so the fuzz above rarely reaches the broker:
# these are valid alerts with arbitrary text, in batches, all of which must be accepted.
printable = st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), max_size=300)
valid_alerts = st.fixed_dictionaries(
    {
        "slackChannelId": st.from_regex(r"C[A-Z0-9]{4,12}", fullmatch=True),
        "header": printable.filter(str.strip),
    },
    optional={
        "correlationId": printable.filter(str.strip),
        "text": printable,
        "severity": st.sampled_from(["panic", "error", "warning", "info", "resolved"]),
        "author": printable,
        "issueFollowUpEnabled": st.booleans(),
        "fields": st.lists(
            st.fixed_dictionaries({"title": printable, "value": printable}),
            max_size=MAX_FIELD_COUNT,
        ),
        "metadata": st.dictionaries(printable, st.integers() | printable, max_size=5),
    },
)


@given(batch=st.lists(valid_alerts, min_size=1, max_size=5))
@bounded
def test_any_valid_alert_batch_is_accepted(
    fuzzed_product: Product, batch: list[dict[str, object]]
) -> None:
    response = httpx.post(f"{fuzzed_product.api_url}/alerts", json=batch, timeout=30)
    assert response.status_code == 202, response.text[:500]


def answers_without_server_error(case: FuzzCase, product: Product) -> None:
    query = case.query or {}
    if "after" in query and str(query.get("wait_ms", "0")).isdigit():
        # Marks the view never reaches would each wait the default 2 s out: 20 ms will do.
        query["wait_ms"] = min(int(query.get("wait_ms", 20)), 20)
    response = case.call(base_url=product.api_url)
    product.check_alive()
    if response.status_code == 504 and "after" in (case.query or {}):
        return  # the documented answer: the view has not folded past the marks in time
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} answered {response.status_code}: "
        f"{response.text[:500]}\n{case.as_curl_command()}"
    )
