"""docker-compose.yml runs every part of alertfold, on settings alertfold knows.

No Docker engine runs the tests, so the file's structure is what is checked: a misspelt
setting or a forgotten part would otherwise surface only on someone else's machine.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.cli import _parser
from app.supervisor import PARTS
from infra.local_kafka import KAFKA_VERSION
from infra.settings import ENVIRONMENT

REPO = Path(__file__).resolve().parents[2]
ALERTFOLD_PARTS = (*PARTS, "interactions")


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services: dict[str, Any] = compose["services"]
    return services


def alertfold_services(services: dict[str, Any]) -> dict[str, Any]:
    return {name: s for name, s in services.items() if s.get("image") == "alertfold:local"}


def test_every_part_runs_in_a_service_of_its_own(services: dict[str, Any]) -> None:
    commands = {name: s["command"] for name, s in alertfold_services(services).items()}
    assert commands == {part: [part] for part in ALERTFOLD_PARTS}
    for part in ALERTFOLD_PARTS:
        assert _parser().parse_args([part]).handler is not None


def test_two_workers_share_the_partitions(services: dict[str, Any]) -> None:
    assert services["worker"]["deploy"]["replicas"] == 2


def test_interactions_start_only_with_the_slack_profile(services: dict[str, Any]) -> None:
    assert services["interactions"]["profiles"] == ["slack"]
    others = {n: s for n, s in alertfold_services(services).items() if n != "interactions"}
    assert all("profiles" not in s for s in others.values())


def test_the_broker_is_apache_kafkas_own_image_of_the_version_tested_here(
    services: dict[str, Any],
) -> None:
    assert services["kafka"]["image"] == f"apache/kafka:{KAFKA_VERSION}"
    for service in alertfold_services(services).values():
        assert service["depends_on"]["kafka"] == {"condition": "service_healthy"}
        assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}
        assert service["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"


def test_every_setting_passed_to_a_part_is_one_alertfold_reads(services: dict[str, Any]) -> None:
    for name, service in alertfold_services(services).items():
        unknown = set(service["environment"]) - set(ENVIRONMENT)
        assert not unknown, f"{name} sets {unknown}, which alertfold does not read"


def test_the_image_holds_every_package_and_sets_only_known_settings() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = [
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    ]
    copied = re.findall(r"^COPY (\w+) \1$", dockerfile, re.MULTILINE)
    assert sorted(copied) == sorted(packages)
    set_in_image = re.findall(
        r"\b([A-Z][A-Z0-9_]+)=", " ".join(re.findall(r"^ENV (.+)$", dockerfile, re.MULTILINE))
    )
    assert set_in_image and set(set_in_image) <= set(ENVIRONMENT)
