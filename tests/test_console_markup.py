"""Every console page's markup keeps the accessibility basics (WCAG 2.2 AA) a browser scan
would otherwise find late: the page's language, one h1, a skip link to the main content,
a label for every form control, and tables with a caption and headers with a scope."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from services.reconciliation.queue import enqueue
from tests.console import console_client, signed_in_officer
from tests.factories import make_case


class Outline(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.html_lang: str | None = None
        self.h1 = 0
        self.ids: set[str] = set()
        self.labels: set[str] = set()
        self.controls: list[str] = []
        self.skip_link = False
        self.main_id: str | None = None
        self.tables = 0
        self.captions = 0
        self.header_cells_without_scope = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(found["id"] or "")
        if tag == "html":
            self.html_lang = found.get("lang")
        elif tag == "h1":
            self.h1 += 1
        elif tag == "a" and found.get("href") == "#main":
            self.skip_link = True
        elif tag == "main":
            self.main_id = found.get("id")
        elif tag == "label" and found.get("for"):
            self.labels.add(found["for"] or "")
        elif tag in ("input", "select", "textarea") and found.get("type") != "hidden":
            self.controls.append(found.get("id") or f"<{tag} name={found.get('name')}>")
        elif tag == "table":
            self.tables += 1
        elif tag == "caption":
            self.captions += 1
        elif tag == "th" and "scope" not in found:
            self.header_cells_without_scope += 1


def outline(page: str) -> Outline:
    parsed = Outline()
    parsed.feed(page)
    return parsed


@pytest.fixture
def pages(app: FastAPI, http: TestClient, db: Session) -> dict[str, str]:
    """Every kind of console page, in Welsh and in English."""
    console = console_client(app)
    signed_out = {
        f"sign-in {lang}": console.get(f"/console/sign-in?lang={lang}").text
        for lang in ("en", "cy")
    }
    signed_in_officer(console, db, sensitive=True)
    case = make_case(db)
    review = make_case(
        db,
        reason="possible_match_needs_review",
        candidates=[
            {
                "education_record_id": "upn-A",
                "provision": "ehe",
                "ehe_suitability": "assured",
                "match_probability": 0.6,
                "agreement": {"family_name": "exact", "date_of_birth": "different"},
                "match_weights": {"prior": -6.0, "family_name": 4.0},
            }
        ],
    )
    run = enqueue(session=db, la_code="W06000015", trigger="manual")
    run.status, run.finished_at, run.summary = "succeeded", datetime.now(UTC), {"cases_open": 2}
    db.commit()
    paths = {
        "worklist": "/console/cases",
        "case": f"/console/cases/{case.case_id}",
        "review": f"/console/cases/{review.case_id}/review",
        "case under review": f"/console/cases/{review.case_id}",
        "access": f"/console/cases/{case.case_id}/access",
        "runs": "/console/runs",
        "run": f"/console/runs/{run.reconciliation_id}",
        "not found": "/console/cases/00000000-0000-0000-0000-000000000000",
    }
    found = signed_out
    for lang in ("en", "cy"):
        for name, path in paths.items():
            found[f"{name} {lang}"] = console.get(path, params={"lang": lang}).text
    return found


def test_every_page_keeps_the_accessibility_basics(pages: dict[str, str]) -> None:
    problems = []
    for name, page in pages.items():
        found = outline(page)
        lang = name.rsplit(" ", 1)[1]
        if found.html_lang != lang:
            problems.append(f"{name}: html lang {found.html_lang}")
        if found.h1 != 1:
            problems.append(f"{name}: {found.h1} h1")
        if not found.skip_link or found.main_id != "main":
            problems.append(f"{name}: no skip link to the main content")
        unlabelled = [c for c in found.controls if c not in found.labels]
        if unlabelled:
            problems.append(f"{name}: controls without a label: {unlabelled}")
        if found.tables != found.captions:
            problems.append(f"{name}: {found.tables} tables, {found.captions} captions")
        if found.header_cells_without_scope:
            problems.append(f"{name}: header cells without scope")

    assert problems == []
    assert 'data-testid="match-weights"' in pages["review en"]
    assert "Adolygiad: Tomos Llewellyn" in pages["review cy"]
