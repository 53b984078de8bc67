"""The operator's way through Prefect's UI, in a real browser: `hackefors serve`, the on-demand
deployment's form starts a certification, the paused run's Resume form refuses a blank answer and
takes the approval, and the run's final state names the certificate.

Playwright drives a Chromium that is already on the machine (Debian's `chromium`, or the binary in
HACKEFORS_CHROMIUM); it never downloads a browser. Without one the test is skipped, with the
reason; with HACKEFORS_REQUIRE_BROWSER=1 (CI) it fails instead. Each step leaves a screenshot in
the test's folder (`screenshots/`), the last one also when a step fails."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_prefect_server import call, wait_for
from tests.integration.test_schedules import hackefors_serve

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

NETWORK = "ostgota-small"  # examples/small.yaml, imported as of 2025-03-03 by hackefors_serve
AS_OF = "2025-03-03"
CERTIFICATE = "HKF-OSTGOTA-SMALL-2025-01"
APPROVER = "Karin Holm, certification manager"
# Sandboxed containers have no user namespaces; nothing may reach out to the internet.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STEP_MS = 60_000  # one click or page on a loaded 2-core machine
RUN_SECONDS = 420  # a certification run to its pause, or to its end


def chromium() -> str:
    """The Chromium to drive: HACKEFORS_CHROMIUM, else `chromium` (or `chromium-browser`) on the PATH."""
    wanted = os.environ.get("HACKEFORS_CHROMIUM")
    found = shutil.which(wanted) if wanted else shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    reason = (f"HACKEFORS_CHROMIUM={wanted} is not an executable" if wanted else "no Chromium: install "
              "Debian's `chromium` (`make test` does, as root) or set HACKEFORS_CHROMIUM")
    if os.environ.get("HACKEFORS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}; HACKEFORS_REQUIRE_BROWSER=1 requires the browser tests")
    pytest.skip(reason)


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    """A Playwright page in headless Chromium; its last screen is kept when the test fails."""
    executable = chromium()  # first: skip before a server is started for nothing
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(STEP_MS)
        try:
            yield page
        finally:
            (tmp_path / "screenshots").mkdir(exist_ok=True)
            with contextlib.suppress(Exception):  # a failing test's own error matters more
                page.screenshot(path=tmp_path / "screenshots" / "last.png", full_page=True)
            browser.close()


@pytest.fixture
def shot(page: Any, tmp_path: Path) -> Callable[[str], None]:
    """`shot("name")`: a numbered screenshot of the whole page under the test's `screenshots/`."""
    folder = tmp_path / "screenshots"
    folder.mkdir(exist_ok=True)
    taken: list[str] = []

    def take(name: str) -> None:
        taken.append(name)
        page.screenshot(path=folder / f"{len(taken):02d}-{name}.png", full_page=True)

    return take


def state_badge(page: Any) -> Any:
    """The run's state, the first badge on its page (under the run's name)."""
    return page.locator("[data-slot=badge]").first


def wait_for_state(page: Any, wanted: str, log: Path) -> None:
    """Wait until the run page shows `wanted`; the page follows the run by itself, and is reloaded
    now and then in case it stopped polling. Fails at once when the run failed instead."""
    from playwright.sync_api import expect

    deadline = time.monotonic() + RUN_SECONDS
    while True:
        try:
            expect(state_badge(page)).to_have_text(wanted, timeout=30_000)
            return
        except AssertionError:
            shown = state_badge(page).inner_text()
            assert shown not in ("Failed", "Crashed", "Cancelled"), \
                f"the run ended {shown}, not {wanted}:\n{log.read_text()[-3000:]}"
            if time.monotonic() > deadline:
                raise
            page.reload()


def test_an_operator_starts_a_certification_in_the_ui_and_approves_it_in_the_resume_form(
        page: Any, shot: Callable[[str], None], prefect_home: Path, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with hackefors_serve(prefect_home, tmp_path) as (client, _):
        on_demand = "/deployments/name/certify-network/on-demand"
        wait_for("the on-demand deployment to be served", lambda: call(client, "GET", on_demand).is_success)

        # The address `hackefors serve` prints; the server sends a new browser to the new UI (/v2).
        page.goto(str(client.base_url.join("/")))
        page.get_by_role("link", name="Deployments").click()
        page.get_by_role("link", name="on-demand").click()
        expect(page.get_by_role("button", name="Run", exact=True)).to_be_visible()
        shot("deployment")

        page.get_by_role("button", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Custom run").click()
        page.get_by_label("network").fill(NETWORK)
        page.get_by_role("tab", name="date", exact=True).click()  # as_of: a date instead of None
        page.get_by_role("button", name="Pick a date").click()
        page.get_by_label("Date (yyyy-MM-dd)").fill(AS_OF)
        page.keyboard.press("Escape")  # closes the calendar
        expect(page.get_by_role("button", name="March 3rd, 2025")).to_be_visible()
        shot("custom-run")
        page.get_by_role("button", name="Submit").click()

        page.get_by_role("link", name="View run").click()  # in the "scheduled to start now" toast
        page.wait_for_url(re.compile(r"/runs/flow-run/"))
        wait_for_state(page, "Paused", tmp_path / "serve.log")
        expect(page.get_by_text(f"certify-network-{NETWORK}", exact=True)).to_be_visible()
        shot("paused")

        # In the new UI the form is behind the run's ⋮ menu.
        page.get_by_role("button", name="Open menu").click()
        page.get_by_role("menuitem", name="Resume").click()
        form = page.get_by_role("dialog")
        expect(form).to_contain_text(
            "Sign-off: certification of Östgöta Småföretag Miljönätverk as of 2025-03-03")
        expect(form).to_contain_text("Would issue: a certificate valid 2025-03-03 to 2028-03-02")
        expect(form).to_contain_text("Member companies (3)")
        shot("resume-form")

        # Nothing chosen, then no name, then a name of spaces: each is refused and the run waits.
        form.get_by_role("button", name="Resume").click()
        expect(page.get_by_text("'decision' is a required property")).to_be_visible()
        form.get_by_role("button", name="Select Decision").click()
        page.get_by_role("option", name="approve").click()
        form.get_by_role("button", name="Resume").click()
        expect(page.get_by_text("'decided_by' is a required property")).to_be_visible()
        form.get_by_label("Decided By").fill("   ")
        form.get_by_role("button", name="Resume").click()
        expect(page.get_by_text("Validation failed for field 'decided_by'")).to_be_visible()
        shot("blank-name-refused")
        expect(form).to_be_visible()
        expect(state_badge(page)).to_have_text("Paused")

        form.get_by_label("Decided By").fill(APPROVER)
        form.get_by_label("Comment (Optional)").fill("binders seen; EXT-S2-F1 followed up at surveillance")
        shot("approval")
        form.get_by_role("button", name="Resume").click()
        expect(form).to_be_hidden()

        wait_for_state(page, "Completed", tmp_path / "serve.log")
        page.get_by_role("tab", name="Details").click()
        details = page.locator("dl", has=page.get_by_role("term").filter(has_text="State Message"))
        expect(details.get_by_role("definition")).to_contain_text(
            f"certified: {CERTIFICATE} issued, valid 2025-03-03 to 2028-03-02, approved by {APPROVER}; "
            "files: ")
        shot("certified")


HOSTILE_NAME = ("[Approve sign-off here](https://evil.example/approve) ![](https://evil.example/pixel.png) "
                "<img src=https://evil.example/i.png> <script>document.title='owned'</script>")


def test_a_hostile_name_in_the_certification_artifact_is_shown_as_text_and_reaches_nowhere(
        page: Any, shot: Callable[[str], None], prefect_home: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An employee's name written to attack the operator (a link to a fake approval, a remote image, a
    script) shows in the run's `certification-…` artifact as the literal text it is: no link, no
    image, no script, and the browser asks nothing of any host but Prefect's."""
    from datetime import date

    from prefect.settings import PREFECT_API_URL, temporary_settings

    from deployments.server import send_what_is_queued, start_server, stop
    from flows.certify_network import certify_network
    from tasks.inputs import SignOff
    from tests.conftest import build, example_data, save, use_store

    data = example_data("blocked")
    lby = next(c for c in data["companies"] if c["id"] == "LBY")  # short of training hours
    lby["employees"][0]["name"] = HOSTILE_NAME
    use_store(monkeypatch, tmp_path)
    save(build(data))
    server, api = start_server(prefect_home)
    try:
        with temporary_settings(updates={PREFECT_API_URL: api}):
            try:
                state = certify_network(network="hackefors-blocked", as_of=date(1999, 2, 15), report=False,
                                        sign_off=SignOff(decision="approve", decided_by="Test"),
                                        return_state=True)
            finally:
                # Prefect's log and event workers are process-wide and keep the API they started
                # with: stopped here, the next test's flows get workers of their own API.
                send_what_is_queued()
        assert state.is_failed()
        asked: list[str] = []

        def only_prefect(route: Any) -> None:
            asked.append(route.request.url)
            if route.request.url.startswith(api.removesuffix("/api")):
                route.continue_()
            else:
                route.abort()

        page.route("**/*", only_prefect)
        page.goto(f"{api.removesuffix('/api')}/artifacts/key/certification-hackefors-blocked")
        page.get_by_role("link", name=re.compile(r"^[0-9a-f]{8}$")).first.click()  # its newest version
        page.get_by_text("Unmet requirements").wait_for()
        page.get_by_text("[Approve sign-off here](https://evil.example/approve)").first.wait_for()
        shot("hostile-artifact")
        assert page.locator("a[href*='evil.example']").count() == 0
        assert page.locator("img[src*='evil.example']").count() == 0
        assert page.locator("script:has-text('owned')").count() == 0 and page.title() != "owned"
        assert [url for url in asked if "evil.example" in url] == []
    finally:
        stop(server)
