"""An authority's education records: replaced whole on each upload, all or nothing.

The records are the authority's working set for the next reconciliation, which deletes
them once consumed (only a case's own copy of what it needs stays).

An upload is read once, a part at a time (JSON as it comes, CSV as the JSON document it
stands for): its records are validated and stored a batch at a time in the request's
transaction, in place of the set they replace, so memory stays flat however large the body
and any problem found later refuses (and rolls back) the whole of it.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Literal

from pydantic import TypeAdapter
from sqlalchemy import delete
from sqlalchemy.orm import Session

from schemas.education import (
    MAX_EDUCATION_RECORDS,
    EducationRecordIn,
    EducationRecordsEnvelope,
    EducationRecordsIn,
    EducationRecordsReceipt,
)
from services import audit
from services.caller import Caller
from services.errors import ValidationFailed
from services.intake.education_csv import csv_as_json
from services.intake.received import ReceivedBody
from services.intake.records import education_record_row
from services.intake.rules import UploadRules, parse_upload
from services.intake.scan import NotAnObject
from services.intake.streamed import UploadShape, UploadStream
from services.reconciliation.queue import enqueue_if_ready
from services.store.bulk import RowStream
from services.store.tables import EducationRecord, EducationSet

MediaType = Literal["json", "csv"]
_RULES = UploadRules(date_field="as_of")
_RECORDS = TypeAdapter(list[EducationRecordIn])


def replace_education_records(
    *,
    session: Session,
    la_code: str,
    caller: Caller,
    body: ReceivedBody,
    media_type: MediaType,
    charset: str | None = None,
) -> EducationRecordsReceipt:
    """`body`: the upload as spooled on arrival. `charset`: the CSV's encoding as its
    Content-Type declares it (default UTF-8)."""
    parts = body.parts()
    shape = UploadShape(
        _RECORDS, EducationRecordsEnvelope, EducationRecordsIn, MAX_EDUCATION_RECORDS
    )
    stream = UploadStream(
        parts if media_type == "json" else csv_as_json(parts, charset=charset),
        shape=shape,
        rules=_RULES,
    )
    by_provision: Counter[str] = Counter()
    # The old set goes first: the new one is copied in as it is read, and a refusal rolls
    # both back.
    session.execute(delete(EducationRecord).where(EducationRecord.la_code == la_code))
    with RowStream(session, EducationRecord) as rows:
        try:
            for batch in stream.batches():
                by_provision.update(record.provision for record in batch)
                rows.add(education_record_row(la_code, record) for record in batch)
        except NotAnObject:
            parse_upload(EducationRecordsIn, body.read_all(), rules=_RULES)  # words it
            raise ValidationFailed([]) from None  # pragma: no cover - never validates
        upload = stream.finish()
        rows.pause()
    record_count = stream.record_count
    received_at = datetime.now(UTC)
    education_set = session.get(EducationSet, la_code)
    if education_set is None:
        education_set = EducationSet(la_code=la_code)
        session.add(education_set)
    education_set.as_of = upload.as_of
    education_set.received_at = received_at
    education_set.client_id = caller.client_id or "operator"
    education_set.record_count = record_count
    education_set.records_by_provision = dict(sorted(by_provision.items()))
    education_set.consumed_at = None
    session.flush()  # the queue below must see this upload
    audit.record(
        session=session,
        caller=caller,
        action="education_records.replaced",
        object_type="local_authority",
        object_ids=[la_code],
        record_count=record_count,
    )
    job = enqueue_if_ready(session=session, la_code=la_code, trigger="education_records")
    return EducationRecordsReceipt(
        la_code=la_code,
        as_of=upload.as_of,
        record_count=record_count,
        records_by_provision=education_set.records_by_provision,
        reconciliation_id=None if job is None else job.reconciliation_id,
    )
