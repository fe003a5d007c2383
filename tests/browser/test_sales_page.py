"""The sales page in headless Chromium: paste a lead, see score, tier and reasons.

Drives Debian's chromium (``/usr/bin/chromium``) through Playwright; never downloads a browser.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from chromium import CHROMIUM, CHROMIUM_ARGS
from serving_support import API_KEY, AUTH, RunningService, register_stub, run_service

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.xdist_group("serving"),
]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    store = tmp_path_factory.mktemp("sales-page")
    register_stub(store)
    with run_service(store) as running:
        yield running


def test_paste_a_lead_and_see_score_tier_and_reasons(
    service: RunningService, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    lead = (
        '{"lead_id": "page-1", "as_of": "2026-03-01T00:00:00Z",'
        ' "attributes": {"industry": "software"},'
        ' "events": [{"event_type": "demo_request", "occurred_at": "2026-02-27T09:00:00Z"},'
        ' {"event_type": "web_visit", "occurred_at": "2026-02-28T09:00:00Z"}]}'
    )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{service.url}/sales")
            page.fill("#api-key", API_KEY)
            page.fill("#lead-json", lead)
            page.click("#score")
            # Stub formula: logit = -2 + 0.4 * 2 events + 1 (software) -> p = 0.4502 -> 45, C.
            expect(page.locator("#score-value")).to_have_text("45")
            expect(page.locator("#tier-value")).to_have_text("C")
            expect(page.locator("#probability-value")).to_have_text("45.0 %")
            expect(page.locator("#score-rank")).to_have_text("Better than 45 % of leads")
            expect(page.locator("#probability-text")).to_have_text(
                "chance to buy within 90 days · a typical lead: 18.2 %"
            )
            expect(page.locator("#model-version")).to_have_text("model v1")
            expect(page.locator("#reasons li")).to_have_count(2)
            # Points add up on screen: 18.2 % + 16.5 + 10.3 = 45.0 % (exact 16.48 and 10.30).
            expect(page.locator("#reasons li").first).to_have_text(
                "Engaged 2 times before scoring+16.5 pts"
            )
            expect(page.locator("#reasons li").nth(1)).to_contain_text("+10.3 pts")
            # Typical lead, two reasons, this lead (the stub has no other reasons).
            expect(page.locator("#waterfall .waterfall-bar")).to_have_count(4)
            page.screenshot(path=str(tmp_path / "sales_page.png"), full_page=True)

            # The lookup shows what the score log recorded for the lead just scored.
            page.fill("#lookup-id", "page-1")
            page.click("#lookup")
            expect(page.locator("#history tr")).to_have_count(2)
            expect(page.locator("#history")).to_contain_text("v1")

            # A wrong key is refused and the page says so instead of showing a score.
            page.fill("#api-key", "not-the-key")
            page.click("#score")
            expect(page.locator("#error")).to_contain_text("401")
        finally:
            browser.close()
    assert (tmp_path / "sales_page.png").stat().st_size > 10_000


def test_open_a_stored_lead_by_id_and_see_its_score_timeline_and_history(
    service: RunningService, tmp_path: Path
) -> None:
    """A salesperson types a lead id: the lead the CRM wrote into the store is shown with its
    current score, tier, probability and reasons, its events on a timeline and its score
    history as a chart."""
    import httpx
    from playwright.sync_api import expect, sync_playwright

    messages = [
        {"type": "identify", "userId": "store-7", "traits": {"industry": "software"},
         "timestamp": "2026-02-01T09:00:00Z"},
        {"type": "track", "userId": "store-7", "event": "Pricing Page View",
         "timestamp": "2026-02-10T09:00:00Z", "properties": {"campaign": "spring-launch"}},
        {"type": "track", "userId": "store-7", "event": "Demo Request",
         "timestamp": "2026-02-12T09:00:00Z"},
    ]  # fmt: skip
    sent = httpx.post(f"{service.url}/v1/batch", json={"batch": messages}, headers=AUTH)
    assert sent.status_code == 200, sent.text
    httpx.get(f"{service.url}/leads/store-7", headers=AUTH).raise_for_status()  # first score
    # Written before the next event: a newer score stored first would supersede it unwritten.
    deadline = time.monotonic() + 30
    while httpx.get(f"{service.url}/stats", headers=AUTH).json()["leads_awaiting_score"]:
        assert time.monotonic() < deadline, "the first score was not written within 30 s"
        time.sleep(0.1)
    more = [{"type": "track", "userId": "store-7", "event": "Web Visit",
             "timestamp": "2026-02-13T09:00:00Z"}]  # fmt: skip
    httpx.post(f"{service.url}/v1/batch", json={"batch": more}, headers=AUTH).raise_for_status()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1100})
            page.goto(f"{service.url}/sales")
            page.fill("#api-key", API_KEY)
            page.fill("#lookup-id", "store-7")
            page.click("#open-lead")
            # Stub formula: logit = -2 + 0.4 * 3 events + 1 (software) -> p = 0.5498 -> 55, C.
            expect(page.locator("#score-value")).to_have_text("55")
            expect(page.locator("#tier-value")).to_have_text("C")
            expect(page.locator("#probability-value")).to_have_text("55.0 %")
            expect(page.locator("#lead-title")).to_contain_text("Lead store-7")
            expect(page.locator("#reasons li").first).to_contain_text("Engaged 3 times")
            expect(page.locator("#events-summary")).to_have_text("3 events")
            expect(page.locator("#timeline rect.timeline-event")).to_have_count(3)
            expect(page.locator("#timeline")).to_contain_text("pricing_page_view")
            expect(page.locator("#event-list tr.event-row").first).to_contain_text("web_visit")
            expect(page.locator("#event-list")).to_contain_text("spring-launch")
            # Scored before and after the last event: two points, newest score last.
            expect(page.locator("#history-chart circle.history-point")).to_have_count(2)
            page.screenshot(path=str(tmp_path / "stored_lead.png"), full_page=True)

            page.fill("#lookup-id", "not-in-the-store")
            page.click("#open-lead")
            expect(page.locator("#error")).to_contain_text("not in the lead store")
            expect(page.locator("#stored-lead")).to_be_hidden()
        finally:
            browser.close()
    assert (tmp_path / "stored_lead.png").stat().st_size > 10_000
