"""Ingest of signed health-board submissions: all or nothing, idempotent, minimised.

The caller hands over the body as received (spooled and digested, `ReceivedBody`) and the
detached signature; this module verifies, validates, stores and returns the receipt. It
never commits: the request's one commit happens before the receipt is sent.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from schemas.school_age import compulsory_school_age_birth_dates
from schemas.submissions import (
    HealthRecordIn,
    NotRetained,
    Receipt,
    SubmissionEnvelope,
    SubmissionIn,
)
from services import audit
from services.access.signatures import verify_detached
from services.caller import Caller
from services.cases.notices import close_cases_of_deceased, hide_addresses_of_sensitive
from services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.intake.received import ReceivedBody
from services.intake.records import health_record_row
from services.intake.rules import UploadRules, parse_upload
from services.intake.scan import NotAnObject
from services.intake.streamed import SubmissionStream
from services.reconciliation.queue import enqueue_if_ready
from services.store.bulk import RowStream, delete_health_records
from services.store.tables import HealthRecord, Submission

log = logging.getLogger(__name__)
_RULES = UploadRules(date_field="extracted_at")
# Records whose old rows are deleted at once when a board sends records again.
_REPLACED_AT_ONCE = 2000


@dataclass(frozen=True)
class Outcome:
    receipt: Receipt
    created: bool


def ingest(
    *, session: Session, caller: Caller, body: ReceivedBody, signature: str | None
) -> Outcome:
    """Verify, validate and store one submission spooled in `body`, reading it once: its
    records are stored a batch at a time as they are validated, all in the request's
    transaction, so any problem found later refuses (and rolls back) the whole of it."""
    verify_detached(
        session=session, client_id=caller.client, signature=signature, signed=body.signed
    )
    with RowStream(session, HealthRecord) as rows:
        return _read_and_store(session, caller, body, signature, rows)


def _read_and_store(
    session: Session, caller: Caller, body: ReceivedBody, signature: str | None, rows: RowStream
) -> Outcome:
    stream = SubmissionStream(body.parts(), rules=_RULES)
    loading: _Loading | None = None
    validate_only = False
    try:
        for batch in stream.batches():
            if loading is None and not validate_only:
                # The envelope came first, as senders write it: store while reading.
                claimed = _claim_early(session, caller, stream.envelope, body, signature, rows)
                if isinstance(claimed, Receipt):
                    return Outcome(claimed, created=False)
                loading, validate_only = claimed, claimed is None
            if loading is not None:
                loading.add(batch)
    except NotAnObject:
        parse_upload(SubmissionIn, body.read_all(), rules=_RULES)  # words the refusal
        raise ValidationFailed([]) from None  # pragma: no cover - a non-object never validates
    envelope = stream.finish()
    _check_board(envelope, caller)
    if loading is None:
        # The envelope came after the records (or was refused for now): read them again.
        claimed = _claim(session, caller, envelope, body, signature, rows)
        if isinstance(claimed, Receipt):
            return Outcome(claimed, created=False)
        loading = claimed
        for batch in SubmissionStream(body.parts(), rules=_RULES).batches():
            loading.add(batch)
    return Outcome(loading.finish(caller=caller, body=body), created=True)


def _check_board(envelope: SubmissionEnvelope, caller: Caller) -> None:
    if envelope.lhb_code != caller.org_code:
        raise Forbidden(
            "lhb_code must be the calling client's own health board.", "lhb_code_not_caller"
        )


def _claim_early(
    session: Session,
    caller: Caller,
    envelope: SubmissionEnvelope | None,
    body: ReceivedBody,
    signature: str | None,
    rows: RowStream,
) -> _Loading | Receipt | None:
    """`_claim` before the records are read, or None to read them for their problems only:
    a refusal (403, 409) may only be given once the body is known to have no problems."""
    if (
        envelope is None
        or envelope.lhb_code != caller.org_code
        or not _RULES.plausible(envelope.extracted_at.date())
    ):
        return None
    try:
        return _claim(session, caller, envelope, body, signature, rows)
    except Conflict:
        return None


def _claim(
    session: Session,
    caller: Caller,
    envelope: SubmissionEnvelope,
    body: ReceivedBody,
    signature: str | None,
    rows: RowStream,
) -> _Loading | Receipt:
    """Claim (submission_id, lhb_code) before storing any record, or return the receipt
    of the earlier identical submission. A concurrent identical request waits here on the
    primary key and then answers as a replay instead of storing the records twice."""
    replay = _replay(session, envelope, body.sha256)
    if replay is not None:
        return replay
    row = Submission(
        submission_id=str(envelope.submission_id),
        lhb_code=envelope.lhb_code,
        client_id=caller.client,
        extract_type=envelope.extract_type,
        extracted_at=envelope.extracted_at,
        received_at=datetime.now(UTC),
        body_sha256=body.sha256,
        signature=(signature or "").strip(),
        # Filled in once every record is stored, in the same transaction.
        record_count=0,
        receipt={},
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        replay = _replay(session, envelope, body.sha256)
        if replay is None:  # pragma: no cover - the row that collided cannot vanish
            raise
        return replay
    # Nothing to replace when the board has no records: skip deleting by record_id.
    replacing = bool(session.scalar(select(exists().where(HealthRecord.lhb_code == row.lhb_code))))
    return _Loading(session, envelope, row, rows, replacing=replacing)


class _Loading:
    """A claimed submission's records, stored a validated batch at a time."""

    def __init__(
        self,
        session: Session,
        envelope: SubmissionEnvelope,
        row: Submission,
        rows: RowStream,
        *,
        replacing: bool,
    ) -> None:
        self._session = session
        self._rows = rows
        self._envelope = envelope
        self._row = row
        self._replacing = replacing
        # One date range for the whole extract (the rule is monotonic in the date of birth).
        self._born = compulsory_school_age_birth_dates(envelope.extracted_at.date())
        self._count = 0
        self._by_la: Counter[str] = Counter()
        self._authorities: set[str] = set()
        self._not_school_age = 0
        self._deceased: list[str] = []
        self._sensitive: list[str] = []
        # Replacing: records waiting for their old rows to be deleted (see `_replace`).
        self._sent_again: list[str] = []
        self._waiting: list[HealthRecordIn] = []

    def add(self, records: list[HealthRecordIn]) -> None:
        earliest, latest = self._born
        retained = []
        for record in records:
            self._authorities.add(record.local_authority_code)
            if record.sensitive:
                self._sensitive.append(record.record_id)
            if record.date_of_death is not None:
                self._deceased.append(record.record_id)
            elif not earliest <= record.date_of_birth <= latest:
                self._not_school_age += 1
            else:
                retained.append(record)
                self._by_la[record.local_authority_code] += 1
        self._count += len(records)
        if not self._replacing:
            self._store(retained)
            return
        self._sent_again += [record.record_id for record in records]
        self._waiting += retained
        if len(self._sent_again) >= _REPLACED_AT_ONCE:
            self._replace()

    def _replace(self) -> None:
        """Records sent again (moved authority, corrected, died, aged out) replace the old
        row, which must go before the new one is copied in (one per record_id): one DELETE
        for many validated batches, since each ends the open COPY."""
        if self._sent_again:
            self._rows.pause()
            delete_health_records(
                self._session, lhb_code=self._row.lhb_code, record_ids=self._sent_again
            )
            self._store(self._waiting)
        self._sent_again, self._waiting = [], []

    def _store(self, retained: list[HealthRecordIn]) -> None:
        lhb, submission_id = self._row.lhb_code, self._row.submission_id
        self._rows.add(health_record_row(lhb, submission_id, record) for record in retained)

    def _replace_earlier_submissions(self) -> None:
        """A full extract replaces what the board sent before for the authorities in it.
        The DELETE walks every row of those authorities, the ones just copied in too: a
        board's first extract (no earlier submission) skips it."""
        lhb, submission_id = self._row.lhb_code, self._row.submission_id
        earlier = exists().where(
            Submission.lhb_code == lhb, Submission.submission_id != submission_id
        )
        if self._session.scalar(select(earlier)):
            self._session.execute(
                delete(HealthRecord).where(
                    HealthRecord.lhb_code == lhb,
                    HealthRecord.local_authority_code.in_(sorted(self._authorities)),
                    HealthRecord.submission_id != submission_id,
                )
            )

    def finish(self, *, caller: Caller, body: ReceivedBody) -> Receipt:
        session, row, lhb = self._session, self._row, self._row.lhb_code
        self._replace()
        self._rows.pause()
        if self._envelope.extract_type == "full":
            self._replace_earlier_submissions()
        receipt = Receipt(
            submission_id=row.submission_id,
            lhb_code=lhb,
            status="accepted",
            received_at=row.received_at,
            record_count=self._count,
            body_sha256=row.body_sha256,
            records_by_local_authority=dict(sorted(self._by_la.items())),
            not_retained=NotRetained(
                not_compulsory_school_age=self._not_school_age, deceased=len(self._deceased)
            ),
        )
        row.record_count = self._count
        row.receipt = receipt.model_dump(mode="json")
        row.body_gzip = body.gzip_copy()
        # Every copy of the child's case learns of a death or an S-flag before the 201.
        close_cases_of_deceased(session=session, lhb_code=lhb, record_ids=self._deceased)
        hide_addresses_of_sensitive(session=session, lhb_code=lhb, record_ids=self._sensitive)
        for la_code in self._by_la:
            enqueue_if_ready(session=session, la_code=la_code, trigger="submission")
        audit.record(
            session=session,
            caller=caller,
            action="submission.received",
            object_type="submission",
            object_ids=[receipt.submission_id],
            record_count=self._count,
        )
        log.info(
            "submission stored",
            extra={
                "submission_id": receipt.submission_id,
                "lhb_code": lhb,
                "records": self._count,
                "retained": sum(self._by_la.values()),
            },
        )
        return receipt


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


def _replay(session: Session, submission: SubmissionEnvelope, digest: str) -> Receipt | None:
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
