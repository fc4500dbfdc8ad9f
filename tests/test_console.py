"""The supervisor console (/console/) in a real browser: Debian's Chromium driven by Playwright
(no browser is ever downloaded), signed in on the demo county, checking what a person sees
against what the API answers for the same filter.

One browser and one demo county for the module (loading it costs seconds); each test opens
its own browser context (its own sessionStorage), in Chinese unless it says otherwise. Every
request the pages make is routed through a check: one to any host but the test server fails
the test. Screenshots of the main views go to CONSOLE_SCREENSHOTS when it is set."""

from __future__ import annotations

import asyncio
import io
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from openpyxl import load_workbook

from models.demo.county import DemoSummary, load_demo
from models.ops.policy import invalidate_policy_cache
from models.ops.work_calendar import invalidate_calendar_cache
from tests.conftest import GraphQLClient, truncate_all

CHROMIUM = "/usr/bin/chromium"
HAVE_BROWSER = Path(CHROMIUM).exists()
pytestmark = pytest.mark.skipif(
    not HAVE_BROWSER and os.environ.get("CI") != "true",
    reason="no Chromium at /usr/bin/chromium (Debian: apt-get install chromium)",
)
PASSWORD = "demo12345"
# The demo's demands were submitted from June to 20 November 2026 (models/demo_demands.py).
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}
SHOTS = Path(os.environ["CONSOLE_SCREENSHOTS"]) if os.environ.get("CONSOLE_SCREENSHOTS") else None
FIGURES = """submitted openNow overdueNow warningNow
  onTime { numerator denominator ratio } satisfaction { numerator denominator ratio }
  ratedShare { numerator denominator ratio } responseRate { numerator denominator ratio }
  closure { numerator denominator ratio } returnVisit { numerator denominator ratio }
  badRating { numerator denominator ratio } rectificationOnTime { numerator denominator ratio }"""
COUNTS = ["submitted", "openNow", "overdueNow", "warningNow"]
RATES = ["onTime", "satisfaction", "responseRate", "closure", "returnVisit", "badRating",
         "rectificationOnTime"]  # fmt: skip


@pytest.fixture(scope="module")
async def demo(_database: str) -> AsyncIterator[DemoSummary]:
    """The demo county, loaded once for the module's pages."""
    await truncate_all()
    invalidate_calendar_cache()
    invalidate_policy_cache()
    yield await load_demo()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    assert HAVE_BROWSER, "CI installs Chromium (.ci/run): the console is tested in a browser"
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        await launched.close()


@pytest.fixture
async def api(demo: DemoSummary, server_url: str) -> AsyncIterator[GraphQLClient]:
    """The API as the supervisor, to compare the page with."""
    async with httpx.AsyncClient(base_url=server_url, timeout=30) as http:
        client = GraphQLClient(http)
        await client.login("supervisor", PASSWORD)
        yield client


class Console:
    """A browser context on the console: every request checked, console errors kept."""

    def __init__(self, browser: Any, server_url: str) -> None:
        self.browser, self.base = browser, server_url
        self.elsewhere: list[str] = []
        self.errors: list[str] = []

    async def open(self, locale: str = "zh-CN", query: dict[str, str] | None = None) -> Any:
        self.context = await self.browser.new_context(
            locale=locale, viewport={"width": 1366, "height": 768}, accept_downloads=True
        )
        origin = urlsplit(self.base).netloc

        async def only_this_server(route: Any) -> None:
            if urlsplit(route.request.url).netloc != origin:
                self.elsewhere.append(route.request.url)
                await route.abort()
            else:
                await route.continue_()

        await self.context.route("**/*", only_this_server)
        self.page = await self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        await self.page.goto(f"{self.base}/console/" + ("?" + _query(query) if query else ""))
        return self.page

    async def sign_in(self, username: str) -> None:
        await self.page.fill("input[name=username]", username)
        await self.page.fill("input[name=password]", PASSWORD)
        await self.page.click("button[type=submit]")

    async def ready(self) -> None:
        await self.page.wait_for_selector("#app[data-state=ready]", timeout=30_000)

    async def close(self) -> None:
        await self.context.close()
        assert self.elsewhere == [], self.elsewhere  # nothing from another host
        assert self.errors == [], self.errors  # nothing failed, no policy violation

    async def shot(self, name: str) -> None:
        if SHOTS:
            SHOTS.mkdir(parents=True, exist_ok=True)
            await self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _query(params: dict[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in params.items())


@pytest.fixture
async def console(browser: Any, server_url: str, demo: DemoSummary) -> AsyncIterator[Console]:
    opened = Console(browser, server_url)
    yield opened
    await opened.close()


def _percent(rate: dict) -> str:
    return "—" if rate["ratio"] is None else f"{rate['ratio'] * 100:.1f}%"


async def _stats(api: GraphQLClient, state: dict[str, str]) -> dict:
    data = await api(
        f"query($f: StatsFilter!) {{ demandStats(filter: $f) {{ {FIGURES} }} }}", {"f": state}
    )
    return data["demandStats"]


async def _figures_on_page(page: Any) -> dict[str, tuple[str, str]]:
    """Each headline figure as shown: (value, hover text)."""
    return {
        key: (
            await page.inner_text(f"[data-figure={key}] .value"),
            await page.get_attribute(f"[data-figure={key}]", "title"),
        )
        for key in COUNTS + RATES
    }


def _url_state(page: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


async def _assert_figures_match(page: Any, api: GraphQLClient) -> dict:
    state = _url_state(page)
    stats = await _stats(api, {k: state[k] for k in ("from", "to", "departmentId") if k in state})
    shown = await _figures_on_page(page)
    for key in COUNTS:
        assert shown[key][0] == str(stats[key]), key
    for key in RATES:
        rate = stats[key]
        assert shown[key] == (_percent(rate), f"{rate['numerator']} ÷ {rate['denominator']}"), key
    return stats


async def _assert_unvisited_match(page: Any, api: GraphQLClient) -> None:
    """包联 coverage: each leader's enterprises not visited this quarter, as visitCoverage
    answers for the supervisor's region and the filter's last day; a click on a leader's row
    shows them."""
    me = await api("{ me { grants { role region { id } } } }")
    region = next(g["region"]["id"] for g in me["me"]["grants"] if g["role"] == "SUPERVISOR")
    cov = await api(
        """query($r: ID!, $on: Date) { visitCoverage(regionId: $r, period: QUARTER, on: $on) {
             byLeader { leader { id } unvisited { id name } } } }""",
        {"r": region, "on": _url_state(page)["to"]},
    )
    answered = {
        r["leader"]["id"]: [e["name"] for e in r["unvisited"]]
        for r in cov["visitCoverage"]["byLeader"]
    }
    behind = [leader for leader, names in answered.items() if names]
    assert behind, "the demo county has leaders with enterprises still to visit this quarter"
    shown = await page.locator(".coverage tr.unvisited").evaluate_all(
        "rows => rows.map(r => [r.dataset.leader, [...r.querySelectorAll('li')].map(li => li.textContent)])"
    )
    assert dict(shown) == {leader: answered[leader] for leader in behind}
    row = page.locator(f".coverage tr.clickable[data-leader='{behind[0]}']")
    listed = page.locator(f".coverage tr.unvisited[data-leader='{behind[0]}']")
    assert not await listed.is_visible()
    await row.click()
    assert await listed.locator("li").all_inner_texts() == answered[behind[0]]
    assert await row.locator("button").get_attribute("aria-expanded") == "true"
    await page.emulate_media(media="print")  # on paper, every leader's list
    assert all([await r.is_visible() for r in await page.locator("tr.unvisited").all()])
    await page.emulate_media(media="screen")


async def test_the_figures_are_demand_stats_and_follow_the_period(console: Console, api):
    page = await console.open(query=NOVEMBER)
    assert await page.inner_text("h1") == "营商环境驾驶舱"  # Chinese by default
    await console.sign_in("supervisor")
    await console.ready()
    november = await _assert_figures_match(page, api)
    assert november["submitted"] > 0
    trend = await page.get_attribute(".trend .chart", "data-points")
    await console.shot("dashboard")
    await _assert_unvisited_match(page, api)

    # Another period: the figures and the chart follow, and the URL keeps it.
    await page.fill("input[name=from]", "2026-06-01")
    await page.dispatch_event("input[name=from]", "change")
    await console.ready()
    assert _url_state(page)["from"] == "2026-06-01"
    longer = await _assert_figures_match(page, api)
    assert longer["submitted"] > november["submitted"]
    assert await page.get_attribute(".trend .chart", "data-points") != trend

    # The link shows the same to whoever opens it (here: after a reload, still signed in).
    await page.reload()
    await console.ready()
    assert await page.input_value("input[name=from]") == "2026-06-01"
    await _assert_figures_match(page, api)

    # A period the API refuses: its reason, in Chinese, and the way back.
    backwards = {"from": "2026-11-30", "to": "2026-11-01"}
    refused = await api.post(
        "query($f: StatsFilter!) { demandStats(filter: $f) { submitted } }", {"f": backwards}
    )
    reason = refused.json()["errors"][0]["message"]
    await page.goto(f"{console.base}/console/?{_query(backwards)}")
    await page.wait_for_selector("#app[data-state=error]")
    assert reason in await page.inner_text("[role=alert]")
    await page.click("button[name=reset]")
    await console.ready()


async def test_a_department_filters_the_list_and_a_demand_shows_its_timeline(
    console: Console, api
):
    page = await console.open(query={"from": "2026-06-01", "to": "2026-11-30"})
    await console.sign_in("supervisor")
    await console.ready()
    overdue = page.locator("table.demands tbody tr.overdue")
    everyone = await overdue.count()
    assert everyone > 0

    # The towns' ranking, as regionRanking answers it, best first.
    await page.click(".ranking button[name=towns]")
    await console.ready()
    towns = await api(
        "query($f: StatsFilter!) { regionRanking(filter: $f) { name } }",
        {"f": {"from": "2026-06-01", "to": "2026-11-30"}},
    )
    rows = page.locator("table[data-ranking=towns] tbody tr th")
    assert await rows.all_inner_texts() == [g["name"] for g in towns["regionRanking"]]
    await page.click(".ranking button[name=departments]")
    await console.ready()

    # Clicking a department (the ranking's first row) filters every view by it.
    first = page.locator("table[data-ranking=departments] tbody tr").first
    department_id = await first.get_attribute("data-id")
    await first.click()
    await console.ready()
    assert _url_state(page)["departmentId"] == department_id
    await _assert_figures_match(page, api)
    listed = await api(
        """query($f: DemandFilter!) { demands(filter: $f, first: 50) { totalCount
             edges { node { id } } } }""",
        {"f": {"overdue": True, "departmentId": department_id,
               "submittedFrom": "2026-06-01", "submittedTo": "2026-11-30"}},
    )  # fmt: skip
    shown = await page.locator("table.demands tbody tr.overdue").evaluate_all(
        "rows => rows.map(r => r.dataset.id)"
    )
    assert sorted(shown) == sorted(e["node"]["id"] for e in listed["demands"]["edges"])
    assert 0 < len(shown) < everyone

    # The worst first; a click opens its timeline with every event.
    row = page.locator("table.demands tbody tr").first
    number = await row.locator(".number").inner_text()
    await row.click()
    await page.wait_for_selector("aside.demand ol.timeline li")
    assert number in await page.inner_text("aside.demand h2")
    demand_id = await row.get_attribute("data-id")
    data = await api(
        "query($id: ID!) { demand(id: $id) { timeline { id action actorName } } }",
        {"id": demand_id},
    )
    events = data["demand"]["timeline"]
    items = page.locator("aside.demand ol.timeline li")
    assert await items.evaluate_all("li => li.map(e => e.dataset.id)") == [e["id"] for e in events]
    assert "提交" in await items.first.inner_text()  # SUBMIT, in Chinese
    for i, event in enumerate(events):
        text = await items.nth(i).inner_text()
        assert (event["actorName"] or "系统") in text
        if i:
            assert "个工作日" in text  # the working days the step took
    assert _url_state(page)["demand"] == demand_id
    await console.shot("timeline")


async def test_a_work_order_number_told_on_the_phone_opens_its_demand(console: Console, api):
    """A number typed as heard (lower case, a space) finds the demand whatever the filter on
    screen, here a closed one that no list on the page shows; an unknown one is said so."""
    closed = await api(
        """query($f: DemandFilter!) { demands(filter: $f, first: 1) {
             edges { node { id number } } } }""",
        {"f": {"states": ["CLOSED"]}},
    )
    demand = closed["demands"]["edges"][0]["node"]
    page = await console.open(query=NOVEMBER)
    await console.sign_in("supervisor")
    await console.ready()
    assert await page.locator(f"table.demands tr[data-id='{demand['id']}']").count() == 0
    heard = f"{demand['number'][:2].lower()} {demand['number'][2:]}"
    await page.fill("form.find input[name=number]", heard)
    await page.click("form.find button[type=submit]")
    await page.wait_for_selector("aside.demand ol.timeline li")
    assert demand["number"] in await page.inner_text("aside.demand h2")
    assert _url_state(page)["demand"] == demand["id"]
    await page.click("aside.demand button[name=close]")

    await page.fill("form.find input[name=number]", "QH2099010100001")
    await page.click("form.find button[type=submit]")
    await page.wait_for_selector("form.find [role=status] >> text=未找到工单号 QH2099010100001")
    assert await page.locator("aside.demand").count() == 0


async def test_an_export_downloads_the_filters_rows(console: Console, api):
    page = await console.open(query=NOVEMBER)
    await console.sign_in("supervisor")
    await console.ready()
    stats = await _stats(api, NOVEMBER)
    async with page.expect_download() as info:
        await page.click("[data-export=demands]")
    download = await info.value
    path = await download.path()
    assert download.suggested_filename.endswith(".xlsx")
    content = await asyncio.to_thread(Path(path).read_bytes)  # a name with no extension
    sheet = load_workbook(io.BytesIO(content), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) - 1 == stats["submitted"]  # a header row, then the period's demands


async def test_signing_out_ends_the_session_on_the_server(console: Console, server_url: str):
    page = await console.open()
    await console.sign_in("dispatcher")
    await console.ready()
    stored = await page.evaluate("sessionStorage.getItem('enterprise-desk.console.session')")
    assert stored and await page.evaluate("localStorage.length") == 0  # never in localStorage
    token = json.loads(stored)["accessToken"]
    async with httpx.AsyncClient(base_url=server_url) as http:
        me = await http.post("/graphql", json={"query": "{ me { username } }"},
                             headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert me.json()["data"]["me"]["username"] == "dispatcher"
        await page.click("button[name=sign-out]")
        await page.wait_for_selector("form.sign-in")
        assert await page.evaluate("sessionStorage.length") == 0
        after = await http.post("/graphql", json={"query": "{ me { username } }"},
                                headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert after.json()["data"]["me"] is None  # the token no longer works


async def test_a_handler_is_turned_away_with_the_reason_in_english(console: Console):
    page = await console.open(locale="en-US")
    assert await page.inner_text("h1") == "Business environment console"
    await console.sign_in("handler")
    notice = page.locator(".turned-away")
    await notice.wait_for()
    text = await notice.inner_text()
    assert "supervisors, dispatchers" in text and "handler" in text
    assert await page.locator(".figures").count() == 0
    await page.click(".turned-away button[name=language]")  # the switch: Chinese
    await page.wait_for_selector(".turned-away >> text=驾驶舱只供督查")
    assert "经办人" in await notice.inner_text()


async def test_an_administrator_sees_the_calendar_and_adds_a_local_day(console: Console, api):
    """The county's administrator (the demo has no system administrator): the national
    arrangement read-only, 2027 marked unconfirmed, and a day of the county's own added."""
    page = await console.open(query={"view": "calendar", "year": "2027"})
    await console.sign_in("admin")
    await console.ready()
    county = (await api("{ me { grants { region { id } } } }"))["me"]["grants"][0]["region"]["id"]
    query = """query($y: Int!, $r: ID) { workingCalendar(year: $y, regionId: $r) {
                 confirmed days { date isWorkday name source } } }"""
    cal = (await api(query, {"y": 2027, "r": county}))["workingCalendar"]
    assert cal["confirmed"] is False
    assert await page.get_attribute(".calendar [data-confirmed]", "data-confirmed") == "false"
    assert "未确认" in await page.inner_text(".calendar .unconfirmed")
    holidays = page.locator("table[data-workday=false] tbody input[name=date]")
    shown = await holidays.evaluate_all("inputs => inputs.map(i => i.value)")
    assert shown == [d["date"] for d in cal["days"] if not d["isWorkday"]]

    await page.fill("input[name=region-date]", "2027-03-15")
    await page.fill("input[name=region-name]", "县庆")
    await page.click("button[name=add-region-day]")
    await page.wait_for_selector(".region-days li >> text=县庆")
    await console.ready()
    cal = (await api(query, {"y": 2027, "r": county}))["workingCalendar"]
    assert {"date": "2027-03-15", "isWorkday": False, "name": "县庆", "source": "REGION"} in cal[
        "days"
    ]
    await console.shot("calendar")
