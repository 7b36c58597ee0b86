"""Alert text made safe for Slack's mrkdwn: nothing an alert says may ping or mislead.

Slack reads `<…>` in message text as a command: `<!channel>`, `<!here>` and `<!everyone>`
notify a whole channel, `<!subteam^S…>` a user group, `<@U…>` a person, and
`<https://evil|https://runbook.internal>` shows one address while opening another. Alert
content comes from monitoring systems and whatever they quote (log lines, user input), so
by default every piece of it is escaped as Slack asks (`&` → `&amp;`, `<` → `&lt;`,
`>` → `&gt;`, docs.slack.dev "Formatting text for app surfaces", Escaping text): it shows as
written, bold and code fences still work, but no `<…>` is acted on. An alert links somewhere
only through its `link` field, checked at ingest.

`mrkdwn` is the opt-in for installations whose alerts write Slack links themselves, as Slack
Manager allowed (`ALERTFOLD_SLACK_ALERT_MARKUP=mrkdwn`): links and channel references are
kept, but broadcasts and mentions of people and groups (`<!…>`, `<@…>`) are still shown
as text, escaped, so escalation mentions stay the one way an alert notifies anyone.
"""

from __future__ import annotations

import re
from typing import Literal

AlertMarkup = Literal["escaped", "mrkdwn"]

_SPECIAL = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# A broadcast (`<!here>`, `<!subteam^S1|@ops>`, …) or a mention (`<@U123>`, `<@W123|bob>`).
_NOTIFYING = re.compile(r"<([!@][^<>]*)>")


def escaped(text: str) -> str:
    """`text` shown exactly as written: no link, mention or broadcast in it is acted on."""
    return text.translate(_SPECIAL)


def neutralised(text: str) -> str:
    """`text` as mrkdwn whose broadcasts and mentions show as text instead of notifying."""
    return _NOTIFYING.sub(lambda match: f"&lt;{match[1]}&gt;", text)


def alert_mrkdwn(text: str, markup: AlertMarkup) -> str:
    """Alert content for an mrkdwn text object, as the installation chose to read it."""
    return neutralised(text) if markup == "mrkdwn" else escaped(text)
