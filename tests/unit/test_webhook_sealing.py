"""Webhook URLs and payloads are sealed with AES-256-GCM (Slack Manager's format) before they
are stored, open only with one of the configured keys, and an alert with webhooks needs a key;
during a rotation the first key seals and every key opens."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.alert import Alert
from domain.alert_webhooks import SEALED_KEY, is_sealed
from domain.errors import AlertRejected
from gateways.api.errors import ApiError
from gateways.api.webhook_seals import sealed_webhooks
from infra.settings import SettingsError, load_settings
from infra.webhook_sealing import InvalidKey, SealBroken, WebhookSealer, check_key
from wire.alerts import decode_alert, encode_alert
from wire.envelope import UndecodableInput

KEY = "A" * 16 + "b" * 8 + "01234567"
OTHER_KEY = "Z" * 32
URL = "https://hooks.example.com/restart?token=s3cr3t"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def alert_with_hook(**hook: Any) -> Alert:
    return Alert.from_json_obj(
        {
            "slackChannelId": "C123",
            "header": "Database down",
            "webhooks": [{"id": "restart", "url": URL, "buttonText": "Restart", **hook}],
        }
    )


def test_a_sealed_value_opens_to_what_was_sealed() -> None:
    sealer = WebhookSealer(KEY)
    sealed = sealer.seal(b"secret bytes")
    assert set(sealed) == {SEALED_KEY}
    assert b"secret" not in base64.b64decode(sealed[SEALED_KEY])
    assert sealer.open(sealed) == b"secret bytes"


def test_each_seal_takes_a_new_nonce() -> None:
    sealer = WebhookSealer(KEY)
    assert sealer.seal(b"same") != sealer.seal(b"same")


def test_a_tampered_value_does_not_open() -> None:
    sealer = WebhookSealer(KEY)
    raw = bytearray(base64.b64decode(sealer.seal(URL.encode())[SEALED_KEY]))
    raw[-1] ^= 1
    with pytest.raises(SealBroken, match="does not open with any key"):
        sealer.open({SEALED_KEY: base64.b64encode(bytes(raw)).decode()})


def test_a_value_sealed_with_another_key_does_not_open() -> None:
    sealed = WebhookSealer(OTHER_KEY).seal(URL.encode())
    with pytest.raises(SealBroken):
        WebhookSealer(KEY).open(sealed)


def test_a_value_too_short_for_nonce_and_tag_does_not_open() -> None:
    with pytest.raises(SealBroken, match="too short"):
        WebhookSealer(KEY).open({SEALED_KEY: base64.b64encode(b"short").decode()})


@pytest.mark.parametrize("key", ["", "A" * 31, "A" * 33, "A" * 31 + "-", "é" * 32, "A" * 31 + " "])
def test_the_key_is_exactly_32_ascii_letters_and_digits(key: str) -> None:
    with pytest.raises(InvalidKey, match="exactly 32 ASCII letters and digits"):
        check_key(key)


def test_a_malformed_key_stops_start_up_without_showing_it() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({"ALERTFOLD_WEBHOOK_ENCRYPTION_KEY": "not-a-key"})
    assert "ALERTFOLD_WEBHOOK_ENCRYPTION_KEY=(hidden): must be exactly 32" in str(refused.value)
    assert "not-a-key" not in str(refused.value)
    settings = load_settings({"ALERTFOLD_WEBHOOK_ENCRYPTION_KEY": KEY})
    assert settings.webhook_encryption_keys == (KEY,)
    assert KEY not in repr(settings)


def test_a_rotation_lists_the_new_key_first_and_the_old_ones_after_it() -> None:
    settings = load_settings({"ALERTFOLD_WEBHOOK_ENCRYPTION_KEY": f" {OTHER_KEY} , {KEY}"})
    assert settings.webhook_encryption_keys == (OTHER_KEY, KEY)
    assert OTHER_KEY not in repr(settings) and KEY not in repr(settings)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (f"{KEY},short", "key 2 must be exactly 32 ASCII letters and digits"),
        (f"{KEY},{'A' * 31}-", "key 2 must be exactly 32 ASCII letters and digits"),
        (f"{OTHER_KEY},{KEY},{OTHER_KEY}", "key 3 is the same as key 1"),
    ],
)
def test_a_bad_key_in_the_list_is_named_by_its_place_never_by_its_value(
    value: str, problem: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({"ALERTFOLD_WEBHOOK_ENCRYPTION_KEY": value})
    assert f"ALERTFOLD_WEBHOOK_ENCRYPTION_KEY=(hidden): {problem}" in str(refused.value)
    assert not any(key in str(refused.value) for key in value.split(","))


def test_the_first_key_seals_and_every_key_opens() -> None:
    before = WebhookSealer(KEY).seal(URL.encode())
    rotated = WebhookSealer(OTHER_KEY, KEY)
    assert rotated.open(before) == URL.encode()
    after = rotated.seal(URL.encode())
    assert WebhookSealer(OTHER_KEY).open(after) == URL.encode()
    with pytest.raises(SealBroken, match="ALERTFOLD_WEBHOOK_ENCRYPTION_KEY"):
        WebhookSealer(KEY).open(after)


def test_a_button_posted_before_a_rotation_still_opens_after_it() -> None:
    posted = WebhookSealer(KEY).seal_alert(alert_with_hook(payload={"token": "p4ss"}))
    hook = posted.webhooks[0]
    rotated = WebhookSealer(OTHER_KEY, KEY)
    assert rotated.open_url(hook.url) == URL
    assert rotated.open_payload(hook.payload) == {"token": "p4ss"}


def test_a_value_sent_sealed_with_an_older_key_is_sealed_again_with_the_current_one() -> None:
    older = WebhookSealer(KEY)
    sent = alert_with_hook(url=older.seal(URL.encode()), payload=older.seal(b'{"token":"p4ss"}'))
    stored = WebhookSealer(OTHER_KEY, KEY).seal_alert(sent).webhooks[0]
    current = WebhookSealer(OTHER_KEY)  # the older key dropped
    assert current.open_url(stored.url) == URL
    assert current.open_payload(stored.payload) == {"token": "p4ss"}


def test_sealing_an_alert_hides_url_and_payload_and_it_still_validates() -> None:
    sealer = WebhookSealer(KEY)
    alert = alert_with_hook(payload={"service": "db", "token": "p4ss"})
    sealed = sealer.seal_alert(alert)
    wire = encode_alert(sealed, NOW)
    assert b"hooks.example.com" not in wire and b"p4ss" not in wire
    stored = decode_alert(wire, NOW).alert  # what the fold reads
    hook = stored.webhooks[0]
    assert hook.sealed and is_sealed(hook.url) and is_sealed(hook.payload)
    assert sealer.open_url(hook.url) == URL
    assert sealer.open_payload(hook.payload) == {"service": "db", "token": "p4ss"}
    assert (hook.id, hook.button_text) == ("restart", "Restart")


def test_an_empty_payload_stays_empty_and_a_sealed_url_is_kept() -> None:
    sealer = WebhookSealer(KEY)
    once = sealer.seal_alert(alert_with_hook())
    twice = sealer.seal_alert(once)
    assert once.webhooks[0].payload == {}
    assert twice.webhooks[0].url == once.webhooks[0].url


def test_a_webhook_sent_sealed_with_another_key_is_refused_at_the_api() -> None:
    foreign = WebhookSealer(OTHER_KEY).seal(URL.encode())
    with pytest.raises(ApiError) as refused:
        sealed_webhooks(WebhookSealer(KEY), [alert_with_hook(url=foreign)])
    assert refused.value.status == 400


def test_alerts_with_webhooks_need_the_key_at_the_api() -> None:
    with pytest.raises(ApiError) as refused:
        sealed_webhooks(None, [alert_with_hook()])
    assert refused.value.status == 400
    assert "ALERTFOLD_WEBHOOK_ENCRYPTION_KEY" in refused.value.message
    plain = Alert.from_json_obj({"slackChannelId": "C123", "header": "no hooks"})
    assert sealed_webhooks(None, [plain]) == [plain]


def test_an_unsealed_webhook_written_to_kafka_is_dead_lettered_without_its_url() -> None:
    raw = json.dumps(alert_with_hook().to_json_obj()).encode()
    with pytest.raises(UndecodableInput) as refused:
        decode_alert(raw, NOW)
    assert refused.value.problems[0]["field"] == "webhooks.0"
    assert "must be sealed" in refused.value.reason
    assert URL not in refused.value.reason and URL not in json.dumps(refused.value.problems)


@pytest.mark.parametrize(
    "url",
    [{SEALED_KEY: "not base64!"}, {SEALED_KEY: ""}, {SEALED_KEY: "QQ==", "extra": 1}, 42],
)
def test_a_url_that_is_neither_a_url_nor_a_sealed_value_is_rejected(url: object) -> None:
    with pytest.raises(AlertRejected) as rejected:
        alert_with_hook(url=url)
    assert [p["field"] for p in rejected.value.problems] == ["webhooks.0.url"]
