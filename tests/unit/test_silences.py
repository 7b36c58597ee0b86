"""Silences as Alertmanager defines them: matchers on fields and labels, a start and an end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from domain.silence_book import SilenceBook
from domain.silences import Matcher, MatchOperator, Silence, next_silence_start, silence_for

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ALERT: dict[str, Any] = {
    "correlationId": "db-primary",
    "severity": "error",
    "issueFollowUpEnabled": True,
    "metadata": {"labels": {"team": "storage", "env": "prod"}},
}


def silence(*matchers: Matcher, id: str = "s1", hours: int = 1, start: datetime = T0) -> Silence:
    return Silence(
        id=id,
        matchers=matchers,
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
        created_by="ana",
    )


@pytest.mark.parametrize(
    ("name", "value", "operator", "expected"),
    [
        ("correlationId", "db-primary", MatchOperator.EQUAL, True),
        ("correlationId", "db", MatchOperator.EQUAL, False),
        ("severity", "warning", MatchOperator.NOT_EQUAL, True),
        ("correlationId", "db-.*", MatchOperator.REGEX, True),
        ("correlationId", "db", MatchOperator.REGEX, False),  # anchored, as in Alertmanager
        ("labels.team", "stor.*", MatchOperator.REGEX, True),
        ("labels.env", "prod", MatchOperator.NOT_REGEX, False),
        ("labels.missing", "", MatchOperator.EQUAL, True),  # absent reads as empty
        ("issueFollowUpEnabled", "true", MatchOperator.EQUAL, True),
    ],
)
def test_each_operator_matches_alert_fields_and_labels(
    name: str, value: str, operator: MatchOperator, expected: bool
) -> None:
    assert Matcher(name=name, value=value, operator=operator).matches(ALERT) is expected


def test_every_matcher_of_a_silence_must_match() -> None:
    both = silence(
        Matcher(name="labels.team", value="storage"), Matcher(name="severity", value="panic")
    )
    assert not both.matches(ALERT)


def test_a_matcher_with_a_broken_regular_expression_is_rejected() -> None:
    with pytest.raises(ValidationError, match="not a regular expression"):
        Matcher(name="header", value="(", operator=MatchOperator.REGEX)


def test_a_silence_must_end_after_it_starts() -> None:
    with pytest.raises(ValidationError, match="ends_at must be after starts_at"):
        silence(Matcher(name="severity", value="error"), hours=0)


def test_silence_covers_from_its_start_until_just_before_its_end() -> None:
    rule = silence(Matcher(name="severity", value="error"))
    assert silence_for([rule], ALERT, T0) == rule
    assert silence_for([rule], ALERT, T0 - timedelta(seconds=1)) is None
    assert silence_for([rule], ALERT, T0 + timedelta(hours=1)) is None


def test_of_several_covering_silences_the_one_ending_last_counts() -> None:
    short = silence(Matcher(name="severity", value="error"), id="short")
    long = silence(Matcher(name="labels.env", value="prod"), id="long", hours=4)
    assert silence_for([short, long], ALERT, T0) == long


def test_next_start_is_the_first_later_silence_matching_the_alert() -> None:
    soon = silence(
        Matcher(name="severity", value="error"), id="soon", start=T0 + timedelta(hours=1)
    )
    later = silence(
        Matcher(name="severity", value="error"), id="later", start=T0 + timedelta(hours=2)
    )
    other = silence(
        Matcher(name="severity", value="info"), id="other", start=T0 + timedelta(minutes=5)
    )
    assert next_silence_start([later, soon, other], [ALERT], T0) == T0 + timedelta(hours=1)
    assert next_silence_start([later, soon], [ALERT], T0 + timedelta(hours=1)) == T0 + timedelta(
        hours=2
    )


def test_book_replaces_a_silence_by_id_and_drops_those_over() -> None:
    first = silence(Matcher(name="severity", value="error"))
    over = silence(Matcher(name="severity", value="info"), id="s0", start=T0 - timedelta(hours=2))
    book = SilenceBook(silences=(over,)).with_silence(first, at=T0)
    assert book.silences == (first,)
    expired = first.model_copy(update={"ends_at": T0 + timedelta(minutes=5)})
    assert SilenceBook(silences=(first,)).with_silence(expired, at=T0).silences == (expired,)
    assert book.with_silence(expired, at=T0 + timedelta(minutes=5)).silences == ()
