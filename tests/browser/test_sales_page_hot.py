"""The sales page's "just became hot" list in headless Chromium: leads that just became
sales-ready or came back into the market, newest first; a click (or an alert's link,
``/sales#lead=ID``) opens the lead."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from alert_support import wait_until
from serving_support import API_KEY, AUTH, RunningService, register_stub, run_service
from test_sales_page import CHROMIUM, CHROMIUM_ARGS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.xdist_group("serving"),
]

WINDOW_MODEL = Path(__file__).resolve().parents[1] / "support" / "stub_window_model.py"


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    folder = tmp_path_factory.mktemp("sales-page-hot")
    register_stub(folder, code=WINDOW_MODEL)
    with run_service(folder, {"LEADSCORE_RESCORE_SECONDS": "0.1"}) as running:
        yield running


def _score_of(service: RunningService, lead_id: str) -> int | None:
    body = httpx.get(f"{service.url}/leads/{lead_id}", headers=AUTH).json()
    return (body.get("score") or {}).get("score")


def _post(service: RunningService, kind: str, items: list[dict]) -> None:
    httpx.post(f"{service.url}/{kind}", json={kind: items}, headers=AUTH).raise_for_status()


def test_leads_that_just_became_hot_are_listed_and_open(service: RunningService) -> None:
    from playwright.sync_api import expect, sync_playwright

    now = datetime.now(UTC)
    long_ago = now - timedelta(days=200)
    _post(service, "leads", [
        {"lead_id": "hot-ready", "attributes": {"industry": "software"}},
        {"lead_id": "hot-back", "attributes": {"industry": "software"}, "created_at": _iso(long_ago)},
    ])  # fmt: skip
    _post(
        service,
        "events",
        [{"lead_id": "hot-back", "event_type": "web_visit", "occurred_at": _iso(long_ago)}],
    )
    for lead_id in ("hot-ready", "hot-back"):
        wait_until(lambda lead_id=lead_id: _score_of(service, lead_id) == 18, 60, "baseline")
    # Sales-ready (p = 0.82), then a quiet lead back in the market (tier B, p = 0.62).
    _post(service, "events", [{"lead_id": "hot-ready", "event_type": "demo_request",
                               "occurred_at": _iso(now)} for _ in range(3)])  # fmt: skip
    wait_until(lambda: _score_of(service, "hot-ready") == 82, 60, "hot-ready scored")
    back = [{"lead_id": "hot-back", "event_type": "demo_request", "occurred_at": _iso(now)}]
    _post(service, "events", back)
    wait_until(lambda: _score_of(service, "hot-back") == 38, 60, "hot-back warming")
    _post(service, "events", back)
    wait_until(lambda: _score_of(service, "hot-back") == 62, 60, "hot-back scored")
    hot = wait_until(
        lambda: len(httpx.get(f"{service.url}/alerts/hot", headers=AUTH).json()["leads"]) >= 3,
        30, "alerts stored",
    )  # fmt: skip
    assert hot
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            # An alert's link: the key in the fragment, the lead it is about.
            page.goto(f"{service.url}/sales#key={API_KEY}&lead=hot-ready")
            expect(page.locator("#lead-title")).to_contain_text("hot-ready")
            expect(page.locator("#score-value")).to_have_text("82")
            items = page.locator("#hot-list li")
            # Newest first: hot-back came back (and became sales-ready), then hot-ready.
            expect(items).to_have_count(3)
            expect(items.nth(0)).to_contain_text("hot-back")
            texts = [items.nth(i).inner_text() for i in range(3)]
            assert {t.split()[0] for t in texts} == {"hot-back", "hot-ready"}
            assert any("back in market" in t and "62 (B) from 38" in t for t in texts)
            assert "sales-ready" in texts[2] and "82 (A) from 18" in texts[2]
            items.filter(has_text="back in market").locator("a").click()
            expect(page.locator("#lead-title")).to_contain_text("hot-back")
            expect(page.locator("#score-value")).to_have_text("62")
        finally:
            browser.close()
