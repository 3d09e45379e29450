"""axe-core scans every console page in English and in Welsh: no serious or critical
violation (WCAG 2.2 AA is the aim; axe finds what a machine can). The English pages, and
the Welsh worklist, are saved as the README's screenshots on the way."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.browser.conftest import Console, screenshot, sign_in

BLOCKING = {"serious", "critical"}
axe = Axe()


def stale_conflict(page: Page, case_id: str) -> None:
    """The conflict page, without changing the case: a note sent with an ETag that is no
    longer the case's, as a second officer's tab would send it."""
    page.goto(f"/console/cases/{case_id}")
    form = page.locator(f'form[action="/console/cases/{case_id}/note"]')
    form.locator("input[name=etag]").evaluate("field => { field.value = 'W/\"0\"'; }")
    form.locator("textarea[name=note]").fill("Phoned the family.")
    form.locator("[type=submit]").click()
    expect(page.get_by_test_id("conflict")).to_be_visible()


def officer_pages(page: Page, console: Console) -> Iterator[tuple[str, str | None]]:
    """Visit each page a signed-in officer sees: (its name, the test id it must show)."""
    page.goto("/console/cases")
    yield "worklist", "worklist"
    page.goto(f"/console/cases/{console.cases['shown']}")
    yield "case", "case-status"
    page.goto(f"/console/cases/{console.cases['review']}/review")
    yield "review", "candidates"
    page.goto("/console/runs")
    yield "runs", "runs"
    page.goto(f"/console/runs/{console.reconciliation_id}")
    yield "run", None
    page.goto(f"/console/cases/{console.cases['shown']}/access")
    yield "access-history", "access-history"
    stale_conflict(page, console.cases["shown"])
    yield "conflict", "conflict"


def blocking(results: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for v in results["violations"] if v.get("impact") in BLOCKING]


def describe(name: str, violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{name}: {v['impact']} {v['id']} ({v['help']}) at "
        + json.dumps([node["target"] for node in v["nodes"]])
        for v in violations
    )


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_no_page_has_a_serious_or_critical_accessibility_violation(
    new_page: Callable[..., Page], console: Console, lang: str
) -> None:
    found: dict[str, list[dict[str, Any]]] = {}

    def scan(page: Page, name: str, test_id: str | None) -> None:
        if test_id is not None:
            expect(page.get_by_test_id(test_id)).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", lang)
        found[name] = axe.run(page).response["violations"]
        if lang == "en":
            screenshot(page, name)

    page = new_page()
    page.goto(f"/console/sign-in?lang={lang}")
    scan(page, "sign-in", None)
    sign_in(page, console, console.officers["cleared"].subject)
    for name, test_id in officer_pages(page, console):
        scan(page, name, test_id)

    page = new_page()  # a stranger's browser
    page.goto(f"/console/sign-in?lang={lang}")
    sign_in(page, console, "not-an-officer@example.org")
    scan(page, "not-registered", "not-registered")

    # The whole picture, failing or not: the counts by impact on each page.
    for name, violations in found.items():
        counts = Counter(str(v.get("impact")) for v in violations)
        print(f"axe {lang} {name}: {dict(counts) or 'no violations'}")
    failures = {name: blocking({"violations": v}) for name, v in found.items()}
    report = "\n".join(describe(name, v) for name, v in failures.items() if v)
    assert not report, f"serious or critical accessibility violations ({lang}):\n{report}"


def test_the_scan_finds_a_serious_violation_where_there_is_one(
    new_page: Callable[..., Page],
) -> None:
    """The control: a scan that found nothing anywhere must be able to find something."""
    page = new_page()
    page.set_content(
        '<html lang="en"><title>Control</title><main><img src="child.png"></main></html>'
    )

    found = blocking(axe.run(page).response)

    assert [v["id"] for v in found] == ["image-alt"]
