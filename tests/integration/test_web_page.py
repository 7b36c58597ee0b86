"""The web page in a real browser (Debian's Chromium, driven by Playwright) against the running
product on the real broker, signed in with an operator key.

One product and one browser for the module; each test makes its own issues in its own
channel. With `ALERTFOLD_SCREENSHOTS=docs/screenshots` the tests also save the screenshots
the README shows.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from harness.waiting import eventually
from tests.support.notify_servers import HttpReceiver, running
from tests.support.product import Product, running_product

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
INGEST_KEY = "ingest-" + uuid.uuid4().hex
VIEW_KEY = "view-" + uuid.uuid4().hex
OPERATOR_KEY = "operator-" + uuid.uuid4().hex
LIVE_SECONDS = 10_000  # ms: a change shows within 2 s; the margin is for a loaded machine


@pytest.fixture(scope="module")
def product(
    kafka_bootstrap_servers: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Product]:
    with running_product(
        kafka_bootstrap_servers,
        tmp_path_factory.mktemp("web"),
        ALERTFOLD_INGEST_API_KEYS=INGEST_KEY,
        ALERTFOLD_VIEW_API_KEYS=VIEW_KEY,
        ALERTFOLD_OPERATOR_API_KEYS=f"ana:{OPERATOR_KEY}",
    ) as product:
        yield product


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserContext]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-chromium")
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
            viewport={"width": 1400, "height": 900},
        )
        yield context
        context.close()


@pytest.fixture(scope="module")
def signed_in(product: Product, browser: BrowserContext) -> BrowserContext:
    page = browser.new_page()
    page.goto(f"{product.api_url}/")
    expect(page).to_have_url(re.compile(r"/ui/sign-in"))
    screenshot(page, "sign-in")
    page.get_by_label("API key").fill(OPERATOR_KEY)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as")).to_contain_text("ana")
    page.close()
    return browser


@pytest.fixture
def page(signed_in: BrowserContext) -> Iterator[Page]:
    page = signed_in.new_page()
    yield page
    page.close()


def screenshot(page: Page, name: str) -> None:
    folder = os.environ.get("ALERTFOLD_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def fresh_channel() -> str:
    return f"CWEB{uuid.uuid4().hex[:8].upper()}"


def send_alert(product: Product, channel: str, correlation: str, **fields: Any) -> None:
    alert = {
        "slackChannelId": channel,
        "correlationId": correlation,
        "header": f"{correlation} is failing",
        "text": "checked from the web page test",
        "severity": "error",
        "issueFollowUpEnabled": True,
        **fields,
    }
    answer = httpx.post(
        f"{product.api_url}/alert",
        json=alert,
        headers={"Authorization": f"Bearer {INGEST_KEY}"},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text


def issue_in_view(product: Product, channel: str, **expected: Any) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        answer = httpx.get(
            f"{product.api_url}/issues",
            params={"channel_id": channel},
            headers={"Authorization": f"Bearer {VIEW_KEY}"},
            timeout=30,
        )
        for issue in answer.json()["issues"]:
            if all(issue.get(k) == v for k, v in expected.items()):
                return dict(issue)
        return None

    return eventually(probe, timeout=60, what=f"an issue in {channel} with {expected}")


def row(page: Page, issue_id: str) -> Any:
    return page.locator(f'tr[data-issue="{issue_id}"]')


def test_open_issues_show_with_severity_words_and_a_banner_for_unacknowledged_errors(
    product: Product, page: Page
) -> None:
    channel = fresh_channel()
    send_alert(product, channel, "db-down", severity="panic")
    send_alert(product, channel, "disk-full", severity="warning")
    issue = issue_in_view(product, channel, correlation_id="db-down")
    issue_in_view(product, channel, correlation_id="disk-full")
    page.goto(f"{product.api_url}/ui/")
    expect(row(page, issue["id"])).to_contain_text("panic")
    expect(page.get_by_role("alert")).to_contain_text("not acknowledged")
    screenshot(page, "issues")


def test_the_filter_strip_filters_and_keeps_the_filter_in_the_url(
    product: Product, page: Page
) -> None:
    channel = fresh_channel()
    send_alert(product, channel, "api-slow", severity="warning")
    send_alert(product, channel, "api-down", severity="error")
    issue_in_view(product, channel, correlation_id="api-slow")
    down = issue_in_view(product, channel, correlation_id="api-down")
    page.goto(f"{product.api_url}/ui/")
    page.get_by_label("Severity").select_option("error")
    page.get_by_label("Text").fill("api-")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"severity=error.*q=api-|q=api-.*severity=error"))
    expect(row(page, down["id"])).to_be_visible()
    expect(page.locator("tbody")).not_to_contain_text("api-slow is failing")


def test_a_new_alert_appears_without_a_reload(product: Product, page: Page) -> None:
    channel = fresh_channel()
    page.goto(f"{product.api_url}/ui/?channel={channel}")
    expect(page.locator("tbody")).to_contain_text("No issues match")
    page.evaluate("window.stillTheSamePage = true")
    send_alert(product, channel, "queue-backlog")
    expect(page.locator("tbody")).to_contain_text("queue-backlog is failing", timeout=LIVE_SECONDS)
    assert page.evaluate("window.stillTheSamePage") is True


def test_acknowledging_changes_the_row_to_say_who(product: Product, page: Page) -> None:
    channel = fresh_channel()
    send_alert(product, channel, "cache-miss")
    issue = issue_in_view(product, channel)
    page.goto(f"{product.api_url}/ui/?channel={channel}")
    row(page, issue["id"]).get_by_role("button", name=re.compile("^Acknowledge")).click()
    expect(page.locator("#notice")).to_contain_text("Acknowledgement sent")
    expect(row(page, issue["id"])).to_contain_text("Acknowledged by web:ana", timeout=LIVE_SECONDS)
    expect(row(page, issue["id"]).get_by_role("button", name=re.compile("^Unacknowledge")))
    issue_in_view(
        product, channel, acknowledged_by={"kind": "api", "id": "web:ana", "name": "web:ana"}
    )


def test_silencing_from_the_page_silences_the_issue(product: Product, page: Page) -> None:
    channel = fresh_channel()
    send_alert(product, channel, "noisy-check")
    issue = issue_in_view(product, channel)
    page.goto(f"{product.api_url}/ui/?channel={channel}")
    found = row(page, issue["id"])
    found.get_by_text("Silence…").click()
    found.get_by_label("For").select_option(label="30 min")
    found.get_by_role("button", name=re.compile("^Silence:")).click()
    expect(found).to_contain_text("Silenced until", timeout=LIVE_SECONDS)
    page.goto(f"{product.api_url}/ui/silences")
    expect(page.locator("#active-title")).to_be_visible()
    expect(page.locator("table.silences").first).to_contain_text(issue["correlation_id"])
    page.get_by_label("Name").first.fill("correlationId")
    page.get_by_label("Value").first.fill("noisy-check")
    page.get_by_role("button", name="Preview matches").click()
    expect(page.get_by_role("status").last).to_contain_text("Would match 1 open issue")
    screenshot(page, "silences")


def test_a_notification_channel_is_created_and_a_test_reaches_its_receiver(
    product: Product, page: Page
) -> None:
    with running(HttpReceiver()) as receiver:
        name = f"Ops hook {uuid.uuid4().hex[:6]}"
        page.goto(f"{product.api_url}/ui/settings/notifications")
        page.get_by_label("Name", exact=True).fill(name)
        page.get_by_label("Webhook").check()
        page.get_by_role("group", name="Webhook").get_by_label("URL").fill(receiver.url)
        page.get_by_role("button", name="Preview payload").click()
        expect(page.locator(".preview pre")).to_contain_text('"kind": "test"')
        page.get_by_role("button", name="Save channel").click()
        channel_row = page.locator("tr", has_text=name)
        expect(channel_row).to_contain_text("Webhook")
        channel_row.get_by_role("button", name=f"Send a test through {name}").click()
        expect(channel_row.locator("output")).to_contain_text("Test sent")
        eventually(lambda: receiver.requests, timeout=10, what="the test at the receiver")
        assert receiver.requests[0].json()["kind"] == "test"
        screenshot(page, "notifications")
        page.goto(f"{product.api_url}/ui/notifications/log")
        expect(page.get_by_role("heading", name="Delivery log")).to_be_visible()
        screenshot(page, "delivery-log")


def test_the_timeline_and_the_time_slider_show_the_issue_as_it_was(
    product: Product, page: Page
) -> None:
    channel = fresh_channel()
    send_alert(product, channel, "cert-expiry")
    issue = issue_in_view(product, channel)
    acknowledged = httpx.post(
        f"{product.api_url}/issues/{issue['id']}/acknowledge",
        headers={"Authorization": f"Bearer {OPERATOR_KEY}"},
        timeout=30,
    )
    assert acknowledged.status_code == 202, acknowledged.text
    issue_in_view(product, channel, version=2)
    page.goto(f"{product.api_url}/ui/issues/{issue['id']}")
    timeline = page.locator("table.timeline")
    expect(timeline).to_contain_text("opened", timeout=LIVE_SECONDS)
    expect(timeline).to_contain_text("web:ana", timeout=LIVE_SECONDS)
    expect(page.locator("dl.fields").first).to_contain_text("Acknowledged by web:ana")
    screenshot(page, "issue")
    slider = page.get_by_label(re.compile("^Version"))
    slider.focus()
    slider.press("Home")
    expect(page.get_by_role("note")).to_contain_text("as it was at version 1")
    expect(page.locator("dl.fields").first).not_to_contain_text("Acknowledged by")
    screenshot(page, "issue-then")
