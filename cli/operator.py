"""Operator commands: retention, data-subject rights, overdue transfers.

They act on CME_DATABASE_URL directly, each in one transaction, and are audited.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from cli.console import fail
from cli.database import database
from services.cases import transfers
from services.errors import ServiceError
from services.governance import retention
from services.settings import get_settings
from services.store.db import clear_deleted_residue, session_factory, transaction

err = Console(stderr=True)


@contextmanager
def operator_transaction(*, deletes_personal_data: bool = False) -> Iterator[Session]:
    """One unit of work on CME_DATABASE_URL (checked first); the engine is closed afterwards.
    When it deletes children's details, the database's other copies of them are cleared
    after the commit (write-ahead log, dead rows)."""
    with database() as engine:
        try:
            with transaction(session_factory(engine)) as session:
                yield session
        except ServiceError as error:
            raise fail(f"{error.code}: {error.detail}") from None
        if deletes_personal_data:
            clear_deleted_residue(engine)


def subject_access(
    la: Annotated[str, typer.Option(help="The authority's GSS code.")],
    nhs_number: Annotated[str | None, typer.Option(help="The child's NHS number.")] = None,
    record_id: Annotated[str | None, typer.Option(help="The health board's record_id.")] = None,
) -> None:
    """Print everything held about one child in one authority, and who accessed it (JSON)."""
    if nhs_number is None and record_id is None:
        raise typer.BadParameter("give --nhs-number or --record-id")
    with operator_transaction() as session:
        report = retention.subject_access(
            session=session, la_code=la, nhs_number=nhs_number, record_id=record_id
        )
    sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


def erase(case_id: Annotated[str, typer.Option(help="The case to erase.")]) -> None:
    """Erase a case and everything derived from it (UK GDPR art. 17, where it applies)."""
    with operator_transaction(deletes_personal_data=True) as session:
        retention.erase(session=session, case_id=case_id)
    err.print(f"erased case {case_id}")


def restrict(
    case_id: Annotated[str, typer.Option(help="The case to restrict.")],
    lift: Annotated[bool, typer.Option(help="Lift the restriction instead.")] = False,
) -> None:
    """Restrict processing of a case (UK GDPR art. 18): kept, but shown to no one."""
    with operator_transaction() as session:
        retention.restrict(session=session, case_id=case_id, restricted=not lift)
    err.print(f"{'lifted restriction on' if lift else 'restricted'} case {case_id}")


def purge(
    retention_days: Annotated[
        int | None, typer.Option(help="Keep closed cases this many days (default from settings).")
    ] = None,
) -> None:
    """Delete raw bodies no longer needed and closed cases past the retention period."""
    days = retention_days or get_settings().case_retention_days
    with operator_transaction(deletes_personal_data=True) as session:
        counts = retention.purge(session=session, retention_days=days)
    sys.stdout.write(json.dumps(counts) + "\n")


def overdue_transfers() -> None:
    """Authorities with moves not acted on within 28 days (counts only)."""
    with operator_transaction() as session:
        counts = transfers.overdue_counts(session=session)
    table = Table("local authority", "Welsh hand-overs unread", "England transfers unexported")
    for la, row in counts.items():
        table.add_row(
            la, str(row["welsh_handovers_unread"]), str(row["england_transfers_unexported"])
        )
    Console().print(table if counts else "no overdue transfers")
