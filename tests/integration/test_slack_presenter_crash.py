"""`alertfold presenter` killed between Slack accepting a post and recording its ts.

The stand-in kills the process (SIGKILL) from inside the `chat.postMessage` call, after the
message exists and before the answer leaves: the presenter never learns the ts. Restarted, it
must find the message by its metadata instead of posting a second one, and for a moved
issue, find it in the new channel only while the old channel's message is deleted.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateways.slack.blocks import issue_id_of
from harness.slack_server import BOT_TOKEN, SlackWebApiServer, running_slack_server
from harness.slack_server_workspace import SlackCall, SlackLimits
from harness.stories import IssueStory
from harness.waiting import eventually
from tests.integration.test_slack_presenter import PARTITIONS, all_show, produce, read_all
from wire.interactions import decode_interaction

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


class PresenterProcess:
    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0

    @property
    def log_path(self) -> Path:
        return self.workdir / f"presenter-{self.runs}.log"

    def start(self) -> None:
        self.runs += 1
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "presenter"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )
        eventually(self._consuming, timeout=60, what="the presenter to consume")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _consuming(self) -> bool:
        assert self.process is not None and self.process.poll() is None, self.log()
        return "slack presenter: consuming" in self.log()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def server() -> Iterator[SlackWebApiServer]:
    with running_slack_server({"C1"}, limits=SlackLimits.none()) as running:
        yield running


def presenter_env(
    bootstrap: str, server: SlackWebApiServer, prefix: str, data: Path
) -> dict[str, str]:
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "ALERTFOLD_TOPIC_PREFIX": prefix,
        "ALERTFOLD_PARTITIONS": str(PARTITIONS),
        "ALERTFOLD_DATA_DIR": str(data),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": server.url,
        "ALERTFOLD_SLACK_CALLS_PER_SECOND": "20",
    }


def test_a_presenter_killed_mid_post_adopts_its_message_after_a_restart(
    kafka_bootstrap_servers: str, server: SlackWebApiServer, tmp_path: Path
) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    env = presenter_env(kafka_bootstrap_servers, server, prefix, tmp_path / "data")
    presenter = PresenterProcess(env, tmp_path)
    killed: list[SlackCall] = []

    def kill_on_first_post(call: SlackCall) -> None:
        if call.method == "chat.postMessage" and call.ok and not killed:
            assert presenter.process is not None
            os.kill(presenter.process.pid, signal.SIGKILL)
            killed.append(call)

    server.on_call = kill_on_first_post
    stories = [IssueStory(f"crash-{n}", "C1") for n in range(3)]
    presenter.start()
    try:
        events = [story.opened() for story in stories]
        asyncio.run(produce(kafka_bootstrap_servers, f"{prefix}issue-events", events))
        eventually(lambda: killed, timeout=30, what="the first post")
        assert presenter.process is not None and presenter.process.wait(10) == -signal.SIGKILL
        assert len(server.messages("C1")) == 1

        presenter.start()
        finals = [story.events[-1].issue for story in stories]
        eventually(lambda: all_show(server, finals), timeout=60, what="every issue shown")
        assert "adopted the message" in presenter.log()
    finally:
        presenter.stop()

    messages = server.messages("C1")
    assert sorted(issue_id_of(m.metadata) or "" for m in messages) == [s.issue_id for s in stories]
    assert len(server.calls("chat.postMessage")) == 3
    interactions = [
        decode_interaction(value)
        for value in asyncio.run(read_all(kafka_bootstrap_servers, f"{prefix}interactions"))
    ]
    ts_of = {issue_id_of(m.metadata): m.ts for m in messages}
    assert {(i.issue_id, i.slack_ts) for i in interactions} == set(ts_of.items())


def test_a_presenter_killed_mid_move_leaves_one_message_in_the_new_channel_and_none_in_the_old(
    kafka_bootstrap_servers: str, tmp_path: Path
) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    issue_events = f"{prefix}issue-events"
    story = IssueStory("moving", "C1")
    with running_slack_server({"C1", "C2"}, limits=SlackLimits.none()) as server:
        env = presenter_env(kafka_bootstrap_servers, server, prefix, tmp_path / "data")
        presenter = PresenterProcess(env, tmp_path)
        killed: list[SlackCall] = []

        def kill_on_the_post_in_the_new_channel(call: SlackCall) -> None:
            if call.method == "chat.postMessage" and call.channel == "C2" and call.ok:
                assert presenter.process is not None and not killed
                os.kill(presenter.process.pid, signal.SIGKILL)
                killed.append(call)

        presenter.start()
        try:
            asyncio.run(produce(kafka_bootstrap_servers, issue_events, [story.opened()]))
            eventually(lambda: server.messages("C1"), timeout=30, what="the first post")
            [old] = server.messages("C1")
            # The old message outlives the crash: its delete waits out a 429 when the kill comes.
            server.hold("chat.delete", "C1", 3)
            server.on_call = kill_on_the_post_in_the_new_channel
            move = [story.moved("C2", from_slack_ts=None), story.arrived()]
            asyncio.run(produce(kafka_bootstrap_servers, issue_events, move))
            eventually(lambda: killed, timeout=30, what="the post in the new channel")
            assert presenter.process is not None and presenter.process.wait(10) == -signal.SIGKILL
            assert [len(server.messages(c)) for c in ("C1", "C2")] == [1, 1]

            presenter.start()
            eventually(lambda: not server.messages("C1"), timeout=30, what="the old deleted")
            eventually(lambda: all_show(server, [story.events[-1].issue]), timeout=30, what="C2")
            [new] = server.messages("C2")
            assert f"adopted the message {new.ts} of issue moving in C2" in presenter.log()
            deleted = f"deleted the message {old.ts} of moved issue moving in C1"
            eventually(lambda: deleted in presenter.log(), timeout=10, what="the delete logged")

            def flowed_back() -> set[tuple[str, str | None]]:
                values = asyncio.run(read_all(kafka_bootstrap_servers, f"{prefix}interactions"))
                return {(i.channel_id, i.slack_ts) for i in map(decode_interaction, values)}

            eventually(lambda: ("C2", new.ts) in flowed_back(), timeout=30, what="the new ts back")
            assert flowed_back() <= {("C1", old.ts), ("C2", new.ts)}
        finally:
            presenter.stop()

        assert len(server.calls("chat.postMessage", "C2")) == 1
        assert [issue_id_of(m.metadata) for m in server.messages("C2")] == ["moving"]
        assert server.messages("C1") == []
