"""Notification secrets at rest (under rotating keys), and channels declared in a file."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from gateways.notify.channels import (
    ChannelsFileError,
    load_channels_file,
    masked_target,
    target_public,
    target_secrets,
)
from gateways.notify.targets import WebhookTarget
from infra.secret_box import SecretBox, SecretBoxError, SecretsKeyMissing, parse_key, require_box
from infra.settings import SettingsError, load_settings


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def test_a_sealed_secret_opens_with_the_same_key_for_the_same_owner_only() -> None:
    box = SecretBox(parse_key(new_key()))
    sealed = box.seal(b"s3cret-token", owner="hook-1")
    assert b"s3cret" not in sealed.encode()
    assert box.open(sealed, owner="hook-1") == b"s3cret-token"
    with pytest.raises(SecretBoxError, match="hook-2"):
        box.open(sealed, owner="hook-2")


def test_a_wrong_key_is_refused_with_a_message_naming_the_setting() -> None:
    sealed = SecretBox(parse_key(new_key())).seal(b"token", owner="hook")
    with pytest.raises(SecretBoxError, match="do not open with any key of ALERTFOLD_SECRETS_KEY"):
        SecretBox(parse_key(new_key())).open(sealed, owner="hook")


def test_during_a_rotation_the_first_key_seals_and_every_key_opens() -> None:
    new, old = os.urandom(32), os.urandom(32)
    before = SecretBox(old).seal(b"token", owner="hook")
    rotated = SecretBox(new, old)
    assert rotated.open(before, owner="hook") == b"token"
    after = rotated.seal(b"token", owner="hook")
    assert SecretBox(new).open(after, owner="hook") == b"token"
    with pytest.raises(SecretBoxError):
        SecretBox(old).open(after, owner="hook")


def test_resealing_moves_a_secret_under_the_first_key_once() -> None:
    new, old = os.urandom(32), os.urandom(32)
    rotated = SecretBox(new, old)
    moved = rotated.reseal(SecretBox(old).seal(b"token", owner="hook"), owner="hook")
    assert moved is not None and SecretBox(new).open(moved, owner="hook") == b"token"
    assert rotated.reseal(moved, owner="hook") is None
    with pytest.raises(SecretBoxError, match="'hook' do not open with any key"):
        rotated.reseal(SecretBox(os.urandom(32)).seal(b"token", owner="hook"), owner="hook")


def test_a_missing_key_is_an_error_naming_the_variable_and_its_format() -> None:
    with pytest.raises(SecretsKeyMissing, match=r"ALERTFOLD_SECRETS_KEY is not set.*base64"):
        require_box(None, "hook", "store")


@pytest.mark.parametrize(
    ("text", "problem"), [("not base64!", "not base64"), ("c2hvcnQ=", "5 bytes, not 32")]
)
def test_a_malformed_key_stops_start_up_without_showing_it(text: str, problem: str) -> None:
    with pytest.raises(SettingsError, match=problem) as raised:
        load_settings({"ALERTFOLD_SECRETS_KEY": text})
    assert text not in str(raised.value)
    assert "ALERTFOLD_SECRETS_KEY=(hidden)" in str(raised.value)


def test_the_key_never_appears_in_the_box_or_settings_repr() -> None:
    key = new_key()
    assert key not in repr(SecretBox(parse_key(key)))
    assert key not in repr(load_settings({"ALERTFOLD_SECRETS_KEY": key}))


def test_a_rotation_lists_the_new_key_first_then_the_old_ones() -> None:
    new, old = new_key(), new_key()
    settings = load_settings({"ALERTFOLD_SECRETS_KEY": f"{new}, {old}"})
    assert settings.secrets_keys == (new, old)
    assert new not in repr(settings) and old not in repr(settings)


@pytest.mark.parametrize(
    ("second", "problem"),
    [
        ("not base64!", "key 2 is not base64"),
        ("c2hvcnQ=", "key 2 decodes to 5 bytes, not 32"),
        (None, "key 2 is the same as key 1"),
    ],
)
def test_a_bad_key_in_the_list_is_named_by_its_place_never_by_its_value(
    second: str | None, problem: str
) -> None:
    first = new_key()
    value = f"{first},{second or first}"
    with pytest.raises(SettingsError, match=problem) as raised:
        load_settings({"ALERTFOLD_SECRETS_KEY": value})
    assert first not in str(raised.value) and (second or first) not in str(raised.value)


def test_a_target_splits_into_public_fields_and_secrets_and_masks_them() -> None:
    target = WebhookTarget(
        url="https://example.com/hook",
        bearer_token=SecretStr("tok"),
        header_name="X-Team",
        header_value=SecretStr("ops"),
    )
    assert target_secrets(target) == {"bearer_token": "tok", "header_value": "ops"}
    public = target_public(target)
    assert public["url"] == "https://example.com/hook" and "bearer_token" not in public
    assert masked_target(target)["bearer_token"] == "***"
    assert masked_target(target)["signing_secret"] is None


def test_a_channels_file_declares_read_only_channels_with_secrets_from_the_environment(
    tmp_path: Path,
) -> None:
    path = tmp_path / "channels.json"
    channel = {
        "id": "ops-hook",
        "name": "Ops webhook",
        "target": {"kind": "webhook", "url": "https://x.test/h", "bearer_token": "${HOOK_TOKEN}"},
        "rule": {"min_severity": "error"},
    }
    path.write_text(json.dumps({"channels": [channel]}))
    [loaded] = load_channels_file(path, {"HOOK_TOKEN": "from-env"})
    assert loaded.read_only and loaded.source == "file"
    assert target_secrets(loaded.target) == {"bearer_token": "from-env"}


def test_a_channels_file_naming_an_unset_variable_says_which(tmp_path: Path) -> None:
    path = tmp_path / "channels.json"
    target = {"kind": "webhook", "url": "https://x.test/h", "bearer_token": "${MISSING_TOKEN}"}
    path.write_text(json.dumps([{"id": "a", "name": "A", "target": target}]))
    with pytest.raises(ChannelsFileError, match="channel 1: environment variable MISSING_TOKEN"):
        load_channels_file(path, {})
