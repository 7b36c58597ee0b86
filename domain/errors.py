"""Named domain errors.

Callers at the edges (HTTP API, topic consumers) turn these into responses or dead letters, so
each carries what a client needs to fix its input, in words a person can act on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# One thing wrong with an input: {"field": dotted camelCase path ("" = the whole input),
# "message": what is wrong and the limit}. A plain dict so it goes into JSON bodies as is.
FieldProblem = dict[str, str]


def problem(field: str, message: str) -> FieldProblem:
    return {"field": field, "message": message}


def summarise(problems: Iterable[Mapping[str, str]]) -> str:
    """All problems on one line, for logs and the `error` string of a 400 body."""
    parts = [
        f"{p['field']}: {p['message']}" if p.get("field") else p.get("message", "")
        for p in problems
    ]
    return "; ".join(parts)


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""


class AlertRejected(DomainError):
    """An alert (or an Alertmanager payload) failed validation.

    `problems` lists every field-level problem at once, so a client fixes its input in one round
    trip; the HTTP API returns them in the 400 body.
    """

    def __init__(self, message: str, problems: Iterable[Mapping[str, str]] = ()) -> None:
        self.problems: list[FieldProblem] = [
            problem(p.get("field", ""), p.get("message", "")) for p in problems
        ]
        super().__init__(message)

    @classmethod
    def from_problems(
        cls, problems: Iterable[Mapping[str, str]], what: str = "the alert"
    ) -> AlertRejected:
        listed = list(problems)
        text = summarise(listed)
        return cls(f"{what} was rejected: {text}" if text else f"{what} was rejected", listed)

    @classmethod
    def single(cls, field: str, message: str) -> AlertRejected:
        return cls.from_problems([problem(field, message)])

    def prefixed(self, prefix: str) -> AlertRejected:
        """The same problems located under `prefix` (e.g. "alerts.2"), for batch inputs."""
        return AlertRejected.from_problems(
            problem(f"{prefix}.{p['field']}" if p["field"] else prefix, p["message"])
            for p in self.problems
        )


class UnknownRouteKey(DomainError):
    """No routing rule sends this route key (and alert type) anywhere."""

    def __init__(self, route_key: str, alert_type: str = "") -> None:
        self.route_key = route_key
        self.alert_type = alert_type
        if route_key:
            type_part = f" and alert type '{alert_type}'" if alert_type else ""
            message = f"no routing rule matches route key '{route_key}'{type_part}"
        else:
            type_part = f" for alert type '{alert_type}'" if alert_type else ""
            message = (
                f"the alert has no route key and no catch-all (matchAll) rule exists{type_part}"
            )
        super().__init__(message)


class NoChannel(DomainError):
    """An alert names no Slack channel and nothing else decides one for it."""

    def __init__(
        self,
        message: str = (
            "the alert has no slackChannelId, the request path names no channel, "
            "and it has no routeKey to look one up"
        ),
    ) -> None:
        super().__init__(message)


class EmptyAlertmanagerPayload(DomainError):
    """Alertmanager sent a well-formed webhook with nothing in it."""

    def __init__(self) -> None:
        super().__init__("the Alertmanager payload has an empty 'alerts' list")


class InvalidRouteTable(DomainError):
    """The routing rules contradict themselves or cannot be used as configured."""

    def __init__(self, problems: Iterable[Mapping[str, str]]) -> None:
        self.problems: list[FieldProblem] = [
            problem(p.get("field", ""), p.get("message", "")) for p in problems
        ]
        super().__init__("invalid routing rules: " + (summarise(self.problems) or "unknown"))


class IssueNotOpen(DomainError):
    """An action that needs an open issue was asked of one that is not."""


class IssueNotResolved(DomainError):
    """An action that needs a resolved issue was asked of one that is not."""


class IssueAlreadyArchived(DomainError):
    """An archived issue is closed for good: nothing may change it any more."""
