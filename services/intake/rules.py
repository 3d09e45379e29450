"""Rules across a whole upload: record ids unique, dates of birth not after the extract's
date, that date plausible.

They are checked on the parsed records; when some record fails validation, on what can be
read of the raw JSON instead, so that every problem comes back in one answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Protocol, cast

from pydantic import ValidationError

from schemas.problems import field_errors
from services.errors import FieldError, ValidationFailed
from services.intake.parsing import Model, is_plausible_moment, refuse_duplicate_keys


class _Record(Protocol):
    @property
    def record_id(self) -> str: ...
    @property
    def date_of_birth(self) -> date: ...


class _Upload(Protocol):
    @property
    def records(self) -> Sequence[_Record]: ...


@dataclass(frozen=True, slots=True)
class UploadRules:
    """`date_field`: the upload's own date (`extracted_at`, `as_of`), which dates of birth
    may not be after."""

    date_field: str

    def check(self, upload: _Upload) -> list[FieldError]:
        facts = ((r.record_id, r.date_of_birth) for r in upload.records)
        return list(self._problems(_as_date(getattr(upload, self.date_field)), facts))

    def check_raw(self, body: bytes) -> list[FieldError]:
        """The same rules on the raw JSON, skipping whatever cannot be read there."""
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return []
        if not isinstance(document, dict) or not isinstance(document.get("records"), list):
            return []
        facts = (
            (raw_text(record, "record_id"), raw_date(record, "date_of_birth"))
            for record in document["records"]
        )
        return list(self._problems(raw_date(document, self.date_field), facts))

    @staticmethod
    def plausible(upload_date: date) -> bool:
        return is_plausible_moment(datetime.combine(upload_date, time(12), UTC))

    def check_facts(
        self, upload_date: date | None, facts: Iterable[tuple[str | None, date | None]]
    ) -> Iterator[FieldError]:
        """The same rules on what could be read of each record (its record_id and date of
        birth, None where unreadable), for uploads read a part at a time."""
        return self._problems(upload_date, facts)

    def _problems(
        self, upload_date: date | None, facts: Iterable[tuple[str | None, date | None]]
    ) -> Iterator[FieldError]:
        if upload_date is not None and not self.plausible(upload_date):
            yield FieldError(
                f"/{self.date_field}",
                f"{self.date_field}_out_of_range",
                "Must lie between 2000 and today.",
            )
            upload_date = None  # dates of birth are judged against it
        seen: set[str] = set()
        for index, (record_id, born) in enumerate(facts):
            if record_id is not None and record_id in seen:
                yield duplicate_record_id(index)
            if record_id is not None:
                seen.add(record_id)
            if upload_date is not None and born is not None and born > upload_date:
                yield FieldError(
                    f"/records/{index}/date_of_birth",
                    "date_of_birth_in_future",
                    f"After the {self.date_field} date.",
                )


def duplicate_record_id(index: int) -> FieldError:
    return FieldError(f"/records/{index}/record_id", "duplicate_record_id", "record_id repeats.")


def _as_date(moment: date | datetime) -> date:
    return moment.date() if isinstance(moment, datetime) else moment


def raw_text(record: Any, name: str) -> str | None:
    value = record.get(name) if isinstance(record, dict) else None
    return value if isinstance(value, str) else None


def raw_date(record: Any, name: str) -> date | None:
    text = raw_text(record, name)
    if text is None:
        return None
    try:
        return _as_date(datetime.fromisoformat(text)) if "T" in text else date.fromisoformat(text)
    except ValueError:
        return None


def parse_upload(model: type[Model], body: bytes, *, rules: UploadRules) -> Model:
    """`parse`, plus the rules across the upload's records, every problem in one answer."""
    refuse_duplicate_keys(body)
    try:
        upload = model.model_validate_json(body)
    except ValidationError as error:
        problems = field_errors(error)
        problems += [p for p in rules.check_raw(body) if p not in problems]
        raise ValidationFailed(problems) from None
    problems = rules.check(cast(_Upload, upload))
    if problems:
        raise ValidationFailed(problems)
    return upload
