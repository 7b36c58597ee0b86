"""The forms a setting's value is written in, and the checks that refuse a bad one precisely.

A value comes as text from an environment variable, or as text, a number, a list or a mapping
from the config file; each form here accepts both, so a setting means the same wherever it is
set. The checks raise `ValueError` with a message that never repeats a secret: the loader puts
the variable (or file and line) in front of it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator

from domain.routing import SLACK_CHANNEL_ID
from domain.silences import (
    MAX_SILENCE_CHOICE,
    MAX_SILENCE_CHOICES,
    MIN_SILENCE_CHOICE,
)
from infra.secret_box import parse_key
from infra.webhook_sealing import check_key

# Shorter keys are guessable; 16 printable characters is the least a random key should have.
MIN_API_KEY_LENGTH = 16
# The URL forms `infra.database.create_database_engine` builds an engine for, driver names
# included, so a URL the database layer supports is never refused before it gets there.
DATABASE_URL_PREFIXES = (
    "sqlite:///",
    "sqlite+pysqlite:///",
    "postgresql://",
    "postgresql+psycopg://",
    "postgres://",
    "mysql://",
    "mysql+pymysql://",
    "mariadb://",
    "mariadb+pymysql://",
)
# The parts `alertfold up` may run several of (ALERTFOLD_REPLICAS); workers have their own
# setting, and API replicas would all listen on ALERTFOLD_API_PORT.
REPLICABLE_PARTS = ("projector", "auditor", "presenter", "notifier", "interactions")
MAX_REPLICAS = 16

# -- durations --------------------------------------------------------------------------------

_UNIT_SECONDS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_NUMBER = r"\d+(?:\.\d+)?"
_DURATION = re.compile(rf"(?:{_NUMBER}(?:ms|d|h|m|s))+")
_DURATION_PART = re.compile(rf"({_NUMBER})(ms|d|h|m|s)")
DURATION_FORM = "a duration such as 90s, 30m, 1h or 1h30m, or a number of seconds"


def parse_duration(value: object) -> timedelta:
    """`90s`, `30m`, `1h30m`, `2d`, `500ms` (Go's and Alert Bridge's form, plus days), or a
    plain number of seconds, as the `…_SECONDS` variables have always been written."""
    if isinstance(value, timedelta):
        return value
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        seconds = value
    elif isinstance(value, str) and re.fullmatch(_NUMBER, value.strip()):
        seconds = float(value)
    elif isinstance(value, str) and _DURATION.fullmatch(value.strip()):
        parts = _DURATION_PART.findall(value)
        seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    if seconds is None:
        raise ValueError(f"not {DURATION_FORM}")
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError("longer than any duration alertfold can keep") from None


def format_duration(duration: timedelta) -> str:
    """The shortest form `parse_duration` reads back: `1h30m`, `4h`, `1d`, `1.5s`."""
    left = duration.total_seconds()
    if left == 0:
        return "0s"
    parts = []
    for unit in ("d", "h", "m"):
        count, left = divmod(left, _UNIT_SECONDS[unit])
        if count:
            parts.append(f"{int(count)}{unit}")
    if left:
        parts.append(f"{left:g}s")
    return "".join(parts)


def _in_unit(unit: str) -> BeforeValidator:
    """A number in the unit its name says (…_SECONDS, …_DAYS), or a duration with its own."""

    def convert(value: object) -> object:
        if isinstance(value, str) and value.strip() and not re.fullmatch(_NUMBER, value.strip()):
            return parse_duration(value).total_seconds() / _UNIT_SECONDS[unit]
        return value

    return BeforeValidator(convert)


def _bounded_or_off(value: object, shortest: timedelta, longest: timedelta) -> timedelta | None:
    """A duration within bounds; 0 (or nothing) turns the feature off."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    duration = parse_duration(value)
    if not duration:
        return None
    if not shortest <= duration <= longest:
        raise ValueError(
            f"must be 0 (off) or from {format_duration(shortest)} to {format_duration(longest)}"
        )
    return duration


def _duration_or_off(shortest: timedelta, longest: timedelta) -> BeforeValidator:
    return BeforeValidator(lambda value: _bounded_or_off(value, shortest, longest))


# How often an issue may be reminded of, everywhere or in one channel.
SHORTEST_RESEND_INTERVAL = timedelta(minutes=1)
LONGEST_RESEND_INTERVAL = timedelta(days=90)


def _channel_resend_intervals(value: object) -> tuple[tuple[str, timedelta], ...]:
    """`channel=duration,…` (or a mapping in the file): Slack channel ids, each once, with
    their own reminder interval; 0 turns reminders off in that channel. Ids are upper-cased,
    as alerts' are, so a channel's issues find theirs."""
    if isinstance(value, Mapping):
        entries = [(str(channel), _stripped(interval)) for channel, interval in value.items()]
    elif isinstance(value, str | list | tuple):
        entries = [_channel_entry(item) for item in _items(value)]
    else:
        raise ValueError("expected channel=duration entries, comma-separated, or a mapping")
    intervals: dict[str, timedelta] = {}
    for channel, interval in entries:
        channel = channel.strip()
        if not SLACK_CHANNEL_ID.match(channel):
            raise ValueError(
                f"{channel!r} is not a Slack channel id (9 to 15 letters or digits, "
                "e.g. C0123456789)"
            )
        if channel.upper() in intervals:
            raise ValueError(f"{channel} is given twice")
        if interval is None or interval == "":
            raise ValueError(f"{channel} has no interval (0 turns its reminders off)")
        try:
            duration = _bounded_or_off(interval, SHORTEST_RESEND_INTERVAL, LONGEST_RESEND_INTERVAL)
        except ValueError as problem:
            entry = f"{channel}={interval}"
            raise ValueError(f"{entry!r}: {problem}") from None
        intervals[channel.upper()] = duration or timedelta(0)
    return tuple(sorted(intervals.items()))


def _channel_entry(item: object) -> tuple[str, object]:
    if isinstance(item, list | tuple) and len(item) == 2:
        return str(item[0]), item[1]
    channel, sep, interval = str(item).partition("=")
    if not sep:
        raise ValueError(f"{item!r} is not channel=duration (e.g. C0123456789=15m)")
    return channel, _stripped(interval)


def _stripped(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _silence_durations(value: object) -> tuple[timedelta, ...]:
    items = _items(value)
    if not items:
        raise ValueError("name at least one duration")
    if len(items) > MAX_SILENCE_CHOICES:
        raise ValueError(
            f"{len(items)} choices; Slack shows at most {MAX_SILENCE_CHOICES} in a menu"
        )
    durations: list[timedelta] = []
    for item in items:
        duration = parse_duration(item)
        if not MIN_SILENCE_CHOICE <= duration <= MAX_SILENCE_CHOICE:
            raise ValueError(f"{item!r} is not from 1 minute to 90 days")
        if duration in durations:
            raise ValueError(f"{item!r} is given twice")
        durations.append(duration)
    return tuple(durations)


Seconds = Annotated[float, _in_unit("s")]
Days = Annotated[float, _in_unit("d")]
ResendInterval = Annotated[
    timedelta | None, _duration_or_off(SHORTEST_RESEND_INTERVAL, LONGEST_RESEND_INTERVAL)
]
ChannelResendIntervals = Annotated[
    tuple[tuple[str, timedelta], ...], BeforeValidator(_channel_resend_intervals)
]
DeduplicationWindow = Annotated[
    timedelta | None, _duration_or_off(timedelta(seconds=1), timedelta(days=1))
]
SilenceDurations = Annotated[tuple[timedelta, ...], BeforeValidator(_silence_durations)]

# -- lists ------------------------------------------------------------------------------------


def _items(value: object) -> list[object]:
    """A comma-separated text or a list, without empty items or the spaces around them."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        raise ValueError("expected a comma-separated list")
    stripped = [item.strip() if isinstance(item, str) else item for item in value]
    return [item for item in stripped if item != ""]


def _printable(item: object, what: str, position: int) -> str:
    if not isinstance(item, str) or not all("!" <= char <= "~" for char in item):
        raise ValueError(
            f"{what} {position} has a character other than printable ASCII (no spaces)"
        )
    return item


def _api_keys(value: object) -> tuple[str, ...]:
    """Each long and plain enough to be a bearer token."""
    keys = []
    for position, item in enumerate(_items(value), start=1):
        if isinstance(item, str) and len(item) < MIN_API_KEY_LENGTH:
            raise ValueError(f"key {position} is shorter than {MIN_API_KEY_LENGTH} characters")
        keys.append(_printable(item, "key", position))
    return tuple(keys)


def _shared_secrets(value: object) -> tuple[str, ...]:
    """During a rotation both the old and the new secret are valid."""
    return tuple(
        _printable(item, "secret", position) for position, item in enumerate(_items(value), start=1)
    )


# An operator's name, recorded as who acted (`web:<name>`).
_OPERATOR_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _operator_keys(value: object) -> object:
    """`name:key,…` (or a list of them): a name to record as who acted, and a key as strong
    as any API key; no key given to two names."""
    if isinstance(value, list | tuple) and all(isinstance(i, list | tuple) for i in value):
        return value
    named: list[tuple[str, str]] = []
    for position, entry in enumerate(_items(value), start=1):
        name, sep, key = str(entry).partition(":")
        if not sep or not _OPERATOR_NAME.match(name):
            raise ValueError(
                f"entry {position} is not name:key (a name of letters, digits, '.', '_' or '-', "
                "up to 64)"
            )
        named.append((name, key))
    keys = _api_keys([key for _, key in named])
    if len(set(keys)) != len(keys):
        raise ValueError("the same key is given to two names")
    return tuple(named)


ApiKeys = Annotated[tuple[str, ...], BeforeValidator(_api_keys)]
OperatorKeys = Annotated[tuple[tuple[str, str], ...], BeforeValidator(_operator_keys)]
SharedSecrets = Annotated[tuple[str, ...], BeforeValidator(_shared_secrets)]

# -- Kafka, databases, keys -------------------------------------------------------------------


def _bootstrap_servers(value: object) -> object:
    if isinstance(value, str):
        if not value.strip():
            return None
        value = value.split(",")
    if not isinstance(value, list | tuple):
        return value
    servers = [str(server).strip() for server in value]
    for server in servers:
        host, sep, port = server.rpartition(":")
        if not sep or not host or not (port.isascii() and port.isdigit()):
            raise ValueError(f"{server!r} is not host:port")
        if not 1 <= int(port) <= 65535:
            raise ValueError(f"{server!r} has a port outside 1 to 65535")
    # Kafka clients split the list on commas: spaces around the entries must go.
    return ",".join(servers)


def _database_url(value: object) -> object:
    if not isinstance(value, str):
        return value
    if not value.strip():
        return None
    if not value.strip().startswith(DATABASE_URL_PREFIXES):
        raise ValueError(
            "must start with sqlite:///, postgresql://, postgres://, mysql:// or mariadb://"
        )
    return value.strip()


def _keys(value: object, check: Callable[[str], object]) -> tuple[str, ...]:
    """`new,old,…` during a rotation: the first key encrypts, every one decrypts. A refusal
    names the key by its place in the list, never by its value."""
    items = _items(value)
    keys: list[str] = []
    checked: list[object] = []
    for position, item in enumerate(items, start=1):
        which = f"key {position} " if len(items) > 1 else ""
        if not isinstance(item, str):
            raise ValueError(f"{which}is not text")
        try:
            raw = check(item)
        except ValueError as problem:
            raise ValueError(f"{which}{problem}") from None
        if raw in checked:
            raise ValueError(f"key {position} is the same as key {checked.index(raw) + 1}")
        keys.append(item)
        checked.append(raw)
    return tuple(keys)


def _webhook_keys(value: object) -> tuple[str, ...]:
    return _keys(value, check_key)


def _secrets_keys(value: object) -> tuple[str, ...]:
    return _keys(value, parse_key)


def _readable_file(value: object) -> object:
    if value is not None and not Path(str(value)).is_file():
        raise ValueError(f"{value} is not a readable file")
    return value


BootstrapServers = Annotated[str | None, BeforeValidator(_bootstrap_servers)]
DatabaseUrl = Annotated[str | None, BeforeValidator(_database_url)]
WebhookKeys = Annotated[tuple[str, ...], BeforeValidator(_webhook_keys)]
SecretsKeys = Annotated[tuple[str, ...], BeforeValidator(_secrets_keys)]
ReadableFile = Annotated[Path | None, BeforeValidator(_readable_file)]

# -- processes and logs -----------------------------------------------------------------------


def _replicas(value: object) -> object:
    """`part=count,…` (or a mapping in the file): each part once, a known one, with a count
    `up` can run."""
    if isinstance(value, Mapping):
        value = [f"{part}={count}" for part, count in value.items()]
    if not isinstance(value, str | list):
        return value
    counts: dict[str, int] = {}
    for entry in (str(item) for item in _items(value)):
        part, sep, count = (text.strip() for text in entry.partition("="))
        if not sep or not count.isdigit():
            raise ValueError(f"{entry!r} is not part=count (e.g. presenter=2)")
        if part == "api":
            raise ValueError(
                "the API cannot have replicas under `alertfold up`: they would all listen "
                "on ALERTFOLD_API_PORT; run `alertfold api` processes on their own ports "
                "behind a load balancer instead"
            )
        if part == "worker":
            raise ValueError("set the number of workers with ALERTFOLD_WORKERS")
        if part not in REPLICABLE_PARTS:
            raise ValueError(
                f"unknown part {part!r}; parts with replicas: {', '.join(REPLICABLE_PARTS)}"
            )
        if part in counts:
            raise ValueError(f"{part} is given twice")
        if not 1 <= int(count) <= MAX_REPLICAS:
            raise ValueError(f"{part}'s count must be 1 to {MAX_REPLICAS}, not {count}")
        counts[part] = int(count)
    return tuple(counts.items())


def _log_level(value: object) -> object:
    """Any case; `warn` as Alert Bridge (and Go's loggers) write it."""
    if not isinstance(value, str):
        return value
    level = value.strip().lower()
    return "warning" if level == "warn" else level


Replicas = Annotated[tuple[tuple[str, int], ...], BeforeValidator(_replicas)]
LogLevel = Annotated[Literal["debug", "info", "warning", "error"], BeforeValidator(_log_level)]
