"""The local broker's configuration, ids, pid files and failure messages, without Java."""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import kafka_command
from harness.waiting import eventually
from infra.local_kafka import (
    BrokerState,
    LocalKafka,
    LocalKafkaError,
    PortInUseError,
    broker_properties,
    check_java,
    escape_property_value,
    free_port,
    is_local_broker,
    is_valid_cluster_id,
    new_cluster_id,
    parse_java_version,
    parse_pid,
    parse_properties,
    parse_state,
    port_in_use,
    read_broker_state,
    remove_broker_state,
    render_properties,
    running_broker,
    stop_broker,
    write_broker_state,
)


@pytest.fixture
def kafka(tmp_path: Path) -> LocalKafka:
    return LocalKafka(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data")


def write_executable(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


# ------------------------------------------------------------ server.properties


def test_server_properties_make_a_single_node_kraft_broker(kafka: LocalKafka) -> None:
    props = parse_properties(kafka.server_properties(port=19092, controller_port=19093))

    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert "controller.quorum.bootstrap.servers" not in props  # format runs without --standalone
    assert props["log.dirs"] == str(kafka.data_dir / "log-dir")


def test_server_properties_fit_one_replica_a_small_heap_and_faust(kafka: LocalKafka) -> None:
    props = parse_properties(kafka.server_properties(port=9092, controller_port=9093))

    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "share.coordinator.state.topic.replication.factor",
        "share.coordinator.state.topic.min.isr",
    ):
        assert props[key] == "1", key
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["num.partitions"] == "8"
    assert props["auto.create.topics.enable"] == "true"
    assert props["log.cleaner.enable"] == "true"
    assert int(props["log.cleaner.dedupe.buffer.size"]) == 2 * 1024 * 1024
    assert not any(key.startswith("log.retention") for key in props)


def test_extra_properties_override_the_defaults(tmp_path: Path) -> None:
    kafka = LocalKafka(
        tmp_path / "cache",
        tmp_path / "data",
        extra_properties={"num.partitions": "3", "log.retention.ms": "1000"},
    )
    props = parse_properties(kafka.server_properties(port=1, controller_port=2))

    assert props["num.partitions"] == "3"
    assert props["log.retention.ms"] == "1000"


def test_rendered_properties_parse_back_and_escape_what_java_would_misread() -> None:
    props = broker_properties(port=1, controller_port=2, log_dir=Path("/data/log-dir"))
    assert parse_properties(render_properties(props, "header\nsecond line")) == props

    assert escape_property_value(r"C:\kafka\logs") == r"C:\\kafka\\logs"
    assert escape_property_value("/tmp/dätä") == "/tmp/d\\u00e4t\\u00e4"
    assert escape_property_value(" lead") == "\\ lead"


def test_broker_command_runs_kafka_with_the_heap_and_log_config(tmp_path: Path) -> None:
    kafka = LocalKafka(tmp_path / "cache", tmp_path / "data", heap="256m")
    command = kafka.broker_command("/usr/bin/java")

    assert command[0] == "/usr/bin/java"
    assert "-Xmx256m" in command
    assert command[command.index("-cp") + 1] == str(kafka.libs_dir / "*")
    assert command[-2:] == ["kafka.Kafka", str(kafka.data_dir / "server.properties")]
    assert f"-Dalertfold.kafka.log.file={kafka.data_dir / 'broker.log'}" in command
    assert kafka.libs_dir == tmp_path.resolve() / "cache" / "kafka" / "4.0.1" / "libs"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"heap": "lots"}, "heap"),
        ({"port": 9092, "controller_port": 9092}, "differ"),
        ({"port": 70000}, "port"),
    ],
)
def test_rejects_bad_settings(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LocalKafka(tmp_path, tmp_path, **kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------ cluster id


def test_cluster_ids_are_kafka_uuids() -> None:
    ids = {new_cluster_id() for _ in range(500)}

    assert len(ids) == 500
    for cluster_id in ids:
        assert len(cluster_id) == 22
        assert not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16
        assert is_valid_cluster_id(cluster_id)


@pytest.mark.parametrize("text", ["", "short", "x" * 23, "AbCdEfGhIjKlMnOpQrSt+/", "a" * 21 + "="])
def test_rejects_malformed_cluster_ids(text: str) -> None:
    assert not is_valid_cluster_id(text)


def test_cluster_id_is_created_once_and_then_read_from_the_formatted_storage(
    kafka: LocalKafka,
) -> None:
    first = kafka.cluster_id()
    assert kafka.cluster_id() == first
    assert (kafka.data_dir / "cluster.id").read_text().strip() == first
    assert not kafka.is_formatted()

    kafka.log_dir.mkdir(parents=True)
    (kafka.log_dir / "meta.properties").write_text(
        "#\nnode.id=1\nversion=1\ncluster.id=AbCdEfGhIjKlMnOpQrStUv\n"
    )
    assert kafka.is_formatted()
    assert kafka.cluster_id() == "AbCdEfGhIjKlMnOpQrStUv"


# ---------------------------------------------------------- pid and state files


@pytest.mark.parametrize(
    ("text", "pid"),
    [("1234\n", 1234), (" 99 ", 99), ("", None), ("abc", None), ("-5", None), ("0", None)],
)
def test_parse_pid(text: str, pid: int | None) -> None:
    assert parse_pid(text) == pid


def test_parse_state_needs_matching_pid_and_ports(tmp_path: Path) -> None:
    good = json.dumps({"pid": 42, "port": 9092, "controller_port": 9093, "version": "4.0.1"})
    state = parse_state("42\n", good, tmp_path)
    assert state == BrokerState(
        pid=42, port=9092, controller_port=9093, data_dir=tmp_path, version="4.0.1"
    )
    assert state.bootstrap_servers == "127.0.0.1:9092"

    assert parse_state("43", good, tmp_path) is None
    assert parse_state("42", None, tmp_path) is None
    assert parse_state("42", "{not json", tmp_path) is None
    assert parse_state("42", json.dumps({"pid": 42, "port": "9092"}), tmp_path) is None
    assert parse_state("42", "[]", tmp_path) is None


def test_state_files_round_trip_and_are_removed_only_for_their_pid(tmp_path: Path) -> None:
    state = BrokerState(pid=4242, port=1, controller_port=2, data_dir=tmp_path.resolve())
    write_broker_state(state)

    assert (tmp_path / "kafka.pid").read_text() == "4242\n"
    assert json.loads((tmp_path / "kafka.json").read_text())["bootstrap_servers"] == "127.0.0.1:1"
    assert read_broker_state(tmp_path) == state

    remove_broker_state(tmp_path, pid=1)
    assert read_broker_state(tmp_path) == state
    remove_broker_state(tmp_path, pid=4242)
    assert read_broker_state(tmp_path) is None
    assert not (tmp_path / "kafka.json").exists()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("pid", [dead_pid(), os.getpid()], ids=["dead", "not-kafka"])
def test_stale_pid_file_is_not_a_running_broker(tmp_path: Path, pid: int) -> None:
    write_broker_state(BrokerState(pid=pid, port=1, controller_port=2, data_dir=tmp_path))

    assert running_broker(tmp_path, remove_stale=False) is None
    assert (tmp_path / "kafka.pid").exists()
    assert running_broker(tmp_path) is None
    assert not (tmp_path / "kafka.pid").exists()
    assert not (tmp_path / "kafka.json").exists()
    assert stop_broker(tmp_path) is None


@pytest.fixture
def fake_broker(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process whose command line looks like the broker of ``tmp_path``."""
    config = str(tmp_path.resolve() / "server.properties")
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "kafka.Kafka", config],
        start_new_session=True,
    )
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_stops_a_broker_started_by_another_process(
    tmp_path: Path, fake_broker: subprocess.Popen[bytes]
) -> None:
    write_broker_state(
        BrokerState(pid=fake_broker.pid, port=1, controller_port=2, data_dir=tmp_path.resolve())
    )
    eventually(lambda: is_local_broker(fake_broker.pid, tmp_path), timeout=10, what="exec")
    assert not is_local_broker(fake_broker.pid, tmp_path / "elsewhere")
    running = LocalKafka.find_running(tmp_path)
    assert running is not None and running.pid == fake_broker.pid
    assert LocalKafka(tmp_path / "cache", tmp_path).running

    stopped = LocalKafka.stop_running(tmp_path, timeout=10)

    assert stopped is not None and stopped.pid == fake_broker.pid
    assert fake_broker.wait(5) != 0
    assert not (tmp_path / "kafka.pid").exists()
    assert LocalKafka.find_running(tmp_path) is None


# --------------------------------------------------------------- ports, java, mvn


def test_port_in_use_is_detected_and_reported_actionably(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert port_in_use(port)

        kafka = LocalKafka(tmp_path / "cache", tmp_path / "data", port=port)
        with pytest.raises(PortInUseError) as caught:
            kafka.start()
    assert str(caught.value) == (
        f"port {port} is in use by another process; pass --port or set "
        "KAFKA_BOOTSTRAP_SERVERS to use the broker already listening there"
    )
    assert not port_in_use(free_port())


@pytest.mark.parametrize(
    ("output", "version"),
    [
        ('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment', 17),
        ('java version "1.8.0_392"\nJava(TM) SE Runtime Environment', 8),
        ('openjdk version "21-ea" 2023-09-19', 21),
        ('openjdk version "11.0.2" 2019-01-15', 11),
        ("command not found", None),
    ],
)
def test_parse_java_version(output: str, version: int | None) -> None:
    assert parse_java_version(output) == version


def test_old_or_missing_java_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old_java = write_executable(
        tmp_path / "java", "echo 'openjdk version \"11.0.2\" 2019-01-15' >&2"
    )
    with pytest.raises(LocalKafkaError, match=r"Java 11 at .* is too old.*17 or newer"):
        check_java(str(old_java))

    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(LocalKafkaError, match="java was not found"):
        check_java()


def test_missing_mvn_says_what_it_is_needed_for(
    kafka: LocalKafka, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(LocalKafkaError, match=r"mvn \(Apache Maven\) was not found"):
        kafka.ensure_jars()


def test_failing_mvn_shows_its_last_lines(
    kafka: LocalKafka, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    write_executable(
        bin_dir / "mvn",
        'for i in $(seq 1 40); do echo "line $i"; done\n'
        "echo '[ERROR] Could not resolve org.apache.kafka:kafka_2.13:jar:4.0.1'\nexit 1",
    )
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")

    with pytest.raises(LocalKafkaError) as caught:
        kafka.ensure_jars()

    error = caught.value
    assert "exited with code 1" in error.summary
    assert "Could not resolve org.apache.kafka" in error.details
    assert "line 40" in error.details and "line 10\n" not in error.details
    assert not kafka.libs_dir.exists()


def test_jars_are_resolved_once_per_version(
    kafka: LocalKafka, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    write_executable(
        bin_dir / "mvn",
        f'echo run >> "{calls}"\n'
        'for arg in "$@"; do case "$arg" in -DoutputDirectory=*) out="${arg#*=}";; esac; done\n'
        'mkdir -p "$out" && touch "$out/kafka_2.13-4.0.1.jar" "$out/kafka-clients-4.0.1.jar"',
    )
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    messages: list[str] = []

    libs = kafka.ensure_jars(messages.append)
    assert kafka.ensure_jars(messages.append) == libs

    assert sorted(p.name for p in libs.iterdir()) == [
        "kafka-clients-4.0.1.jar",
        "kafka_2.13-4.0.1.jar",
    ]
    assert calls.read_text().count("run") == 1
    assert messages[0] == "resolving Kafka 4.0.1 jars from Maven Central…"
    assert messages[1].startswith("resolved 2 jars into ")


# ------------------------------------------------------------------------ CLI


def parse_cli(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="alertfold")
    kafka_command.add_kafka_parser(parser.add_subparsers())
    return parser.parse_args(argv)


def test_cli_defaults_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("ALERTFOLD_DATA_DIR", "ALERTFOLD_CACHE_DIR", "ALERTFOLD_KAFKA_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert kafka_command.broker_data_dir(None) == Path(".alertfold") / "kafka"
    assert kafka_command.default_cache_dir() == Path(".cache")
    assert kafka_command.default_port() == 9092

    monkeypatch.setenv("ALERTFOLD_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("ALERTFOLD_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("ALERTFOLD_KAFKA_PORT", "19092")
    assert kafka_command.broker_data_dir(None) == tmp_path / "d" / "kafka"
    assert kafka_command.default_cache_dir() == tmp_path / "c"
    assert kafka_command.default_port() == 19092

    args = parse_cli("kafka", "start", "--port", "0", "--data-dir", "x")
    assert args.port == 0 and args.data_dir == Path("x") and args.kafka_action == "start"


def test_cli_status_and_stop_without_a_broker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = parse_cli("kafka", "status", "--data-dir", str(tmp_path))
    assert kafka_command.run_kafka_command(status) == 3
    assert "Kafka is not running" in capsys.readouterr().out

    stop = parse_cli("kafka", "stop", "--data-dir", str(tmp_path))
    assert kafka_command.run_kafka_command(stop) == 0
    assert "Kafka is not running" in capsys.readouterr().out


def test_cli_start_on_a_taken_port_prints_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        args = parse_cli("kafka", "start", "--port", str(port), "--data-dir", str(tmp_path))
        code = kafka_command.run_kafka_command(args)

    captured = capsys.readouterr()
    assert code == 1
    assert captured.err == (
        f"error: port {port} is in use by another process; pass --port or set "
        "KAFKA_BOOTSTRAP_SERVERS to use the broker already listening there\n"
    )
    assert "Traceback" not in captured.err
