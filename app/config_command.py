"""`alertfold config check [PATH]` and `alertfold config show`: the settings, without starting
anything.

`check` judges a config file on its own (the environment only fills its `${NAME}`
references), so a file can be checked on a machine other than the one it will run on; its
problems are the refusal start-up would give (exit 2). `show` prints what a process started
here would run with, and where each value came from.
"""

from __future__ import annotations

import argparse
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from infra.settings import CONFIG_VARIABLE, Settings, SettingsError, resolve_settings
from infra.settings_fields import Declared, declarations
from infra.settings_sources import without_password
from infra.settings_values import format_duration


def add_config_parser(commands: Any) -> None:
    config = commands.add_parser("config", help="check a config file, or show the settings")
    actions = config.add_subparsers(title="actions", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check", help=f"validate a config file (default: ${CONFIG_VARIABLE}) without starting"
    )
    check.add_argument("path", nargs="?", type=Path, help="the YAML file to check")
    check.set_defaults(handler=_check)
    show = actions.add_parser(
        "show", help="print the effective settings (secrets hidden) and where each was set"
    )
    show.set_defaults(handler=_show)


def _check(args: argparse.Namespace) -> int:
    path: Path | None = args.path or (
        Path(os.environ[CONFIG_VARIABLE]) if os.environ.get(CONFIG_VARIABLE) else None
    )
    if path is None:
        raise SettingsError(f"no config file to check: name one, or set {CONFIG_VARIABLE}")
    resolve_settings(config_file=path, use_environment=False)
    print("ok")
    return 0


def _show(_: argparse.Namespace) -> int:
    resolved = resolve_settings()
    rows = [("setting", "variable", "value", "from")]
    for declared in declarations(Settings):
        value = getattr(resolved.settings, declared.field)
        origin = resolved.origin(declared.field)
        rows.append((declared.key, declared.variable, shown_value(declared, value), str(origin)))
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[3]]))
    return 0


def shown_value(declared: Declared, value: object) -> str:
    """A value as the config file would spell it; a secret only says that it is set."""
    if value is None or value == ():
        return "(unset)"
    if declared.secret:
        return "(hidden)"
    if isinstance(value, tuple):
        return ",".join(_item(item) for item in value)
    return _item(value)


def _item(value: object) -> str:
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, tuple):
        return "=".join(_item(part) for part in value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return without_password(value) if value else '""'
    return str(value)
