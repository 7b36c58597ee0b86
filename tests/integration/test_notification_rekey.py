"""`alertfold notifications rekey` after `ALERTFOLD_SECRETS_KEY` gained a new first key: every
stored secret moves under it, so the old key can be dropped; on SQLite, PostgreSQL and
MariaDB, run in-process as the command line runs it."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from app.cli import main
from gateways.notify.channel_store import ChannelStore
from gateways.notify.channels import NotificationChannel, target_secrets
from gateways.notify.targets import NtfyTarget, WebhookTarget
from infra.database import create_database_engine
from infra.secret_box import SecretBox

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

OLD, NEW = os.urandom(32), os.urandom(32)


def text(key: bytes) -> str:
    return base64.b64encode(key).decode()


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/rekey.db"
    return str(request.getfixturevalue(f"fresh_{request.param}_url"))


@pytest.fixture
def environment(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ALERTFOLD_CONFIG", "ALERTFOLD_NOTIFICATION_CHANNELS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ALERTFOLD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ALERTFOLD_SECRETS_KEY", f"{text(NEW)},{text(OLD)}")


def store(database_url: str, box: SecretBox) -> ChannelStore:
    channels = ChannelStore(create_database_engine(database_url), box)
    channels.create_schema()
    return channels


HOOK = NotificationChannel(
    id="ops-hook",
    name="Ops webhook",
    target=WebhookTarget(
        url="https://hooks.example/ops",
        bearer_token=SecretStr("hook-token"),
        signing_secret=SecretStr("hook-signing"),
    ),
)
NTFY = NotificationChannel(
    id="ops-ntfy", name="Ops ntfy", target=NtfyTarget(topic="ops", token=SecretStr("ntfy-token"))
)
PLAIN = NotificationChannel(
    id="plain", name="No secrets", target=WebhookTarget(url="https://hooks.example/plain")
)


def secrets(channels: ChannelStore) -> dict[str, dict[str, str]]:
    return {channel.id: target_secrets(channel.target) for channel in channels.all()}


@pytest.mark.usefixtures("environment")
def test_rekey_moves_every_secret_under_the_new_key_and_a_second_run_changes_nothing(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = store(database_url, SecretBox(OLD))
    for channel in (HOOK, NTFY, PLAIN):
        before.create(channel)
    stored = secrets(before)

    assert main(["notifications", "rekey"]) == 0
    assert capsys.readouterr().out == (
        "re-encrypted the secrets of 2 channels under the first key of ALERTFOLD_SECRETS_KEY; "
        "0 channels already under it\n"
    )
    assert secrets(store(database_url, SecretBox(NEW))) == stored  # the old key dropped

    assert main(["notifications", "rekey"]) == 0
    assert capsys.readouterr().out.startswith(
        "re-encrypted the secrets of 0 channels under the first key of ALERTFOLD_SECRETS_KEY; "
        "2 channels already under it"
    )


@pytest.mark.usefixtures("environment")
def test_secrets_no_key_opens_are_named_left_alone_and_the_rest_still_moves(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store(database_url, SecretBox(OLD)).create(HOOK)
    lost = os.urandom(32)
    store(database_url, SecretBox(lost)).create(NTFY)

    assert main(["notifications", "rekey"]) == 1
    said = capsys.readouterr()
    assert said.out.startswith("re-encrypted the secrets of 1 channel under the first key")
    assert "the secrets of 'ops-ntfy' do not open with any key of ALERTFOLD_SECRETS_KEY" in (
        said.err
    )
    assert "1 channel left as they were" in said.err
    assert text(NEW) not in said.err + said.out
    assert store(database_url, SecretBox(NEW)).get(HOOK.id) == HOOK
    assert store(database_url, SecretBox(lost)).get(NTFY.id) == NTFY


def test_rekey_without_a_key_says_so(
    environment: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ALERTFOLD_SECRETS_KEY")
    assert main(["notifications", "rekey"]) == 2
    assert "ALERTFOLD_SECRETS_KEY is not set" in capsys.readouterr().err


class EditedDuringRekey(ChannelStore):
    """A store whose channel is edited through another API process, still on the old key,
    between rekey reading the row and writing it back."""

    def __init__(self, database_url: str, edited: NotificationChannel) -> None:
        super().__init__(create_database_engine(database_url), SecretBox(NEW, OLD))
        self.editor = store(database_url, SecretBox(OLD))
        self.edited: NotificationChannel | None = edited

    def _swap_secrets(self, channel_id: str, old: str, new: str) -> bool:
        if self.edited is not None:
            self.editor.replace(self.edited)
            self.edited = None
        return super()._swap_secrets(channel_id, old, new)


def test_a_channel_edited_during_rekey_keeps_the_edit_and_still_moves(database_url: str) -> None:
    store(database_url, SecretBox(OLD)).create(HOOK)
    edited = HOOK.model_copy(update={"target": NTFY.target})
    outcome = EditedDuringRekey(database_url, edited).reseal_secrets()
    assert (outcome.resealed, outcome.current, outcome.unreadable) == (1, 0, ())
    assert store(database_url, SecretBox(NEW)).get(HOOK.id) == edited
