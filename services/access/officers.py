"""Council officers who sign in to the console, and their sessions.

An officer is registered by the operator for one authority (`cme officers add`), named by
the `sub` claim of the council's identity provider. A console session is kept here, not in
the cookie: every request looks it up and checks that the officer is still registered, so
`cme officers remove` ends every open session at once. Only a hash of the session token is
stored, and its CSRF secret lives beside it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from schemas.organisations import is_local_authority
from services import audit
from services.caller import SENSITIVE_CLEARANCE, Caller
from services.errors import Conflict, FieldError, NotFound, ValidationFailed
from services.store.tables import ConsoleSession, Officer

MAX_SUBJECT = 255
MAX_NAME = 200
# What an officer may do in the console: what an authority's case-working client may.
OFFICER_SCOPES = frozenset({"cme:read", "cme:write"})


@dataclass(frozen=True)
class OfficerListing:
    officer_id: str
    la: str
    subject: str
    name: str
    sensitive: bool

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _listing(officer: Officer) -> OfficerListing:
    return OfficerListing(
        officer_id=officer.officer_id,
        la=officer.la_code,
        subject=officer.subject,
        name=officer.name,
        sensitive=officer.sensitive,
    )


def add_officer(
    *, session: Session, caller: Caller, la_code: str, subject: str, name: str, sensitive: bool
) -> OfficerListing:
    problems = []
    if not is_local_authority(la_code):
        problems.append(FieldError("la", "unknown_local_authority", "A Welsh authority's code."))
    if not subject or len(subject) > MAX_SUBJECT or not subject.isprintable():
        problems.append(
            FieldError("subject", "invalid_subject", f"1 to {MAX_SUBJECT} printable characters.")
        )
    if not name.strip() or len(name) > MAX_NAME:
        problems.append(FieldError("name", "invalid_name", f"1 to {MAX_NAME} characters."))
    if problems:
        detail = "; ".join(f"--{p.pointer}: {p.detail}" for p in problems)
        raise ValidationFailed(problems, detail=detail)
    if session.scalar(select(Officer.officer_id).where(Officer.subject == subject)) is not None:
        raise Conflict(
            "An officer with this subject is registered already (`cme officers list`).",
            "officer_exists",
        )
    officer = Officer(
        officer_id=str(uuid.uuid4()),
        la_code=la_code,
        subject=subject,
        name=name.strip(),
        sensitive=sensitive,
        created_at=_now(),
    )
    session.add(officer)
    session.flush()
    _audit(session, caller, "officer.added", officer)
    return _listing(officer)


def remove_officer(*, session: Session, caller: Caller, subject: str) -> OfficerListing:
    """Remove the officer and end their open sessions, in one transaction."""
    officer = session.scalar(select(Officer).where(Officer.subject == subject).with_for_update())
    if officer is None:
        raise NotFound("No officer with this subject (`cme officers list` shows them).")
    removed = _listing(officer)
    session.execute(delete(ConsoleSession).where(ConsoleSession.officer_id == officer.officer_id))
    session.delete(officer)
    session.flush()
    _audit(session, caller, "officer.removed", officer)
    return removed


def list_officers(*, session: Session, la_code: str | None = None) -> list[OfficerListing]:
    statement = select(Officer).order_by(Officer.la_code, Officer.created_at, Officer.subject)
    if la_code is not None:
        statement = statement.where(Officer.la_code == la_code)
    return [_listing(officer) for officer in session.scalars(statement)]


def find_officer(*, session: Session, subject: str) -> Officer | None:
    return session.scalar(select(Officer).where(Officer.subject == subject))


def _audit(session: Session, caller: Caller, action: str, officer: Officer) -> None:
    audit.record(
        session=session,
        caller=caller,
        action=action,
        object_type="officer",
        object_ids=[officer.officer_id],
    )


@dataclass(frozen=True)
class SignedIn:
    """A current console session: who is acting and the secret their forms carry."""

    officer_id: str
    subject: str
    name: str
    la_code: str
    sensitive: bool
    csrf_secret: str
    token_sha256: str

    def caller(self, request_id: str | None) -> Caller:
        """The officer as the services know a caller: their authority, their clearance."""
        scopes = OFFICER_SCOPES | ({SENSITIVE_CLEARANCE} if self.sensitive else set())
        return Caller(
            org_code=self.la_code,
            officer=self.subject,
            scopes=frozenset(scopes),
            request_id=request_id,
        )


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(*, session: Session, officer: Officer, lifetime: timedelta) -> str:
    """A new session for a signed-in officer; returns the token for the cookie (shown once,
    stored only as its hash)."""
    token = secrets.token_urlsafe(32)
    now = _now()
    # Sessions that ran out without being presented again go now, whoever's they were.
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
    session.add(
        ConsoleSession(
            token_sha256=token_hash(token),
            officer_id=officer.officer_id,
            csrf_secret=secrets.token_hex(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
        )
    )
    audit.record(
        session=session,
        caller=Caller(org_code=officer.la_code, officer=officer.subject),
        action="console.signed_in",
        object_type="officer",
        object_ids=[officer.officer_id],
    )
    session.flush()
    return token


def current_session(
    *, session: Session, token: str, idle: timedelta, now: datetime | None = None
) -> SignedIn | None:
    """The session this token opens, if it has neither expired nor idled out and its
    officer is still registered; its last activity moves to now. None otherwise (an ended
    session is deleted)."""
    now = now or _now()
    found = session.execute(
        select(ConsoleSession, Officer)
        .join(Officer, Officer.officer_id == ConsoleSession.officer_id)
        .where(ConsoleSession.token_sha256 == token_hash(token))
    ).first()
    if found is None:
        return None
    console_session, officer = found
    if console_session.expires_at <= now or console_session.last_seen_at + idle <= now:
        session.delete(console_session)
        session.flush()
        return None
    console_session.last_seen_at = now
    return SignedIn(
        officer_id=officer.officer_id,
        subject=officer.subject,
        name=officer.name,
        la_code=officer.la_code,
        sensitive=officer.sensitive,
        csrf_secret=console_session.csrf_secret,
        token_sha256=console_session.token_sha256,
    )


def end_session(*, session: Session, signed_in: SignedIn) -> None:
    session.execute(
        delete(ConsoleSession).where(ConsoleSession.token_sha256 == signed_in.token_sha256)
    )
    audit.record(
        session=session,
        caller=signed_in.caller(None),
        action="console.signed_out",
        object_type="officer",
        object_ids=[signed_in.officer_id],
    )


def csrf_token(secret: str) -> str:
    """The token every form of the session carries: derived from the session's secret."""
    return hmac.new(secret.encode(), b"cme-console-form", hashlib.sha256).hexdigest()


def csrf_matches(secret: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(csrf_token(secret), presented)


def _now() -> datetime:
    return datetime.now(UTC)
