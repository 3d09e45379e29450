"""Tables of the service. One place, so that Alembic and a reader see the whole schema.

Health records hold children's personal data; they are a short-lived working set that
reconciliation deletes once a child is known not to be missing (see DOMAIN.md).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column

from services.store.db import Base

# SQLite has no 64-bit autoincrement type of its own; INTEGER PRIMARY KEY is its rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Client(Base):
    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_code: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # A disabled client gets no tokens and its tokens are refused (`cme clients disable`).
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Access tokens carry the generation they were issued in; disabling moves it on, so a
    # client enabled again does not get its old tokens back.
    token_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ClientKey(Base):
    __tablename__ = "client_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id"), index=True)
    # RFC 7638 thumbprint; unique across clients so a key proves exactly one client.
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class UsedAssertion(Base):
    """jti values of client assertions already used, kept until the assertion expires."""

    __tablename__ = "used_assertions"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    jti: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class Submission(Base):
    """A board's submission. Its id is the sender's, so it is unique per board only: one
    board's id says nothing about another board's submissions."""

    __tablename__ = "submissions"

    submission_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    lhb_code: Mapped[str] = mapped_column(String(8), primary_key=True, index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    extract_type: Mapped[str] = mapped_column(String(8))
    extracted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Proof of what was received stays for good; the body only until reconciled.
    body_sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)
    body_gzip: Mapped[bytes | None] = mapped_column(LargeBinary)
    body_deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    record_count: Mapped[int] = mapped_column(Integer)
    receipt: Mapped[dict[str, Any]] = mapped_column(JSON)


class PersonColumns:
    """A child as a health board or an authority records them, declared once for both."""

    nhs_number: Mapped[str | None] = mapped_column(String(10))
    given_name: Mapped[str] = mapped_column(String(100))
    middle_names: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(100))
    former_names: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    date_of_birth: Mapped[date] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(1))
    address_lines: Mapped[list[str] | None] = mapped_column(JSON)
    postcode: Mapped[str | None] = mapped_column(String(8))


PERSON_COLUMNS: tuple[str, ...] = tuple(PersonColumns.__annotations__)


class HealthRecord(PersonColumns, Base):
    """A child on a health board's extract. A sensitive child's address columns are always
    NULL: their address never enters the system."""

    __tablename__ = "health_records"
    __table_args__ = (
        UniqueConstraint("lhb_code", "record_id"),
        Index("ix_health_records_la_lhb", "local_authority_code", "lhb_code"),
        # A record refers to its board's own submission (submission_id, lhb_code): a rule
        # kept by triggers that check each statement once, not by a foreign key that looks
        # the submission up for every copied row (migration 0012).
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    lhb_code: Mapped[str] = mapped_column(String(8))
    record_id: Mapped[str] = mapped_column(String(64))
    submission_id: Mapped[str] = mapped_column(String(36), index=True)
    local_authority_code: Mapped[str] = mapped_column(String(9))
    address_last_known: Mapped[bool | None] = mapped_column(Boolean)
    gp_practice_code: Mapped[str | None] = mapped_column(String(16))
    sensitive: Mapped[bool] = mapped_column(Boolean)


class AuditContent:
    """What an audit event says: ids and counts, never personal data."""

    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    request_id: Mapped[str | None] = mapped_column(String(64))
    client_id: Mapped[str | None] = mapped_column(String(64))
    # The `sub` of an officer acting in the console; null for API clients and the operator.
    officer: Mapped[str | None] = mapped_column(String(255))
    org_code: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_ids: Mapped[list[str]] = mapped_column(JSON)
    record_count: Mapped[int | None] = mapped_column(Integer)


class AuditEvent(AuditContent, Base):
    """Append-only, hash-chained. Triggers refuse UPDATE and DELETE (see migrations)."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's latest link: detects a deleted tail and serialises appends (row lock)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigId)
    hash: Mapped[str] = mapped_column(String(64))


class EducationSet(Base):
    """An authority's latest education records upload: metadata only, no personal data.

    The records themselves (`education_records`) are deleted by the reconciliation that
    consumes them; this row remembers that the upload happened and how big it was.
    """

    __tablename__ = "education_sets"

    la_code: Mapped[str] = mapped_column(String(9), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    client_id: Mapped[str] = mapped_column(String(64))
    record_count: Mapped[int] = mapped_column(Integer)
    records_by_provision: Mapped[dict[str, int]] = mapped_column(JSON)
    consumed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class EducationRecord(PersonColumns, Base):
    __tablename__ = "education_records"
    __table_args__ = (UniqueConstraint("la_code", "record_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    la_code: Mapped[str] = mapped_column(String(9), index=True)
    record_id: Mapped[str] = mapped_column(String(64))
    upn: Mapped[str | None] = mapped_column(String(13))
    provision: Mapped[str] = mapped_column(String(32))
    provider_name: Mapped[str | None] = mapped_column(String(200))
    provider_code: Mapped[str | None] = mapped_column(String(32))
    ehe_suitability: Mapped[str | None] = mapped_column(String(16))


class Reconciliation(Base):
    """A reconciliation job: queued, claimed by a worker, run in one transaction."""

    __tablename__ = "reconciliations"
    __table_args__ = (Index("ix_reconciliations_status_created", "status", "created_at"),)

    reconciliation_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    la_code: Mapped[str] = mapped_column(String(9), index=True)
    status: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(32))
    requested_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error_code: Mapped[str | None] = mapped_column(String(64))


class CmeCase(Base):
    """A child who appears to be missing education: everything the case needs, no more."""

    __tablename__ = "cme_cases"
    __table_args__ = (
        UniqueConstraint("la_code", "source_lhb_code", "source_record_id"),
        Index("ix_cme_cases_la_status_updated", "la_code", "status", "updated_at"),
        # The case list's order and cursor: an index scan, not a sort of the authority.
        Index("ix_cme_cases_la_updated_id", "la_code", "updated_at", "case_id"),
    )

    case_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    la_code: Mapped[str] = mapped_column(String(9))
    status: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(48))
    sensitive: Mapped[bool] = mapped_column(Boolean)
    do_not_contact: Mapped[bool] = mapped_column(Boolean)
    # given_name, middle_names, family_name, former_names, date_of_birth, sex, address,
    # nhs_number: as the case API shows them. No address is ever held for a sensitive child.
    child: Mapped[dict[str, Any]] = mapped_column(JSON)
    child_fingerprint: Mapped[str] = mapped_column(String(64))
    source_lhb_code: Mapped[str] = mapped_column(String(8))
    source_submission_id: Mapped[str] = mapped_column(String(36))
    source_record_id: Mapped[str] = mapped_column(String(64))
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    identified_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str | None] = mapped_column(String(48))
    note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    last_reconciliation_id: Mapped[str | None] = mapped_column(String(36))
    # Set on a case opened by a move from another Welsh authority: the 28-day clock.
    transferred_from_la_code: Mapped[str | None] = mapped_column(String(9))
    transfer_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    transfer_acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # UK GDPR art. 18: a restricted case is kept but not processed or shown to anyone.
    restricted: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # What happened to the case, oldest first: event codes and authority codes only.
    history: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, server_default=text("'[]'")
    )


class ReviewDecision(Base):
    """An officer's answer to "is this child one of these education records?", remembered
    so that later reconciliations do not ask again while the child's details are the same."""

    __tablename__ = "review_decisions"

    la_code: Mapped[str] = mapped_column(String(9), primary_key=True)
    lhb_code: Mapped[str] = mapped_column(String(8), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    education_record_id: Mapped[str | None] = mapped_column(String(64))
    child_fingerprint: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The API client, or the officer's `sub` when decided in the console.
    decided_by: Mapped[str] = mapped_column(String(255))
    # The answer as labels for measuring the model: per candidate offered, its match
    # probability and whether it was the child ({"match_probability", "match"}).
    labels: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class EnglandTransfer(Base):
    """A child who moved to England: what the English authority needs, until exported."""

    __tablename__ = "england_transfers"

    transfer_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cme_cases.case_id"), index=True)
    la_code: Mapped[str] = mapped_column(String(9), index=True)
    child: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    exported_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AuditInbox(AuditContent, Base):
    """Audit events written by requests, waiting for the chainer to link them.

    Requests append here without taking any shared lock; `audit.chain_inbox` moves rows in
    id order into the hash chain (`audit_events`) within a second or so.
    """

    __tablename__ = "audit_inbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)


class Officer(Base):
    """A council officer registered to sign in to the console (`cme officers add`).

    `subject` is the `sub` claim the authority's identity provider gives the person. Removing
    an officer deletes the row and, with it, every open console session of theirs.
    """

    __tablename__ = "officers"

    officer_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    la_code: Mapped[str] = mapped_column(String(9), index=True)
    subject: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The same clearance as `cme:sensitive`: sensitive children's cases are shown.
    sensitive: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ConsoleSession(Base):
    """A signed-in officer's console session. Only the SHA-256 of the cookie's token is
    kept, so a copy of the database signs no one in."""

    __tablename__ = "console_sessions"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    officer_id: Mapped[str] = mapped_column(
        ForeignKey("officers.officer_id", ondelete="CASCADE"), index=True
    )
    # The per-session secret every form's csrf_token is derived from.
    csrf_secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The absolute end, whatever the activity; the idle timeout is checked on last_seen_at.
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
