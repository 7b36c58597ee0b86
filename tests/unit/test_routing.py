"""Route keys to channels with Slack Manager's precedence."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import InvalidRouteTable, UnknownRouteKey
from domain.routing import Route, RouteTable


def rule(name: str, channel: str, **matching: Any) -> dict[str, Any]:
    return {"name": name, "channel": channel, **matching}


def table(*rules: dict[str, Any]) -> RouteTable:
    return RouteTable.from_json_obj(list(rules))


EXACT = "C000000001"
PREFIX = "C000000002"
REGEX = "C000000003"
ALL = "C000000004"
TYPED = "C000000005"


def test_equals_matches_the_whole_route_key() -> None:
    routes = table(rule("payments", EXACT, equals=["payments"]))
    assert routes.resolve("payments") == EXACT


def test_equals_is_case_insensitive() -> None:
    routes = table(rule("payments", EXACT, equals=["Payments"]))
    assert routes.resolve("PAYMENTS") == EXACT


def test_prefix_matches_the_start_of_the_route_key() -> None:
    routes = table(rule("prod", PREFIX, hasPrefix=["prod-"]))
    assert routes.resolve("prod-payments") == PREFIX


def test_regex_matches_anywhere_in_the_route_key() -> None:
    routes = table(rule("db", REGEX, matchesRegex=["db-[0-9]+"]))
    assert routes.resolve("team-db-42-primary") == REGEX


def test_regex_is_case_insensitive() -> None:
    routes = table(rule("db", REGEX, matchesRegex=["^DB-"]))
    assert routes.resolve("db-1") == REGEX


def test_match_all_takes_any_route_key() -> None:
    routes = table(rule("fallback", ALL, matchAll=True))
    assert routes.resolve("anything") == ALL


def test_equals_beats_prefix() -> None:
    routes = table(
        rule("prefix", PREFIX, hasPrefix=["pay"]), rule("exact", EXACT, equals=["payments"])
    )
    assert routes.resolve("payments") == EXACT


def test_prefix_beats_regex() -> None:
    routes = table(
        rule("regex", REGEX, matchesRegex=["pay"]), rule("prefix", PREFIX, hasPrefix=["pay"])
    )
    assert routes.resolve("payments") == PREFIX


def test_regex_beats_match_all() -> None:
    routes = table(rule("all", ALL, matchAll=True), rule("regex", REGEX, matchesRegex=["pay"]))
    assert routes.resolve("payments") == REGEX


def test_rule_for_the_alert_type_beats_an_untyped_rule_at_the_same_level() -> None:
    routes = table(
        rule("any", EXACT, equals=["payments"]),
        rule("security", TYPED, equals=["payments"], alertType="security"),
    )
    assert routes.resolve("payments", "security") == TYPED


def test_untyped_rule_at_a_higher_level_beats_a_typed_rule_at_a_lower_level() -> None:
    routes = table(
        rule("typed-prefix", TYPED, hasPrefix=["pay"], alertType="security"),
        rule("any-exact", EXACT, equals=["payments"]),
    )
    assert routes.resolve("payments", "security") == EXACT


def test_rule_for_another_alert_type_never_matches() -> None:
    routes = table(
        rule("security", TYPED, equals=["payments"], alertType="security"),
        rule("fallback", ALL, matchAll=True),
    )
    assert routes.resolve("payments", "metrics") == ALL


def test_alert_type_is_compared_case_insensitively() -> None:
    routes = table(rule("security", TYPED, equals=["payments"], alertType="Security"))
    assert routes.resolve("payments", "SECURITY") == TYPED


def test_first_matching_untyped_rule_wins_within_a_level() -> None:
    routes = table(
        rule("first", EXACT, hasPrefix=["pay"]), rule("second", PREFIX, hasPrefix=["payments"])
    )
    assert routes.resolve("payments") == EXACT


def test_match_all_for_the_alert_type_beats_an_untyped_match_all() -> None:
    routes = table(
        rule("all", ALL, matchAll=True),
        rule("all-security", TYPED, matchAll=True, alertType="security"),
    )
    assert routes.resolve("x", "security") == TYPED


def test_empty_route_key_only_uses_match_all_rules() -> None:
    routes = table(rule("regex", REGEX, matchesRegex=[".*"]), rule("all", ALL, matchAll=True))
    assert routes.resolve("") == ALL


def test_unmatched_route_key_raises_unknown_route_key() -> None:
    routes = table(rule("payments", EXACT, equals=["payments"]))
    with pytest.raises(
        UnknownRouteKey, match="no routing rule matches route key 'orders'"
    ) as caught:
        routes.resolve("Orders")
    assert caught.value.route_key == "orders"


def test_unknown_route_key_names_the_alert_type() -> None:
    with pytest.raises(UnknownRouteKey, match="and alert type 'security'"):
        RouteTable().resolve("orders", "security")


def test_empty_route_key_without_a_catch_all_raises_unknown_route_key() -> None:
    with pytest.raises(UnknownRouteKey, match="no route key and no catch-all"):
        RouteTable().resolve("")


def test_match_returns_the_rule_that_decided() -> None:
    routes = table(rule("payments", EXACT, equals=["payments"]))
    found = routes.match("payments")
    assert found is not None and found.name == "payments"


def test_route_table_can_be_built_from_route_objects() -> None:
    routes = RouteTable([Route(name="all", match_all=True, channel=ALL)])
    assert routes.resolve("x") == ALL


def test_slack_manager_routing_rules_object_is_accepted() -> None:
    routes = RouteTable.from_json_obj({"routingRules": [rule("all", ALL, matchAll=True)]})
    assert routes.resolve("x") == ALL


def test_describe_lists_rules_the_way_slack_managers_mappings_endpoint_does() -> None:
    routes = table(rule("payments", EXACT, equals=["Payments"], description="Team payments"))
    assert routes.describe() == [
        {
            "name": "payments",
            "description": "Team payments",
            "alertType": "",
            "equals": ["payments"],
            "hasPrefix": [],
            "matchesRegex": [],
            "matchAll": False,
            "channel": EXACT,
        }
    ]


# -- invalid tables ---------------------------------------------------------------------------


def problems(*rules: Any) -> list[dict[str, str]]:
    with pytest.raises(InvalidRouteTable) as caught:
        RouteTable.from_json_obj(list(rules))
    return caught.value.problems


def test_rule_that_matches_nothing_is_rejected() -> None:
    assert problems(rule("empty", EXACT)) == [
        {
            "field": "0",
            "message": "the rule matches nothing: set equals, hasPrefix, matchesRegex or matchAll",
        }
    ]


def test_rule_names_must_be_unique() -> None:
    assert problems(rule("a", ALL, matchAll=True), rule("a", EXACT, equals=["x"])) == [
        {"field": "1.name", "message": "'a' is used by an earlier rule; rule names must be unique"}
    ]


def test_rule_without_a_name_is_rejected() -> None:
    assert problems(rule(" ", ALL, matchAll=True))[0]["field"] == "0.name"


def test_rule_channel_must_be_a_channel_id() -> None:
    assert problems(rule("a", "#alerts", matchAll=True))[0]["field"] == "0.channel"


def test_invalid_regex_is_rejected_at_its_index() -> None:
    found = problems(rule("a", REGEX, matchesRegex=["ok", "("]))
    assert found[0]["field"] == "0.matchesRegex.1"
    assert found[0]["message"].startswith("is not a valid regular expression")


def test_empty_equals_value_is_rejected() -> None:
    assert problems(rule("a", EXACT, equals=["x", " "]))[0]["field"] == "0.equals.1"


def test_misspelt_rule_key_is_rejected() -> None:
    assert problems(rule("a", ALL, matchall=True))[0]["field"] == "0.matchall"
