"""Using the officer console in tests: officers registered, signed in by a real session,
and the values pages carry (CSRF token, ETag) read back from the HTML."""

from __future__ import annotations

import html
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from services.access import officers
from services.caller import Caller
from services.store.tables import Officer

# https, so the console's Secure cookies come back as a browser would send them.
CONSOLE_BASE_URL = "https://testserver"
SESSION_COOKIE = "__Host-cme_console"


def console_client(app: FastAPI) -> TestClient:
    """A browser on the console (the app's lifespan is run by the `http` fixture)."""
    return TestClient(app, base_url=CONSOLE_BASE_URL, follow_redirects=False)


@dataclass(frozen=True)
class SignedInOfficer:
    subject: str
    la_code: str
    officer_id: str


def register_officer(
    db: Session, *, la: str = "W06000015", sensitive: bool = False, subject: str | None = None
) -> SignedInOfficer:
    listing = officers.add_officer(
        session=db,
        caller=Caller.operator(),
        la_code=la,
        subject=subject or f"officer-{uuid.uuid4().hex[:8]}",
        name="Siân Prydderch",
        sensitive=sensitive,
    )
    db.commit()
    return SignedInOfficer(listing.subject, listing.la, listing.officer_id)


def sign_in(client: TestClient, db: Session, officer: SignedInOfficer) -> str:
    """A session started as the callback starts one; its cookie put in the browser."""
    registered = db.get(Officer, officer.officer_id)
    assert registered is not None
    token = officers.start_session(session=db, officer=registered, lifetime=timedelta(hours=1))
    db.commit()
    client.cookies.set(SESSION_COOKIE, token)
    return token


def signed_in_officer(
    client: TestClient, db: Session, *, la: str = "W06000015", sensitive: bool = False
) -> SignedInOfficer:
    officer = register_officer(db, la=la, sensitive=sensitive)
    sign_in(client, db, officer)
    return officer


def hidden(page: str, name: str) -> str:
    """The value of the first hidden input of that name."""
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found is not None, f"no {name} on the page"
    return html.unescape(found.group(1))
