"""`alertfold notifications rekey`: the last step of rotating `ALERTFOLD_SECRETS_KEY`.

With the new key first in the list and the old one after it, every stored notification
secret is sealed again under the new key; once this reports nothing left under another key,
the old one can be dropped from the list. Running it again changes nothing.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.composition import create_app
from infra.secret_box import KEY_VARIABLE
from infra.settings import load_settings


def add_notifications_parser(commands: Any) -> None:
    notifications = commands.add_parser("notifications", help="notification channels' upkeep")
    actions = notifications.add_subparsers(title="actions", metavar="ACTION", required=True)
    rekey = actions.add_parser(
        "rekey",
        help=f"re-encrypt every stored channel secret under the first key of {KEY_VARIABLE}",
    )
    rekey.set_defaults(handler=_rekey)


def _rekey(_: argparse.Namespace) -> int:
    settings = load_settings()
    if not settings.secrets_keys:
        print(
            f"alertfold: {KEY_VARIABLE} is not set: there is no key to re-encrypt with",
            file=sys.stderr,
        )
        return 2
    outcome = create_app(settings).notification_services().channels.reseal_secrets()
    print(
        f"re-encrypted the secrets of {_channels(outcome.resealed)} under the first key of "
        f"{KEY_VARIABLE}; {_channels(outcome.current)} already under it"
    )
    for problem in outcome.unreadable:
        print(f"alertfold: {problem}", file=sys.stderr)
    if outcome.unreadable:
        print(
            f"alertfold: {_channels(len(outcome.unreadable))} left as they were: add the key "
            "their secrets were stored with to the list and run this again, or enter those "
            "secrets again",
            file=sys.stderr,
        )
        return 1
    return 0


def _channels(count: int) -> str:
    return f"{count} channel{'' if count == 1 else 's'}"
