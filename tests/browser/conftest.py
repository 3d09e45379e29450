"""The console in a real browser: Debian's Chromium driven by Playwright, signing in at a
local OpenID Connect provider (oidc-provider-mock), against the service run for real.

Once per pytest worker (the suite runs under xdist): a provider on a free port, a SQLite
database built by Alembic, `cme serve` in a subprocess configured for that provider,
officers registered with `cme officers add` and cases opened by a real reconciliation of a
health board's extract against an authority's education records, both sent through the
API. Every test opens its own browser context, so no test sees another's session.

Without Chromium or the provider the tests skip, saying how to install them; with
CME_TEST_REQUIRE_BROWSER=1 (CI) they fail instead.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import httpx
import pytest
from sqlalchemy.engine import make_url

from cli.client import Service
from services.settings import get_settings
from tests.browser.seed import (
    LA,
    LHB,
    OFFICERS,
    Officer,
    add_officer,
    cases_by_role,
    review_case,
    seed,
)
from tests.cli import cme, register
from tests.conftest import POSTGRES_URL, free_port
from tests.conftest import _admin_connection as admin_connection

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize

CHROMIUM = Path(os.environ.get("CME_TEST_CHROMIUM", "/usr/bin/chromium"))
REQUIRE_BROWSER = os.environ.get("CME_TEST_REQUIRE_BROWSER") == "1"
INSTALL_HINT = (
    "install Debian's Chromium (`apt-get install -y chromium`, giving /usr/bin/chromium) "
    "and the dev extras (`pip install -e '.[dev]'`); CME_TEST_CHROMIUM names another binary"
)

# The screenshots the README shows: one size, so they do not change with the machine.
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

CLIENT_SECRET = "browser-test-secret"  # the provider accepts any secret for any client id


def unavailable(reason: str) -> NoReturn:
    """Skip, naming how to install what is missing, or fail where the browser is required."""
    if REQUIRE_BROWSER:
        pytest.fail(f"the browser tests are required (CME_TEST_REQUIRE_BROWSER=1): {reason}")
    pytest.skip(f"{reason}: {INSTALL_HINT}")


@dataclass(frozen=True)
class Console:
    """The running service, the provider it trusts and what was seeded into it."""

    base_url: str
    issuer: str
    database_url: str
    client_id: str
    client_key: Path
    officers: dict[str, Officer]
    # A role in the tests (e2e, conflict, ...) → the case id reconciliation opened for it.
    cases: dict[str, str]
    reconciliation_id: str

    def api(self) -> Service:
        """The authority's API client (with sensitive clearance), as a case system uses it."""
        return Service(base_url=self.base_url, client_id=self.client_id, key_file=self.client_key)


# Module-scoped, not session-scoped: Playwright's sync API keeps an asyncio event loop
# running in the main thread while it is started, and any later test in the same worker
# that calls asyncio.run() would then fail. Ending it with the module ends that loop.
@pytest.fixture(scope="session")
def browser_installed() -> None:
    """Playwright and Chromium are there (checked before any server is started for them)."""
    if importlib.util.find_spec("playwright") is None:
        unavailable("Playwright is not installed")
    if not CHROMIUM.exists():
        unavailable(f"no Chromium at {CHROMIUM}")


@pytest.fixture(scope="module")
def browser(browser_installed: None) -> Iterator[Browser]:
    from playwright.sync_api import Error, sync_playwright

    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True
            )
        except Error as error:
            unavailable(f"Chromium at {CHROMIUM} does not start: {error.message}")
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A local OpenID Connect provider; its authorize page signs in as whatever `sub` is
    typed. Returns its issuer URL (discovery under /.well-known/openid-configuration).

    In a process of its own, as an identity provider is: it also keeps the provider's own
    deprecation warnings (from authlib) out of this suite, where warnings are errors."""
    if importlib.util.find_spec("oidc_provider_mock") is None:
        unavailable("oidc-provider-mock is not installed")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("provider") / "provider.log"
    # The console's authorization request carries a nonce (SPEC): the provider insists.
    command = [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--require-nonce", "true"]
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603  (our own command, our own arguments)
            command, stdout=output, stderr=subprocess.STDOUT
        )
    with stopped_at_the_end(process):
        wait_until_answers(process, f"{issuer}/.well-known/openid-configuration", log)
        yield issuer


@contextlib.contextmanager
def stopped_at_the_end(process: subprocess.Popen[bytes]) -> Iterator[None]:
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_answers(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Until `url` answers 200; fail showing the process's log if it exits or never does."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"{process.args!r} exited ({process.returncode}):\n{log.read_text('utf-8')}"
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer within 60 s:\n{log.read_text('utf-8')}")


@contextlib.contextmanager
def operator_environment(database_url: str, base_url: str) -> Iterator[None]:
    """The `cme` command pointed at the browser tests' database, for the time of a block."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CME_DATABASE_URL", database_url)
        patch.setenv("CME_PUBLIC_BASE_URL", base_url)
        get_settings.cache_clear()
        try:
            yield
        finally:
            get_settings.cache_clear()


def _start_service(
    *, work: Path, database_url: str, base_url: str, issuer: str
) -> subprocess.Popen[bytes]:
    """`cme serve` in its own process, configured only by the environment, as deployed."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.upper().startswith("CME_") or name.upper().startswith("CME_TEST_")
    }
    environment.update(
        CME_DATABASE_URL=database_url,
        CME_PUBLIC_BASE_URL=base_url,
        CME_DEV_KEY_DIR=str(work / "dev-keys"),
        CME_OIDC_ISSUER=issuer,
        CME_OIDC_CLIENT_ID="cme-console",
        CME_OIDC_CLIENT_SECRET=CLIENT_SECRET,
        # Reconciliations and the audit chain at once, so tests read them straight away.
        CME_WORKER_POLL_SECONDS="0.2",
        CME_AUDIT_CHAIN="commit",
        CME_RATE_LIMIT_PER_MINUTE="0",
    )
    cme_command = Path(sys.executable).with_name("cme")
    port = base_url.rsplit(":", 1)[1]
    with (work / "serve.log").open("wb") as log:
        return subprocess.Popen(  # noqa: S603  (our own command, our own arguments)
            [str(cme_command), "serve", "--port", port],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=work,
        )


@contextlib.contextmanager
def running_console(work: Path, database_url: str, issuer: str) -> Iterator[Console]:
    """The service on `database_url` (empty), migrated, with officers and cases, serving."""
    base_url = f"http://127.0.0.1:{free_port()}"
    with operator_environment(database_url, base_url):
        migrated = cme("db", "upgrade")
        assert migrated.exit_code == 0, migrated.output
        board = register(work, org=LHB, scopes=["submissions:write"], name="board")
        authority = register(
            work,
            org=LA,
            scopes=["education:write", "cme:read", "cme:write", "cme:sensitive"],
            name="authority",
        )
        for officer in OFFICERS.values():
            add_officer(officer)
    process = _start_service(work=work, database_url=database_url, base_url=base_url, issuer=issuer)
    with stopped_at_the_end(process):
        wait_until_answers(process, f"{base_url}/readyz", work / "serve.log")
        run_id = seed(
            base_url, authority.client_id, authority.private_key, board.client_id, board.private_key
        )
        yield Console(
            base_url=base_url,
            issuer=issuer,
            database_url=database_url,
            client_id=authority.client_id,
            client_key=authority.private_key,
            officers=OFFICERS,
            cases={
                **cases_by_role(base_url, authority.client_id, authority.private_key),
                # One to look at (the scans), one to decide (a test settles it).
                "review": review_case(database_url, record_id="browser-review"),
                "decide": review_case(database_url, record_id="browser-decide"),
            },
            reconciliation_id=run_id,
        )


@pytest.fixture(scope="session")
def console(
    browser_installed: None, provider: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Console]:
    """The console on SQLite, which every browser test uses."""
    work = tmp_path_factory.mktemp("console")
    with running_console(work, f"sqlite:///{work / 'cme.db'}", provider) as running:
        yield running


@pytest.fixture(scope="session")
def postgres_console(
    browser_installed: None, provider: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Console]:
    """The console on a PostgreSQL database of its own (the suite's shared one is emptied
    after every test that uses it), for the end-to-end test to run on both databases."""
    admin = admin_connection()
    name = f"cme_browser_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        with running_console(tmp_path_factory.mktemp("console-pg"), url, provider) as running:
            yield running
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def open_context(browser: Browser, console: Console) -> BrowserContext:
    """A fresh browser profile (no cookies, English unless a page switches) at a fixed size."""
    opened = browser.new_context(viewport=VIEWPORT, locale="en-GB", base_url=console.base_url)
    opened.set_default_timeout(10_000)
    return opened


@pytest.fixture
def new_page(browser: Browser, console: Console) -> Iterator[Callable[..., Page]]:
    """A page in a browser profile of its own, as another person's browser, on `console`
    (the SQLite one unless given); every profile is closed after the test, pass or fail."""
    opened: list[BrowserContext] = []

    def new(on: Console | None = None) -> Page:
        opened.append(open_context(browser, on or console))
        return opened[-1].new_page()

    yield new
    for context in opened:
        context.close()


@pytest.fixture
def context(new_page: Callable[..., Page]) -> BrowserContext:
    return new_page().context


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def sign_in(page: Page, console: Console, subject: str) -> None:
    """Sign in at the provider as `subject`, from the console's sign-in page."""
    page.goto("/console/sign-in")
    page.locator('[href$="/console/auth/login"]').or_(
        page.locator('form[action$="/console/auth/login"] [type=submit]')
    ).first.click()
    page.wait_for_url(f"{console.issuer}/**")
    page.locator("input[name=sub]").fill(subject)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{console.base_url}/console/**")


@pytest.fixture
def signed_in(page: Page, console: Console) -> Callable[[str], Page]:
    def as_officer(role: str) -> Page:
        sign_in(page, console, console.officers[role].subject)
        return page

    return as_officer


def screenshot(page: Page, name: str) -> None:
    """Take the page at the fixed viewport; with CME_TEST_SCREENSHOTS=1 save it for the
    README (docs/screenshots). Opt-in, so an ordinary run leaves the working tree clean."""
    image = page.screenshot(full_page=False, animations="disabled")
    assert image.startswith(b"\x89PNG"), f"screenshot {name} is not a PNG"
    if os.environ.get("CME_TEST_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / f"{name}.png").write_bytes(image)
