"""An officer's work in the console, in Chromium, signed in at an OpenID Connect provider
(fixtures: tests/browser/conftest.py)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from services.store.db import make_engine, session_factory
from services.store.tables import AuditEvent
from tests.browser.conftest import Console, screenshot, sign_in
from tests.browser.seed import LA

SESSION_COOKIE = "__Host-cme_console"
POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b")


def case_link(case_id: str) -> str:
    return f'[data-testid="worklist"] a[href="/console/cases/{case_id}"]'


def outcome_form(case_id: str) -> str:
    return f'form[action="/console/cases/{case_id}/outcome"]'


def record_outcome(page: Page, case_id: str, outcome: str, note: str) -> None:
    form = page.locator(outcome_form(case_id))
    form.locator("select[name=outcome]").select_option(outcome)
    form.locator("textarea[name=note]").fill(note)
    form.locator("[type=submit]").click()


def audit_events(console: Console, case_id: str) -> list[AuditEvent]:
    engine = make_engine(console.database_url)
    try:
        with session_factory(engine)() as session:
            events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
            return [event for event in events if case_id in event.object_ids]
    finally:
        engine.dispose()


def document_statuses(page: Page) -> list[int]:
    """The status of every page the browser shows from now on, in order."""
    statuses: list[int] = []
    page.on(
        "response",
        lambda response: (
            statuses.append(response.status)
            if response.request.is_navigation_request() and response.frame == page.main_frame
            else None
        ),
    )
    return statuses


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_an_officer_signs_in_and_closes_a_case_the_api_then_shows_closed(
    new_page: Callable[..., Page], request: pytest.FixtureRequest, database: str
) -> None:
    console: Console = request.getfixturevalue(
        "console" if database == "sqlite" else "postgres_console"
    )
    officer = console.officers["plain"]
    case_id = console.cases["e2e"]
    page = new_page(console)

    sign_in(page, console, officer.subject)

    expect(page).to_have_url(f"{console.base_url}/console/cases")
    page.locator(case_link(case_id)).click()
    expect(page).to_have_url(f"{console.base_url}/console/cases/{case_id}")
    expect(page.get_by_test_id("case-status")).to_contain_text("open")
    record_outcome(page, case_id, "not_traced", "Letters in Welsh and English came back.")
    expect(page.get_by_test_id("case-status")).to_contain_text("closed")
    expect(page.get_by_test_id("history")).to_be_visible()

    with console.api() as authority:
        shown = authority.request("GET", f"/v1/local-authorities/{LA}/cme-cases/{case_id}")
    assert shown.status_code == 200, shown.text
    case = shown.json()
    assert (case["status"], case["outcome"]) == ("closed", "not_traced")
    assert case["note"] == "Letters in Welsh and English came back."
    # The audit trail names the person and the authority of the change, not a client.
    changes = [e for e in audit_events(console, case_id) if e.action == "case.updated"]
    assert [(e.officer, e.org_code, e.client_id) for e in changes] == [(officer.subject, LA, None)]
    # ...and the data-protection officer's page shows it.
    page.goto(f"/console/cases/{case_id}/access")
    expect(page.get_by_test_id("access-history")).to_contain_text(officer.subject)


def test_a_person_the_provider_knows_but_nobody_registered_sees_only_that(
    page: Page, context: BrowserContext, console: Console
) -> None:
    statuses = document_statuses(page)

    sign_in(page, console, "stranger@example.org")

    expect(page.get_by_test_id("not-registered")).to_be_visible()
    assert statuses[-1] == 403
    expect(page.locator('a[href^="/console/cases"]')).to_have_count(0)
    expect(page.get_by_test_id("worklist")).to_have_count(0)
    assert SESSION_COOKIE not in {cookie["name"] for cookie in context.cookies()}
    for path in ("/console/cases", f"/console/cases/{console.cases['shown']}", "/console/runs"):
        page.goto(path)
        expect(page.get_by_test_id("worklist")).to_have_count(0)
        expect(page.get_by_test_id("case-status")).to_have_count(0)
        expect(page.get_by_test_id("runs")).to_have_count(0)


def test_only_an_officer_with_sensitive_clearance_sees_a_sensitive_childs_case(
    new_page: Callable[..., Page], console: Console
) -> None:
    case_id = console.cases["sensitive"]
    seen: dict[str, Page] = {}
    for role in ("cleared", "plain"):
        seen[role] = new_page()
        sign_in(seen[role], console, console.officers[role].subject)

    cleared, plain = seen["cleared"], seen["plain"]
    expect(cleared.locator(case_link(case_id))).to_have_count(1)
    expect(plain.locator(case_link(case_id))).to_have_count(0)
    expect(plain.locator(case_link(console.cases["shown"]))).to_have_count(1)

    cleared.goto(f"/console/cases/{case_id}")
    expect(cleared.get_by_test_id("case-status")).to_contain_text("open")
    expect(cleared.locator("main")).to_contain_text("Gethin")
    # A sensitive child's address is never held, so never shown, even with clearance.
    assert not POSTCODE.search(cleared.locator("main").inner_text())

    refused = plain.goto(f"/console/cases/{case_id}")
    assert refused is not None
    assert refused.status == 404
    expect(plain.get_by_test_id("case-status")).to_have_count(0)
    assert "Gethin" not in plain.content()


def test_the_second_of_two_concurrent_changes_sees_the_conflict_and_the_current_state(
    new_page: Callable[..., Page], console: Console
) -> None:
    case_id = console.cases["conflict"]
    officers = []
    for role in ("plain", "cleared"):
        page = new_page()
        sign_in(page, console, console.officers[role].subject)
        page.goto(f"/console/cases/{case_id}")
        expect(page.get_by_test_id("case-status")).to_contain_text("open")
        officers.append(page)
    first, second = officers
    statuses = document_statuses(second)

    record_outcome(first, case_id, "registered_at_school", "Started at Ysgol Treganna.")
    expect(first.get_by_test_id("case-status")).to_contain_text("closed")
    record_outcome(second, case_id, "not_traced", "No reply to letters.")

    expect(second.get_by_test_id("conflict")).to_be_visible()
    assert statuses[-1] == 409
    expect(second.get_by_test_id("case-status")).to_contain_text("closed")
    with console.api() as authority:
        case = authority.request("GET", f"/v1/local-authorities/{LA}/cme-cases/{case_id}").json()
    # Never a lost update: the first change stands.
    assert (case["outcome"], case["note"]) == ("registered_at_school", "Started at Ysgol Treganna.")


def test_welsh_is_chosen_with_lang_and_remembered_until_english_is_chosen(
    signed_in: Callable[[str], Page],
) -> None:
    page = signed_in("plain")
    english_heading = page.locator("h1").inner_text()

    page.goto("/console/cases?lang=cy")
    expect(page.locator("html")).to_have_attribute("lang", "cy")
    welsh_heading = page.locator("h1").inner_text()
    assert welsh_heading != english_heading
    screenshot(page, "worklist-cy")

    page.goto("/console/runs")
    expect(page.locator("html")).to_have_attribute("lang", "cy")
    page.goto("/console/cases")
    expect(page.locator("h1")).to_have_text(welsh_heading)

    page.goto("/console/cases?lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text(english_heading)
    page.goto("/console/runs")
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_the_sign_in_page_is_in_welsh_before_anyone_signs_in(page: Page) -> None:
    page.goto("/console/sign-in?lang=cy")

    expect(page.locator("html")).to_have_attribute("lang", "cy")
    expect(page.locator("main")).to_contain_text("Mewngofnodi")


def test_an_outcome_is_recorded_with_the_keyboard_alone(
    signed_in: Callable[[str], Page], console: Console
) -> None:
    case_id = console.cases["keyboard"]
    page = signed_in("plain")
    page.goto(f"/console/cases/{case_id}")
    keyboard = page.keyboard

    keyboard.press("Tab")
    skip_link = page.evaluate(
        "() => [document.activeElement.tagName, document.activeElement.getAttribute('href')]"
    )
    assert skip_link[0] == "A"
    assert str(skip_link[1]).startswith("#")
    keyboard.press("Enter")  # to the main content, past the navigation

    form = outcome_form(case_id)
    focus_until(page, f"{form} select[name=outcome]")
    for _ in range(12):  # the arrow keys walk the options of a focused select
        if page.locator(f"{form} select[name=outcome]").input_value() == "not_traced":
            break
        keyboard.press("ArrowDown")
    expect(page.locator(f"{form} select[name=outcome]")).to_have_value("not_traced")
    focus_until(page, f"{form} textarea[name=note]")
    keyboard.type("Recorded without a mouse.")
    focus_until(page, f"{form} [type=submit]")
    keyboard.press("Enter")

    expect(page.get_by_test_id("case-status")).to_contain_text("closed")
    with console.api() as authority:
        case = authority.request("GET", f"/v1/local-authorities/{LA}/cme-cases/{case_id}").json()
    assert (case["outcome"], case["note"]) == ("not_traced", "Recorded without a mouse.")


def focus_until(page: Page, selector: str, most: int = 60) -> None:
    """Press Tab until `selector` has the focus; fail if it never does."""
    target = page.locator(selector)
    for _ in range(most):
        if target.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} never took the focus in {most} presses of Tab")


def test_signing_out_ends_the_session_even_for_a_copy_of_its_cookie(
    signed_in: Callable[[str], Page], context: BrowserContext, console: Console
) -> None:
    page = signed_in("plain")
    expect(page.get_by_test_id("worklist")).to_be_visible()
    kept = context.cookies()

    page.locator('form[action="/console/auth/sign-out"] [type=submit]').click()

    expect(page).to_have_url(re.compile(r"/console/sign-in"))
    page.goto("/console/cases")
    expect(page.get_by_test_id("worklist")).to_have_count(0)
    context.add_cookies(kept)  # type: ignore[arg-type]
    page.goto("/console/cases")
    expect(page.get_by_test_id("worklist")).to_have_count(0)


def test_an_officer_settles_a_possible_match_after_comparing_the_candidates(
    signed_in: Callable[[str], Page], console: Console
) -> None:
    case_id = console.cases["decide"]
    page = signed_in("plain")
    page.goto(f"/console/cases/{case_id}/review")

    candidates = page.get_by_test_id("candidates")
    for education_record_id in ("upn-review-1", "upn-review-2"):
        expect(candidates).to_contain_text(education_record_id)
    expect(candidates).to_contain_text("81%")
    expect(page.get_by_test_id("match-weights")).to_contain_text("-4.6")
    decision = page.locator(f'form[action="/console/cases/{case_id}/review"]')
    decision.get_by_label("upn-review-1").check()
    decision.locator("[type=submit]").click()

    expect(page.get_by_test_id("case-status")).to_contain_text("closed")
    with console.api() as authority:
        case = authority.request("GET", f"/v1/local-authorities/{LA}/cme-cases/{case_id}").json()
    assert (case["status"], case["outcome"]) == ("closed", "registered_at_school")
