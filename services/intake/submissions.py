"""Ingest of signed health-board submissions: all or nothing, idempotent, minimised.

The caller hands over the exact body bytes and the detached signature; this module
verifies, validates, stores and returns the receipt. It never commits: the request's one
commit happens before the receipt is sent.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from schemas.school_age import compulsory_school_age_birth_dates
from schemas.submissions import HealthRecordIn, NotRetained, Receipt, SubmissionIn
from services import audit
from services.access.signatures import verify_detached
from services.caller import Caller
from services.cases.notices import close_cases_of_deceased, hide_addresses_of_sensitive
from services.errors import Conflict, Forbidden, NotFound
from services.intake.records import health_record_row
from services.intake.rules import UploadRules, parse_upload
from services.reconciliation.queue import enqueue_if_ready
from services.store.bulk import bulk_insert, delete_health_records
from services.store.tables import HealthRecord, Submission

log = logging.getLogger(__name__)
_RULES = UploadRules(date_field="extracted_at")


@dataclass(frozen=True)
class Outcome:
    receipt: Receipt
    created: bool


def ingest(
    *,
    session: Session,
    caller: Caller,
    body: bytes,
    signature: str | None,
    body_gzip: bytes | None = None,
) -> Outcome:
    """Verify, validate and store one submission. `body_gzip`, when the client sent gzip,
    is kept as the stored copy so the body is not compressed a second time."""
    verify_detached(session=session, client_id=caller.client, signature=signature, body=body)
    digest = hashlib.sha256(body).hexdigest()
    submission = parse_upload(SubmissionIn, body, rules=_RULES)
    if submission.lhb_code != caller.org_code:
        raise Forbidden(
            "lhb_code must be the calling client's own health board.", "lhb_code_not_caller"
        )
    replay = _replay(session, submission, digest)
    if replay is not None:
        return Outcome(replay, created=False)

    received_at = datetime.now(UTC)
    retained, not_school_age, deceased = _partition(submission)
    by_la = Counter(record.local_authority_code for record in retained)
    receipt = Receipt(
        submission_id=str(submission.submission_id),
        lhb_code=submission.lhb_code,
        status="accepted",
        received_at=received_at,
        record_count=len(submission.records),
        body_sha256=digest,
        records_by_local_authority=dict(sorted(by_la.items())),
        not_retained=NotRetained(
            not_compulsory_school_age=len(not_school_age), deceased=len(deceased)
        ),
    )
    row = Submission(
        submission_id=receipt.submission_id,
        lhb_code=submission.lhb_code,
        client_id=caller.client,
        extract_type=submission.extract_type,
        extracted_at=submission.extracted_at,
        received_at=received_at,
        body_sha256=digest,
        signature=(signature or "").strip(),
        body_gzip=body_gzip if body_gzip is not None else gzip.compress(body, compresslevel=1),
        record_count=len(submission.records),
        receipt=receipt.model_dump(mode="json"),
    )
    # Claim (submission_id, lhb_code) first: a concurrent identical request waits here on
    # the primary key and then answers as a replay instead of storing the records twice.
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        replay = _replay(session, submission, digest)
        if replay is None:  # pragma: no cover - the row that collided cannot vanish
            raise
        return Outcome(replay, created=False)

    _store_records(session, submission, retained, leaving=not_school_age + deceased)
    # Every copy of the child's case learns of a death or an S-flag before the 201.
    close_cases_of_deceased(
        session=session, lhb_code=submission.lhb_code, record_ids=[r.record_id for r in deceased]
    )
    hide_addresses_of_sensitive(
        session=session,
        lhb_code=submission.lhb_code,
        record_ids=[r.record_id for r in submission.records if r.sensitive],
    )
    for la_code in by_la:
        enqueue_if_ready(session=session, la_code=la_code, trigger="submission")
    audit.record(
        session=session,
        caller=caller,
        action="submission.received",
        object_type="submission",
        object_ids=[receipt.submission_id],
        record_count=len(submission.records),
    )
    log.info(
        "submission stored",
        extra={
            "submission_id": receipt.submission_id,
            "lhb_code": submission.lhb_code,
            "records": len(submission.records),
            "retained": len(retained),
        },
    )
    return Outcome(receipt, created=True)


def read_receipt(*, session: Session, caller: Caller, submission_id: str) -> Receipt:
    row = session.scalar(
        select(Submission).where(
            Submission.submission_id == submission_id, Submission.lhb_code == caller.org_code
        )
    )
    if row is None:
        raise NotFound("No such submission for this health board.")
    audit.record(
        session=session,
        caller=caller,
        action="submission.receipt_read",
        object_type="submission",
        object_ids=[submission_id],
    )
    return Receipt.model_validate(row.receipt)


def _replay(session: Session, submission: SubmissionIn, digest: str) -> Receipt | None:
    """The receipt of this board's earlier submission with this id, if any. Ids are the
    sender's and unique per board: another board's submission is never found here."""
    existing = session.get(
        Submission, (str(submission.submission_id), submission.lhb_code), populate_existing=True
    )
    if existing is None:
        return None
    if existing.body_sha256 != digest:
        raise Conflict(
            "This board already used this submission_id with a different body.",
            "submission_id_conflict",
        )
    return Receipt.model_validate(existing.receipt)


def _partition(
    submission: SubmissionIn,
) -> tuple[list[HealthRecordIn], list[HealthRecordIn], list[HealthRecordIn]]:
    # One date range for the whole extract (the rule is monotonic in the date of birth).
    earliest, latest = compulsory_school_age_birth_dates(submission.extracted_at.date())
    retained, not_school_age, deceased = [], [], []
    for record in submission.records:
        if record.date_of_death is not None:
            deceased.append(record)
        elif not earliest <= record.date_of_birth <= latest:
            not_school_age.append(record)
        else:
            retained.append(record)
    return retained, not_school_age, deceased


def _store_records(
    session: Session,
    submission: SubmissionIn,
    retained: Sequence[HealthRecordIn],
    *,
    leaving: Sequence[HealthRecordIn],
) -> None:
    lhb = submission.lhb_code
    if submission.extract_type == "full":
        # A full extract replaces what the board sent before for the authorities in it.
        authorities = sorted({record.local_authority_code for record in submission.records})
        session.execute(
            delete(HealthRecord).where(
                HealthRecord.lhb_code == lhb, HealthRecord.local_authority_code.in_(authorities)
            )
        )
    # Records sent again (moved authority, corrected, died, aged out) replace the old row.
    # Nothing to replace when the board has no records left (a full extract just cleared
    # them): skip shipping every record_id to the database.
    if session.scalar(select(exists().where(HealthRecord.lhb_code == lhb))):
        record_ids = [record.record_id for record in [*retained, *leaving]]
        delete_health_records(session, lhb_code=lhb, record_ids=record_ids)
    submission_id = str(submission.submission_id)
    bulk_insert(session, HealthRecord, (health_record_row(lhb, submission_id, r) for r in retained))
