"""Driving Debian's chromium with Playwright against the service: pages, and what went
wrong in them. Playwright's own browsers are never installed (``playwright install``
downloads one); the browser tests skip without /usr/bin/chromium."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Browser, ConsoleMessage, Page

from kubesim.cluster import Cluster
from must_gather_api.auth.kubernetes import KubernetesAuthenticator
from must_gather_api.cli.demo import provision_service_account
from must_gather_api.executors.base import Job, Outcome, Output
from support.executors import FakeExecutor
from support.service import make_settings, served_app

CHROMIUM = Path(os.environ.get("MGA_CHROMIUM", "/usr/bin/chromium"))
# Where screenshots go: a temporary folder, or docs/images with MGA_SCREENSHOTS=docs/images.
SCREENSHOTS = os.environ.get("MGA_SCREENSHOTS", "")

# A custom-name may not hold "/", so no closing tags; the markup still would run if parsed.
HOSTILE = '"><img src=x onerror="window.pwned=2"><script>window.pwned=1'


MANY_LINES = 10_000


class HostileExecutor(FakeExecutor):
    """The fake executor, whose gatherings first print markup, as a hostile pod could;
    ``fake/many`` prints MANY_LINES lines as fast as it can, then completes."""

    async def run(self, job: Job, output: Output) -> Outcome:
        output.line(HOSTILE)
        if job.options.image_names[:1] != ("fake/many",):
            return await super().run(job, output)
        self.started.append(job.gathering_id)
        self.jobs[job.gathering_id] = job
        for number in range(1, MANY_LINES + 1):
            output.line(f"line {number} of {MANY_LINES}: " + "x" * 60)
            if number % 500 == 0:
                await asyncio.sleep(0)  # let the output be flushed and streamed meanwhile
        (job.work_dir / "version").write_text("fake/many\n1.0.0\n")
        return Outcome()


@dataclass
class Site:
    url: str
    executor: FakeExecutor


@dataclass
class Watched:
    """A page, and what went wrong in it: script errors and CSP violations."""

    page: Page
    problems: list[str] = field(default_factory=list)
    shots: Path = Path()

    async def shot(self, name: str) -> None:
        await self.page.screenshot(path=str(self.shots / f"{name}.png"))


async def open_page(
    browser: Browser,
    tmp_path: Path,
    *,
    headers: dict[str, str] | None = None,
    phone: bool = False,
    dark: bool = False,
) -> Watched:
    context = await browser.new_context(
        accept_downloads=True,
        viewport={"width": 390, "height": 844} if phone else {"width": 1200, "height": 820},
        extra_http_headers=headers or {},
        color_scheme="dark" if dark else "light",
    )
    page = await context.new_page()
    page.set_default_timeout(10_000)
    shots = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    watched = Watched(page=page, shots=shots)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and "Failed to load resource" not in message.text:
            watched.problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: watched.problems.append(f"{error}: {error.stack}"))
    return watched


ROOT = Path(__file__).resolve().parents[2]
# `make test` installs axe-core from npm here when npm is on the machine.
AXE = Path(os.environ.get("MGA_AXE", ROOT / ".venv/axe/node_modules/axe-core/axe.min.js"))


async def accessibility_problems(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now. The script is
    evaluated through the DevTools protocol, so the page's CSP stays as it is."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE.read_text())
    found = await page.evaluate(
        "axe.run(document).then(r => r.violations.map(v => "
        "({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))})))"
    )
    return [
        f"{v['id']} ({v['impact']}): {', '.join(v['nodes'][:3])}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


@asynccontextmanager
async def served_site(cluster: Cluster, tmp_path: Path) -> AsyncIterator[Site]:
    """The service on loopback: ``cluster`` reviews tokens (and lists Plans), the hostile
    fake executor gathers."""
    kubeconfig = provision_service_account(cluster, tmp_path)
    settings = make_settings(
        tmp_path, auth="kubernetes", use_kubeconfig="true", kubeconfig=str(kubeconfig)
    )
    authenticator = await KubernetesAuthenticator.create(settings)
    executor = HostileExecutor()
    async with served_app(settings, executor=executor, authenticator=authenticator) as url:
        yield Site(url=url, executor=executor)
