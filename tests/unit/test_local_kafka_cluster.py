"""A local cluster's configuration, ports and layout, and how many copies topics keep, without
Java."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from app import kafka_command
from infra.local_kafka import (
    LocalKafka,
    LocalKafkaCluster,
    LocalKafkaError,
    Membership,
    parse_properties,
)
from infra.topology import Replication, replication_for


@pytest.mark.parametrize(
    ("brokers", "replication"),
    [
        (1, Replication(1, 1)),
        (2, Replication(2, 1)),
        (3, Replication(3, 2)),
        (5, Replication(3, 2)),
    ],
)
def test_topics_keep_three_copies_two_in_sync_once_the_cluster_has_three_brokers(
    brokers: int, replication: Replication
) -> None:
    assert replication_for(brokers) == replication


def test_a_node_of_three_names_every_voter_and_replicates_kafkas_own_topics(
    tmp_path: Path,
) -> None:
    voters = "1@127.0.0.1:19101,2@127.0.0.1:19102,3@127.0.0.1:19103"
    node = LocalKafka(tmp_path, tmp_path / "node-2", member=Membership(2, voters, 3))

    props = parse_properties(node.server_properties(port=19092, controller_port=19102))

    assert props["node.id"] == "2"
    assert props["controller.quorum.voters"] == voters
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19102"
    for key in (
        "default.replication.factor",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "share.coordinator.state.topic.replication.factor",
    ):
        assert props[key] == "3", key
    for key in (
        "min.insync.replicas",
        "transaction.state.log.min.isr",
        "share.coordinator.state.topic.min.isr",
    ):
        assert props[key] == "2", key
    assert "Node 2 of a 3-node" in node.server_properties(port=1, controller_port=2)


def test_a_cluster_on_a_fixed_port_puts_its_brokers_on_the_ports_after_it(
    tmp_path: Path,
) -> None:
    cluster = LocalKafkaCluster(tmp_path / "cache", tmp_path / "data", brokers=3, port=29092)

    ports = cluster._ports(keep=False)

    assert [p.port for p in ports] == [29092, 29093, 29094]
    assert [p.node_id for p in ports] == [1, 2, 3]
    assert len({p.controller_port for p in ports} | {29092, 29093, 29094}) == 6


def test_a_node_started_while_the_others_run_comes_back_on_the_ports_they_know(
    tmp_path: Path,
) -> None:
    cluster = LocalKafkaCluster(tmp_path / "cache", tmp_path / "data", brokers=3)
    first = cluster._ports(keep=False)
    cluster.nodes = [cluster._node(ports, voters="") for ports in first]
    cluster.data_dir.mkdir(parents=True)
    cluster._write_layout()

    assert cluster._ports(keep=True) == first


def test_a_running_cluster_without_its_layout_says_how_to_recover(tmp_path: Path) -> None:
    cluster = LocalKafkaCluster(tmp_path / "cache", tmp_path / "data", brokers=3)
    with pytest.raises(LocalKafkaError, match="alertfold kafka stop"):
        cluster._ports(keep=True)


def test_a_data_directory_of_three_brokers_refuses_to_start_five(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    nodes = [{"node_id": i, "port": 9091 + i, "controller_port": 9191 + i} for i in (1, 2, 3)]
    (data / "cluster.json").write_text(json.dumps({"nodes": nodes}))
    cluster = LocalKafkaCluster(tmp_path / "cache", data, brokers=5)

    with pytest.raises(LocalKafkaError, match="of 3 brokers, not 5; start it with --brokers 3"):
        cluster.start()


@pytest.mark.parametrize(("brokers", "port"), [(0, 0), (10, 0), (3, 65534)])
def test_impossible_clusters_are_refused(tmp_path: Path, brokers: int, port: int) -> None:
    with pytest.raises(ValueError):
        LocalKafkaCluster(tmp_path, tmp_path, brokers=brokers, port=port)


def test_the_active_controller_is_read_from_the_newest_quorum_state(tmp_path: Path) -> None:
    cluster = LocalKafkaCluster(tmp_path / "cache", tmp_path / "data", brokers=3)
    cluster.nodes = [LocalKafka(tmp_path, cluster.node_dir(i)) for i in (1, 2, 3)]
    for node_id, leader, epoch in ((1, 1, 2), (2, 3, 5), (3, 3, 5)):
        metadata = cluster.node(node_id).log_dir / "__cluster_metadata-0"
        metadata.mkdir(parents=True)
        state = {"leaderId": leader, "leaderEpoch": epoch, "votedId": -1}
        (metadata / "quorum-state").write_text(json.dumps(state))

    assert cluster.quorum_leader() == 3


# ------------------------------------------------------------------------ CLI


def parse_cli(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="alertfold")
    kafka_command.add_kafka_parser(parser.add_subparsers())
    return parser.parse_args(argv)


def test_the_cli_starts_a_cluster_beside_the_single_broker(tmp_path: Path) -> None:
    args = parse_cli("kafka", "start", "--brokers", "3", "--data-dir", str(tmp_path))
    kafka = kafka_command._local_kafka(args)

    assert isinstance(kafka, LocalKafkaCluster)
    assert kafka.brokers == 3 and kafka.heap == "256m"
    assert kafka.data_dir == (tmp_path / "kafka-cluster").resolve()
    assert isinstance(kafka_command._local_kafka(parse_cli("kafka", "start")), LocalKafka)


@pytest.mark.parametrize("brokers", ["0", "10", "three"])
def test_the_cli_refuses_a_broker_count_it_cannot_start(
    brokers: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parse_cli("kafka", "start", "--brokers", brokers)
    assert "--brokers" in capsys.readouterr().err
