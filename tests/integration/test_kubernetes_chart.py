"""The Helm chart in deploy/helm: `helm lint` passes, its rendered manifests are valid
Kubernetes objects (checked against the API's own JSON schemas, strictly: no unknown field),
and they run every part with the replicas, probes, settings and secrets alertfold knows."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from app.cli import _parser
from app.supervisor import PARTS
from app.telemetry import metrics_port
from gateways.api.app import openapi_document
from infra.settings import ENVIRONMENT, Settings, load_settings
from infra.settings_fields import declarations
from tests.support.helm import CHART, helm, rendered

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "deploy" / "examples" / "secured-kafka-and-postgresql.yaml"
ALL_PARTS = (*PARTS, "interactions")
# The oldest Kubernetes minor still served upstream when the chart was written, and the newest
# the schemas know: the manifests must be valid on both.
KUBERNETES_VERSIONS = ("1.31.0", kubernetes_validate.latest_version())
SECRET_VARIABLES = {one.variable for one in declarations(Settings) if one.secret} | {"DATABASE_URL"}
A_DATABASE = {"secrets.values.DATABASE_URL": "postgresql://alertfold:pw@postgres/alertfold"}


def by_kind(manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def deployments(manifests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]: d
        for d in by_kind(manifests, "Deployment").values()
    }


@pytest.fixture(scope="module")
def example() -> list[dict[str, Any]]:
    return rendered(EXAMPLE)


@pytest.fixture(scope="module")
def defaults() -> list[dict[str, Any]]:
    return rendered(**A_DATABASE)


def test_helm_lint_passes_with_the_example_values() -> None:
    linted = helm("lint", "--strict", str(CHART), "-f", str(EXAMPLE))
    assert linted.returncode == 0, linted.stdout + linted.stderr


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("values", ["defaults", "example"])
def test_every_manifest_is_a_valid_kubernetes_object(
    request: pytest.FixtureRequest, values: str, version: str
) -> None:
    manifests: list[dict[str, Any]] = request.getfixturevalue(values)
    assert manifests
    for manifest in manifests:
        kubernetes_validate.validate(manifest, version, strict=True)


def test_the_chart_needs_a_shared_database() -> None:
    refused = helm("template", "alertfold", str(CHART))
    assert refused.returncode != 0
    assert "secrets.values.DATABASE_URL" in refused.stderr


def test_every_part_runs_in_a_deployment_of_its_own(example: list[dict[str, Any]]) -> None:
    found = deployments(example)
    assert set(found) == set(ALL_PARTS)
    for part, deployment in found.items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["args"] == [part]
        assert _parser().parse_args([part]).handler is not None


def test_replicas_are_those_each_part_supports(
    defaults: list[dict[str, Any]], example: list[dict[str, Any]]
) -> None:
    replicas = {part: d["spec"]["replicas"] for part, d in deployments(defaults).items()}
    assert replicas == {
        "worker": 2,
        "projector": 1,
        "auditor": 1,
        "presenter": 1,
        "notifier": 1,
        "api": 2,
    }
    assert deployments(example)["worker"]["spec"]["replicas"] == 3


def test_replicated_parts_lose_one_pod_at_a_time(example: list[dict[str, Any]]) -> None:
    budgets = by_kind(example, "PodDisruptionBudget").values()
    guarded = {b["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] for b in budgets}
    assert guarded == {"worker", "api", "presenter", "notifier"}
    assert all(b["spec"]["maxUnavailable"] == 1 for b in budgets)


def test_the_api_is_probed_on_endpoints_it_serves(example: list[dict[str, Any]]) -> None:
    (api,) = deployments(example)["api"]["spec"]["template"]["spec"]["containers"]
    probes = {name: api[name]["httpGet"]["path"] for name in ("startupProbe", "livenessProbe")}
    assert probes == {"startupProbe": "/ping", "livenessProbe": "/ping"}
    assert api["readinessProbe"]["httpGet"]["path"] == "/health"
    assert {"/ping", "/health"} <= set(openapi_document()["paths"])
    (service,) = by_kind(example, "Service").values()
    assert service["spec"]["ports"][0]["targetPort"] == api["ports"][0]["name"]
    assert api["ports"][0]["containerPort"] == 8080


def test_every_part_serves_its_metrics_on_the_pods_address_and_the_others_are_probed_there(
    example: list[dict[str, Any]],
) -> None:
    settings = load_settings({})
    for part, deployment in deployments(example).items():
        template = deployment["spec"]["template"]
        (container,) = template["spec"]["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        port = metrics_port(settings, part)
        assert env["ALERTFOLD_METRICS_HOST"] == "0.0.0.0"
        assert {"name": "metrics", "containerPort": port} in container["ports"]
        assert template["metadata"]["annotations"]["prometheus.io/port"] == str(port)
        if part != "api":
            assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": "metrics"}
            assert container["livenessProbe"]["tcpSocket"] == {"port": "metrics"}


def test_the_config_map_is_a_config_file_alertfold_accepts(
    example: list[dict[str, Any]], tmp_path: Path
) -> None:
    """Every part reads it as ALERTFOLD_CONFIG, with the mounted TLS files present."""
    (config_map,) = by_kind(example, "ConfigMap").values()
    for name, text in config_map["data"].items():
        (tmp_path / name).write_text(text)
    config = yaml.safe_load(config_map["data"]["alertfold.yaml"])
    tls = tmp_path / "kafka"
    tls.mkdir()
    for key in ("ssl_ca_file", "ssl_cert_file", "ssl_key_file"):
        path = Path(config["kafka"][key])
        assert path.parent == Path("/etc/alertfold/kafka")
        (tls / path.name).write_text("PEM")
        config["kafka"][key] = str(tls / path.name)
    (tmp_path / "alertfold.yaml").write_text(yaml.safe_dump(config))

    settings = load_settings({"ALERTFOLD_CONFIG": str(tmp_path / "alertfold.yaml")})

    assert settings.kafka_security_protocol == "SASL_SSL"
    assert settings.routes_file == tmp_path / "routes.json"
    (container,) = deployments(example)["worker"]["spec"]["template"]["spec"]["containers"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    config_path = {e["name"]: e["value"] for e in container["env"]}["ALERTFOLD_CONFIG"]
    assert config_path == f"{mounts['config']}/alertfold.yaml"
    assert mounts["kafka-tls"] == "/etc/alertfold/kafka"


def test_secrets_are_settings_alertfold_reads_as_secrets(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(
        yaml.safe_dump(
            {
                "secrets": {"values": {name: "x" * 32 for name in sorted(SECRET_VARIABLES)}},
                "kafkaTls": {"files": {"ca.pem": "PEM"}},
            }
        )
    )
    manifests = rendered(values)
    secrets = by_kind(manifests, "Secret")
    variables = set(secrets["alertfold-secrets"]["stringData"])
    assert variables == SECRET_VARIABLES and variables <= set(ENVIRONMENT)
    assert secrets["alertfold-kafka-tls"]["stringData"] == {"ca.pem": "PEM\n"}
    comment = (CHART / "values.yaml").read_text().split("\nsecrets:")[0]
    named = set(re.findall(r"\b([A-Z][A-Z0-9_]{5,})\b", comment.rsplit("\n\n", 1)[-1]))
    assert named == SECRET_VARIABLES


def test_every_variable_the_chart_sets_is_a_setting(example: list[dict[str, Any]]) -> None:
    for deployment in deployments(example).values():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert {e["name"] for e in container["env"]} <= set(ENVIRONMENT) | {"ALERTFOLD_CONFIG"}
