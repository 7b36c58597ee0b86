"""``alertfold audit ISSUE_ID [--at TIME | --version N]``: an issue's history, for people.

Without options: one fixed-width line per recorded event (when, what, who, from which
input). With ``--at`` or ``--version``: the issue's state then, as ``key: value`` lines.
Questions the audit cannot answer (unknown issue, bad time, missing version) are one line on
stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from app.composition import create_app
from infra.settings import load_settings
from projections.audit_history import HistoryEntry, iso_z, parse_time
from projections.audit_store import AuditQueryError
from projections.audited_issue import AuditedIssue

SUMMARY_WIDTH = 70


def add_audit_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = commands.add_parser(
        "audit",
        help="an issue's history from the audit store, or its state at a time or version",
    )
    audit.add_argument("issue_id", metavar="ISSUE_ID")
    when = audit.add_mutually_exclusive_group()
    when.add_argument("--at", metavar="TIME", help="state at this time (ISO 8601, UTC if no zone)")
    when.add_argument("--version", metavar="N", type=int, help="state right after version N")
    audit.set_defaults(handler=_audit)


def _audit(args: argparse.Namespace) -> int:
    store = create_app(load_settings()).audit_store()
    try:
        if args.version is not None:
            print("\n".join(state_lines(store.at_version(args.issue_id, args.version))))
        elif args.at is not None:
            print("\n".join(state_lines(store.at_time(args.issue_id, parse_time(args.at)))))
        else:
            print("\n".join(history_table(args.issue_id, store.history(args.issue_id))))
    except (AuditQueryError, ValueError) as error:
        print(f"alertfold: {error}", file=sys.stderr)
        return 2
    finally:
        store.close()
    return 0


def history_table(issue_id: str, entries: Sequence[HistoryEntry]) -> list[str]:
    """A heading, a header row, and one row per event; gaps in the versions are shown."""
    rows = [("VERSION", "WHEN (UTC)", "TYPE", "WHAT", "WHO", "INPUT")]
    previous = 0
    gaps: dict[int, str] = {}
    for entry in entries:
        if entry.version > previous + 1:
            missing = range(previous + 1, entry.version)
            gaps[len(rows)] = f"  (version{'s' if len(missing) > 1 else ''} " + (
                f"{missing[0]}-{missing[-1]} not recorded)"
                if len(missing) > 1
                else f"{missing[0]} not recorded)"
            )
        previous = entry.version
        rows.append(
            (
                str(entry.version),
                iso_z(entry.occurred_at).replace("T", " ").removesuffix("Z"),
                entry.type,
                _clip(entry.summary, SUMMARY_WIDTH),
                entry.who,
                entry.source,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    count = len(entries)
    lines = [f"issue {issue_id}: {count} event{'' if count == 1 else 's'}", ""]
    for index, row in enumerate(rows):
        if index in gaps:
            lines.append(gaps[index])
        lines.append(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return lines


def state_lines(issue: AuditedIssue) -> list[str]:
    """The issue at one version as `key: value` lines, every snapshot field included."""
    event = issue.event
    fields: list[tuple[str, str]] = [
        ("issue", event.issue_id),
        ("as of", f"version {event.version}, {event.type} at {iso_z(event.occurred_at)}"),
    ]
    snapshot = event.issue.model_dump(mode="json")
    last_alert = snapshot.pop("last_alert", {})
    snapshot.pop("id", None)
    for key, value in snapshot.items():
        fields.append((key, _value(value)))
    fields.append(("last_alert", json.dumps(last_alert, ensure_ascii=False, sort_keys=True)))
    width = max(len(key) for key, _ in fields) + 1
    return [f"{(key + ':').ljust(width)} {value}" for key, value in fields]


def _value(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, str):
        return value.replace("\n", " ⏎ ")
    return json.dumps(value) if isinstance(value, dict | bool) else str(value)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
