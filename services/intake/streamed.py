"""An upload (a submission, an authority's education records) validated a part at a time:
its envelope, then its records in batches.

Each record is validated strictly by pydantic from its own JSON text, a batch at a time,
so memory stays flat however many records a body carries. What must be kept for the
whole upload is small and per record: its record_id (to find repeats on the way) and its
date of birth (judged against the upload's date once every record has been read).

Every problem is reported as if the body had been validated whole: the same codes, the
same pointers (`/records/N/...`), at most `MAX_PROBLEMS` of them from validation.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from itertools import islice
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from schemas.problems import error_code, field_errors
from schemas.submissions import HealthRecordIn, SubmissionEnvelope, SubmissionIn
from services.errors import FieldError, ValidationFailed
from services.intake.rules import UploadRules, duplicate_record_id, raw_date, raw_text
from services.intake.scan import Member, malformed, scan_upload
from services.intake.slabs import Slab

BATCH = 100
MAX_PROBLEMS = 1000
_RECORDS = TypeAdapter(list[HealthRecordIn])
_NO_DATE = 0
_NOT_JSON = frozenset({"json_invalid", "json_type"})


class _Keyed(Protocol):
    @property
    def record_id(self) -> str: ...
    @property
    def date_of_birth(self) -> date: ...


RecordT = TypeVar("RecordT", bound=_Keyed)
EnvelopeT = TypeVar("EnvelopeT", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class UploadShape(Generic[RecordT, EnvelopeT]):
    """What tells one kind of upload from another: its records, its other fields (the
    envelope) and the whole model, which words what is wrong with an upload without
    records. `max_records`: more are refused as the whole model refuses them."""

    records: TypeAdapter[list[RecordT]]
    envelope: type[EnvelopeT]
    whole: type[EnvelopeT]
    max_records: int | None = None


class UploadStream(Generic[RecordT, EnvelopeT]):
    """Reads an upload body once. Iterate `batches()`, then call `finish()`."""

    def __init__(
        self,
        parts: Iterable[bytes],
        *,
        shape: UploadShape[RecordT, EnvelopeT],
        rules: UploadRules,
    ) -> None:
        self._scan = scan_upload(parts, array="records", slab_size=BATCH)
        self._shape = shape
        self._rules = rules
        self._members: list[Member] = []
        self._count = 0
        self._seen_ids: set[str] = set()
        self._repeated: list[int] = []  # indexes of records whose record_id came before
        self._births = array("l")
        self._problems: list[FieldError] = []
        # The envelope, once it is known to be valid (when it comes before the records).
        self.envelope: EnvelopeT | None = None

    @property
    def record_count(self) -> int:
        return self._count

    def batches(self) -> Iterator[list[RecordT]]:
        """Valid records, a batch at a time, while nothing is wrong; after the first problem
        the rest is read for its problems only. Raises ValidationFailed for malformed JSON
        or a repeated key, scan.NotAnObject for a body that is not a JSON object."""
        texts: list[str] = []
        facts: list[tuple[Any, Any]] = []
        for item in self._scan:
            if isinstance(item, Member):
                self._members.append(item)
                continue
            if isinstance(item, Slab):
                yield from self._slab(item)
                continue
            if item.index == 0:
                self.envelope = self._envelope_so_far()
            texts.append(item.text)
            raw = item.raw
            facts.append(
                (raw.get("record_id"), raw.get("date_of_birth"))
                if isinstance(raw, dict)
                else (None, None)
            )
            if len(texts) == BATCH:
                yield from self._validated(item.index + 1 - len(texts), texts, facts)
                texts, facts = [], []
        if texts:
            yield from self._validated(self._count, texts, facts)

    def finish(self) -> EnvelopeT:
        """The valid envelope, once `batches()` is exhausted; or ValidationFailed with every
        problem found."""
        envelope, problems = self._final_envelope()
        most = self._shape.max_records
        if most is not None and self._count > most:
            # As the whole model words it, in place of its records' own problems.
            self._problems = [_too_many(most, self._count)]
        problems += self._problems
        known = set(problems)
        self._seen_ids.clear()
        # Repeated record_ids were found on the way; the rules judge the dates here, one by
        # one only when some date of birth is after the upload's date.
        upload_date = self._upload_date()
        births = self._births
        if upload_date is not None and max(births, default=_NO_DATE) <= upload_date.toordinal():
            births = array("l")
        facts = ((None, date.fromordinal(born) if born != _NO_DATE else None) for born in births)
        rule_problems = islice(self._rules.check_facts(upload_date, facts), MAX_PROBLEMS)
        repeated = (duplicate_record_id(index) for index in self._repeated)
        problems += [p for p in (*repeated, *rule_problems) if p not in known]
        if problems or envelope is None:
            raise ValidationFailed(problems)
        return envelope

    def _slab(self, slab: Slab) -> Iterator[list[RecordT]]:
        """A slab's records, when they are all valid: otherwise the scanner reads them again
        one by one (left unset, `slab.records` tells it to), and their problems are found
        and worded as for any record read that way."""
        if slab.first == 0:
            self.envelope = self._envelope_so_far()
        try:
            records = self._shape.records.validate_json(slab.text)
        except ValidationError:
            return
        slab.records = len(records)
        self._count += len(records)
        self._keep_valid(slab.first, records)
        # A repeated record_id stops storing at once: its row would collide with the first.
        if not self._problems and not self._repeated:
            yield records

    def _validated(
        self, first: int, texts: list[str], facts: list[tuple[Any, Any]]
    ) -> Iterator[list[RecordT]]:
        """`facts`: each record's raw record_id and date of birth, for when it is invalid."""
        self._count += len(texts)
        try:
            records = self._shape.records.validate_json(("[" + ",".join(texts) + "]").encode())
        except ValidationError as error:
            room = MAX_PROBLEMS - len(self._problems)
            self._problems += [_in_records(p, first) for p in _problems(error, room)]
            self._keep_facts(first, (_raw_facts(*fact) for fact in facts))
            return
        self._keep_facts(first, ((r.record_id, r.date_of_birth) for r in records))
        # A repeated record_id stops storing at once: its row would collide with the first.
        if not self._problems and not self._repeated:
            yield records

    def _keep_valid(self, first: int, records: list[RecordT]) -> None:
        """`_keep_facts` for valid records, a batch at once: only a batch with a repeated
        record_id is gone through one by one, to find which."""
        ids = [record.record_id for record in records]
        if len(set(ids)) < len(ids) or not self._seen_ids.isdisjoint(ids):
            self._keep_facts(first, ((r.record_id, r.date_of_birth) for r in records))
            return
        self._seen_ids.update(ids)
        self._births.extend([record.date_of_birth.toordinal() for record in records])

    def _keep_facts(self, first: int, facts: Iterable[tuple[str | None, date | None]]) -> None:
        seen, births = self._seen_ids, self._births
        for index, (record_id, born) in enumerate(facts, start=first):
            if record_id is None:
                pass
            elif record_id not in seen:
                seen.add(record_id)
            elif len(self._repeated) < MAX_PROBLEMS:
                self._repeated.append(index)
            births.append(_NO_DATE if born is None else born.toordinal())

    def _envelope_so_far(self) -> EnvelopeT | None:
        try:
            return self._shape.envelope.model_validate_json(_document(self._members))
        except ValidationError:
            return None  # perhaps only incomplete: judged whole by `finish`

    def _final_envelope(self) -> tuple[EnvelopeT | None, list[FieldError]]:
        has_records = self.record_count > 0
        # Without a non-empty records array, the whole model words the problem with it.
        model = self._shape.envelope if has_records else self._shape.whole
        try:
            return model.model_validate_json(_document(self._members)), []
        except ValidationError as error:
            return None, _problems(error, MAX_PROBLEMS)

    def _upload_date(self) -> date | None:
        for member in self._members:
            if member.key == self._rules.date_field:
                return raw_date({member.key: _json_string(member.text)}, member.key)
        return None


class SubmissionStream(UploadStream[HealthRecordIn, SubmissionEnvelope]):
    """Reads a submission body once. Iterate `batches()`, then call `finish()`."""

    def __init__(self, parts: Iterable[bytes], *, rules: UploadRules) -> None:
        shape = UploadShape(_RECORDS, SubmissionEnvelope, SubmissionIn)
        super().__init__(parts, shape=shape, rules=rules)


def _too_many(most: int, count: int) -> FieldError:
    detail = f"List should have at most {most} items after validation, not {count}"
    return FieldError("/records", error_code("too_long"), detail)


def _raw_facts(record_id: Any, born: Any) -> tuple[str | None, date | None]:
    facts = {"record_id": record_id, "date_of_birth": born}
    return raw_text(facts, "record_id"), raw_date(facts, "date_of_birth")


def _document(members: list[Member]) -> bytes:
    inner = ",".join(f"{json.dumps(member.key)}:{member.text}" for member in members)
    return ("{" + inner + "}").encode()


def _problems(error: ValidationError, limit: int) -> list[FieldError]:
    types = {item["type"] for item in error.errors(include_url=False, include_input=False)}
    if types & _NOT_JSON:
        raise malformed()  # as pydantic reports a body that is not JSON: that alone
    return field_errors(error, limit=max(limit, 0))


def _in_records(problem: FieldError, first: int) -> FieldError:
    # A batch's pointers start at its own index: "/3/given_name" is "/records/N+3/...".
    _, index, *rest = problem.pointer.split("/", 2)
    pointer = "/".join(["/records", str(first + int(index)), *rest])
    return FieldError(pointer, problem.code, problem.detail)


def _json_string(text: str) -> str | None:
    if not text.startswith('"'):
        return None
    value = json.loads(text)
    return value if isinstance(value, str) else None
