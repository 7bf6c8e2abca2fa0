"""The web page at /ui/ in a real headless chromium: sign in, start, follow, browse,
download, cancel and delete; refused tokens and hostile strings."""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path
from typing import Literal

import httpx2
import pytest
from playwright.async_api import Browser, Dialog, Page, expect

from kubesim.auth import ADMIN_TOKEN, USER_TOKEN
from kubesim.pytest_plugin import ClusterFactory
from support.browser import (
    AXE,
    CHROMIUM,
    HOSTILE,
    MANY_LINES,
    Site,
    accessibility_problems,
    open_page,
    served_site,
)
from support.proxy import prefix_proxy

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.timeout(60),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)",
    ),
]


async def sign_in(page: Page, url: str, token: str) -> None:
    await page.goto(f"{url}/ui/")
    await page.get_by_label("Bearer token").fill(token)
    await page.get_by_role("button", name="Sign in").click()


async def wait_status(page: Page, text: str) -> None:
    await expect(page.locator(".g-status")).to_have_text(text, timeout=15_000)


async def test_admin_starts_follows_browses_and_downloads(
    site: Site, browser: Browser, tmp_path: Path
) -> None:
    watched = await open_page(browser, tmp_path)
    page = watched.page
    await sign_in(page, site.url, ADMIN_TOKEN)
    await expect(page.get_by_role("heading", name="Gatherings")).to_be_visible()
    assert await page.evaluate("sessionStorage.length") == 1
    assert await page.context.cookies() == []

    # The API's message for a bad field appears beside the field, and nothing starts.
    await page.get_by_role("link", name="New gathering").first.click()
    await page.get_by_label("Custom name").fill(HOSTILE)
    await page.get_by_label("Image", exact=True).fill("fake/ok")
    await page.get_by_label("Timeout").fill("banana")
    await page.get_by_role("button", name="Start gathering").click()
    error = page.locator("#p-timeout-error")
    await expect(error).to_contain_text("timeout")
    await expect(page.get_by_label("Timeout")).to_have_attribute("aria-invalid", "true")
    await watched.shot("new-gathering")
    assert site.executor.started == []

    await page.get_by_label("Timeout").fill("5m")
    await page.get_by_role("button", name="Start gathering").click()
    await expect(page).to_have_url(re.compile(r"#/g/1$"))
    await wait_status(page, "completed")
    await expect(page.locator(".g-output")).to_contain_text("[fake] done")
    await expect(page.locator(".g-follow")).to_have_text("(complete)")
    # Attacker-controlled names render as text: no element made, no script run.
    await expect(page.locator(".g-name")).to_have_text(HOSTILE)
    await expect(page.locator(".g-output")).to_contain_text(f"{HOSTILE}\n[fake] gathering")
    assert await page.evaluate("window.pwned") is None
    assert await page.locator("main img").count() == 0
    assert site.executor.started == [1]

    # The download is the archive the API describes.
    sha256 = await page.locator("[data-sha256]").text_content()
    async with page.expect_download() as waiting:
        await page.get_by_role("button", name="Download archive").click()
    download = await waiting.value
    saved = await download.path()
    assert hashlib.sha256(Path(saved).read_bytes()).hexdigest() == sha256
    async with httpx2.AsyncClient(base_url=site.url) as client:
        body = (
            await client.get("/must-gather/1", headers={"authorization": f"Bearer {ADMIN_TOKEN}"})
        ).json()
    assert body["archive-sha256"] == sha256
    assert download.suggested_filename == body["archive-name"]
    await watched.shot("gathering")

    # Browse the archive and read one file in the page.
    await page.get_by_role("link", name="Browse files").click()
    version = page.get_by_role("link", name=re.compile(r"version$"))
    await version.click()
    await expect(page.locator(".f-content")).to_contain_text("fake/ok")
    await expect(page.locator(".f-path")).to_have_text(re.compile(r"version$"))
    await watched.shot("files")

    await page.get_by_role("link", name="Gatherings").first.click()
    rows = page.locator("#rows tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first.locator(".name")).to_have_text(HOSTILE)
    await expect(rows.first.locator(".badge")).to_have_text("completed")
    await watched.shot("gatherings")
    assert watched.problems == []


async def test_cancel_and_delete_and_the_list_updates_itself(
    site: Site, browser: Browser, tmp_path: Path
) -> None:
    watched = await open_page(browser, tmp_path)
    page = watched.page
    await sign_in(page, site.url, ADMIN_TOKEN)
    await expect(page.locator("#empty")).to_be_visible()
    # Started elsewhere (a script, the CLI): the open list shows it without a reload.
    async with httpx2.AsyncClient(base_url=site.url) as client:
        created = await client.post(
            "/must-gather",
            json={"image": "fake/block", "custom-name": "slow"},
            headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
        )
    assert created.status_code == 201
    row = page.locator("#rows tr")
    await expect(row).to_have_count(1)
    await expect(row.locator(".badge")).to_have_text(re.compile("new|in progress"))

    await row.get_by_role("link", name="1").click()
    await wait_status(page, "in progress")
    await page.get_by_role("button", name="Cancel").click()
    await wait_status(page, "error")
    await expect(page.locator(".g-facts")).to_contain_text("cancelled")
    assert site.executor.cancelled == [1]

    dialogs: list[str] = []

    async def accept(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.accept()

    page.on("dialog", accept)
    await page.get_by_role("button", name="Delete").click()
    await expect(page.get_by_role("heading", name="Gatherings")).to_be_visible()
    await expect(page.locator("#alert")).to_contain_text("deleted")
    await expect(page.locator("#empty")).to_be_visible()
    assert dialogs == ["Delete gathering 1 and its archive?"]
    assert watched.problems == []


async def test_refused_tokens_are_explained(site: Site, browser: Browser, tmp_path: Path) -> None:
    watched = await open_page(browser, tmp_path)
    page = watched.page
    await sign_in(page, site.url, "not-a-token")
    await expect(page.locator("#alert")).to_contain_text("(401)")
    await expect(page.get_by_label("Bearer token")).to_be_visible()
    assert await page.evaluate("sessionStorage.length") == 0
    await watched.shot("sign-in-refused")

    await page.get_by_label("Bearer token").fill(USER_TOKEN)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#alert")).to_contain_text("Not allowed (403)")
    assert site.executor.started == []
    assert watched.problems == []


async def test_behind_a_proxy_under_a_prefix_the_forwarded_token_signs_in(
    site: Site, browser: Browser, tmp_path: Path
) -> None:
    """An oauth-proxy passes the user's token in X-Forwarded-Access-Token, the console's
    proxy serves under a path prefix: no sign-in form, and every call goes through it."""
    prefix = "/api/proxy/plugin/forklift-console-plugin/must-gather-api/"
    watched = await open_page(browser, tmp_path)
    page = watched.page
    async with prefix_proxy(site.url, prefix=prefix, token=ADMIN_TOKEN) as proxied:
        await page.goto(f"{proxied}ui")
        await expect(page.get_by_role("heading", name="Gatherings")).to_be_visible()
        await expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
        assert await page.evaluate("sessionStorage.length") == 0
        await page.get_by_role("link", name="New gathering").first.click()
        await page.get_by_label("Image", exact=True).fill("fake/ok")
        await page.get_by_role("button", name="Start gathering").click()
        await wait_status(page, "completed")
        await expect(page.locator(".g-output")).to_contain_text("[fake] done")
        await expect(page.locator(".g-follow")).to_have_text("(complete)")
        assert page.url.startswith(f"{proxied}ui/#/g/1")
        await page.get_by_role("link", name="Gatherings").first.click()
        # Keyboard: each view moves focus to its heading; Tab goes on in the page, focus shows.
        await expect(page.get_by_role("heading", name="Gatherings")).to_be_focused()
        await page.keyboard.press("Tab")
        focused = page.locator(":focus")
        await expect(focused).to_have_id("f-status")
        assert await focused.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"
        await page.keyboard.press("Shift+Tab")
        await expect(focused).to_have_text("New gathering")
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", name="New gathering")).to_be_focused()
    assert watched.problems == []


async def test_a_targeted_gathering_with_ten_thousand_lines_on_a_phone(
    site: Site, browser: Browser, tmp_path: Path
) -> None:
    """The output keeps up with 10,000 lines; the page fits a phone's width, in dark mode."""
    watched = await open_page(browser, tmp_path, phone=True, dark=True)
    page = watched.page
    await sign_in(page, site.url, ADMIN_TOKEN)
    await page.get_by_role("link", name="New gathering").first.click()
    await page.get_by_label("Custom name").fill("plan:prod-cold-migration")
    await page.get_by_label("Image", exact=True).fill("fake/many")
    await page.get_by_label("Command").fill("PLAN=prod-cold-migration /usr/bin/targeted")
    await page.get_by_role("button", name="Start gathering").click()
    last = f"line {MANY_LINES} of {MANY_LINES}: "
    started = time.monotonic()
    await expect(page.locator(".g-output")).to_contain_text(last, timeout=20_000)
    await wait_status(page, "completed")
    elapsed = time.monotonic() - started
    text = await page.locator(".g-output").text_content() or ""
    assert text.count("\nline ") == MANY_LINES
    assert elapsed < 15, f"{MANY_LINES} lines took {elapsed:.1f} s to show"
    job = site.executor.jobs[1]
    assert job.options.command is not None
    assert str(job.options.command) == "PLAN=prod-cold-migration /usr/bin/targeted"
    await page.get_by_role("link", name="Gatherings").first.click()
    await expect(page.locator("#rows tr")).to_have_count(1)
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await watched.shot("gatherings-phone-dark")
    assert watched.problems == []


@pytest.mark.skipif(
    not AXE.exists(), reason=f"needs axe-core at {AXE} (make test installs it with npm)"
)
async def test_every_view_passes_axe_in_light_and_dark(
    site: Site, browser: Browser, tmp_path: Path
) -> None:
    watched = await open_page(browser, tmp_path)
    page = watched.page
    await page.goto(f"{site.url}/ui/")
    await expect(page.get_by_label("Bearer token")).to_be_visible()
    seen = {"sign-in": await accessibility_problems(page)}
    await sign_in(page, site.url, ADMIN_TOKEN)
    await page.get_by_role("link", name="New gathering").first.click()
    await page.get_by_label("Image", exact=True).fill("fake/ok")
    await page.get_by_label("Timeout").fill("soon")
    await page.get_by_role("button", name="Start gathering").click()
    await expect(page.locator("#p-timeout-error")).to_be_visible()
    seen["new, with a field error"] = await accessibility_problems(page)
    await page.get_by_label("Timeout").fill("")
    await page.get_by_role("button", name="Start gathering").click()
    await wait_status(page, "completed")
    await expect(page.locator(".g-findings-section")).to_be_visible()
    schemes: tuple[Literal["light", "dark"], ...] = ("light", "dark")
    for scheme in schemes:
        await page.emulate_media(color_scheme=scheme)
        seen[f"gathering, {scheme}"] = await accessibility_problems(page)
    await page.emulate_media(color_scheme="light")
    await page.get_by_role("link", name="Browse files").click()
    await page.get_by_role("link", name=re.compile(r"version$")).click()
    await expect(page.locator(".f-content")).to_contain_text("fake/ok")
    seen["files"] = await accessibility_problems(page)
    await page.get_by_role("link", name="Gatherings").first.click()
    await expect(page.locator("#rows tr")).to_have_count(1)
    for scheme in schemes:
        await page.emulate_media(color_scheme=scheme)
        seen[f"gatherings, {scheme}"] = await accessibility_problems(page)
    assert seen == {view: [] for view in seen}
    assert watched.problems == []


async def test_a_forklift_plan_or_vm_is_picked_from_the_clusters_plans(
    kubesim_factory: ClusterFactory, browser: Browser, tmp_path: Path
) -> None:
    """The picker lists the Plans the caller's token may list, and writes the command."""
    cluster = await kubesim_factory(openshift=True)
    async with served_site(cluster, tmp_path) as site:
        watched = await open_page(browser, tmp_path)
        page = watched.page
        await sign_in(page, site.url, ADMIN_TOKEN)
        await page.get_by_role("link", name="New gathering").first.click()
        plans = page.get_by_label("Forklift plan")
        await expect(plans.locator("option")).to_have_count(4)  # (none) and three Plans
        await plans.select_option(label="openshift-mtv/prod-cold-migration")
        command = page.get_by_label("Command")
        await expect(command).to_have_value(
            "NS=openshift-mtv PLAN=prod-cold-migration /usr/bin/targeted"
        )
        await expect(page.get_by_label("Custom name")).to_have_value("plan:prod-cold-migration")
        await page.get_by_label("Only this VM").select_option(label="web-01")
        await expect(command).to_have_value("NS=openshift-mtv VM=web-01 /usr/bin/targeted")
        await page.get_by_label("Image", exact=True).fill("fake/ok")
        await page.get_by_role("button", name="Start gathering").click()
        await wait_status(page, "completed")
        job = site.executor.jobs[1]
        assert str(job.options.command) == "NS=openshift-mtv VM=web-01 /usr/bin/targeted"
        assert job.options.custom_name == "vm:web-01"
        assert watched.problems == []


async def test_without_forklift_the_picker_says_so(
    kubesim_factory: ClusterFactory, browser: Browser, tmp_path: Path
) -> None:
    cluster = await kubesim_factory(openshift=False)
    async with served_site(cluster, tmp_path) as site:
        watched = await open_page(browser, tmp_path)
        page = watched.page
        await sign_in(page, site.url, ADMIN_TOKEN)
        await page.get_by_role("link", name="New gathering").first.click()
        await expect(page.get_by_text("this cluster serves no Forklift Plans")).to_be_visible()
        await expect(page.get_by_label("Forklift plan")).to_be_disabled()
        assert watched.problems == []
