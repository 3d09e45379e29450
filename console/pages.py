"""The officer's pages: worklist, case, review, access history, reconciliation runs.

Each calls the same services as the API, as the signed-in officer (`caller_of`): their
authority and clearance filter every query, and every view and change is audited naming
them. A change takes the case's ETag from the form, exactly as the API's `If-Match`: a
stale one shows the conflict page with the case as it is now, and nothing is changed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session as OrmSession

from console import labels
from console.i18n import gettext
from console.labels import N_
from console.web import (
    UNREADABLE,
    ConsoleRoute,
    Db,
    OfficerSession,
    Refusal,
    caller_of,
    render,
    require_csrf,
)
from console.web import (
    language as environment_language,
)
from schemas.cases import CasePatch
from schemas.codes import OUTCOMES
from services.access.officers import SignedIn
from services.caller import Caller
from services.cases import access_history, worklist
from services.cases import outcomes as case_outcomes
from services.cases import queries as cases
from services.cases.wire import case_out
from services.errors import ServiceError
from services.reconciliation import queue
from services.reconciliation.wire import reconciliation_out

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

CaseId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
RunId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
FormText = Annotated[str, Form(max_length=4000)]
FormCode = Annotated[str, Form(max_length=200)]
RUNS_PER_PAGE = 25
ENGLAND = "england"

# The services' refusals of a change, in the officer's words, by code.
_PROBLEMS = {
    ("/outcome", "required"): N_("Choose an outcome."),
    ("/receiving_local_authority", "required"): N_("Choose the authority the child moved to."),
    ("/receiving_local_authority", "not_allowed"): N_(
        "Choose a receiving authority only when the child moved to another authority."
    ),
    ("/receiving_local_authority", "unknown_local_authority"): N_(
        "Choose another Welsh authority, or England."
    ),
    ("", "empty_patch"): N_("Nothing to record: write a note or choose an outcome."),
    ("/review_decision/education_record_id", "unknown_candidate"): N_(
        "Choose one of the records shown, or none of them."
    ),
    ("", "case_closed"): N_("The case is closed already."),
    ("", "not_under_review"): N_("The case is not waiting for a review decision."),
    ("", "child_deceased"): N_("The receiving authority holds this child as deceased."),
}
_FORM_PROBLEMS = {
    "note": N_(
        "The note is too long (2,000 characters at most) or holds characters that cannot be kept."
    ),
    "outcome": N_("Choose an outcome from the list."),
}
_UNEXPECTED = N_("Something in the form was not as expected. Go back and try again.")


def _optional(value: str | None, known: Any) -> str | None:
    """A filter from the query string: empty means none; an unknown code is refused."""
    if not value:
        return None
    if value not in known:
        raise Refusal(400, *UNREADABLE)
    return value


@router.get("/cases")
def worklist_page(
    request: Request,
    session: Db,
    officer: OfficerSession,
    reason: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=16)] = "open",
    clock: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    chosen_status = _optional(status, (*labels.STATUSES, "all")) or "all"
    chosen_reason = _optional(reason, labels.REASONS)
    chosen_clock = _optional(clock, labels.CLOCKS)
    entries = worklist.worklist(
        session=session,
        caller=caller_of(officer),
        status=None if chosen_status == "all" else chosen_status,
        reason=chosen_reason,
        clock=chosen_clock,  # type: ignore[arg-type]
    )
    return render(
        request,
        "worklist.html",
        {
            "entries": entries,
            "filters": {"reason": chosen_reason, "status": chosen_status, "clock": chosen_clock},
            "limit": worklist.MAX_WORKLIST,
        },
    )


def _case_page(
    request: Request,
    session: OrmSession,
    caller: Caller,
    case_id: str,
    *,
    template: str = "case.html",
    status: int = 200,
    **context: Any,
) -> Response:
    case = cases.get_case(session=session, caller=caller, case_id=case_id)
    language = environment_language(request)
    receiving = sorted(
        (code for code in labels.AUTHORITIES if code != caller.org_code),
        key=lambda code: gettext(language, labels.AUTHORITIES[code]),
    )
    return render(
        request,
        template,
        {
            "case": case_out(case),
            "etag": cases.etag(case),
            "clock": worklist.clocks(case, now=datetime.now(UTC)),
            "receiving_authorities": receiving,
            "england": ENGLAND,
            "outcome_codes": OUTCOMES,
            "under_review": case.status == "open" and case.reason == worklist.REVIEW,
            **_review_context(case.candidates, case.child),
            "problems": [],
            "conflict": False,
            "submitted": {},
            **context,
        },
        status=status,
    )


def _review_context(candidates: list[dict[str, Any]], child: dict[str, Any]) -> dict[str, Any]:
    """The candidates side by side with the health record: the fields any of them was
    compared on, the health record's value of each, and match weights where the candidates
    carry them (a mapping of comparison name to log2 Bayes factor, with "prior")."""
    compared = _in_order(name for c in candidates for name in c.get("agreement") or {})
    weights = {c["education_record_id"]: c.get("match_weights") or {} for c in candidates}
    address = child.get("address") or {}
    former = "; ".join(
        " ".join(part for part in (n.get("given_name"), n.get("family_name")) if part)
        for n in child.get("former_names") or []
    )
    health_values = {
        name: child.get(name) or ""
        for name in ("given_name", "middle_names", "family_name", "sex", "nhs_number")
    } | {"postcode": address.get("postcode", ""), "former_names": former}
    return {
        "compared": compared,
        "weights": weights,
        "weight_names": _in_order(name for w in weights.values() for name in w),
        "health_values": health_values,
    }


def _in_order(names: Any) -> list[str]:
    return list(dict.fromkeys(names))


@router.get("/cases/{case_id}")
def case_page(request: Request, session: Db, officer: OfficerSession, case_id: CaseId) -> Response:
    return _case_page(request, session, caller_of(officer), case_id)


@router.get("/cases/{case_id}/review")
def review_page(
    request: Request, session: Db, officer: OfficerSession, case_id: CaseId
) -> Response:
    return _case_page(request, session, caller_of(officer), case_id, template="review.html")


def _change(
    request: Request,
    session: OrmSession,
    officer: SignedIn,
    case_id: str,
    *,
    etag: str,
    fields: dict[str, Any],
    submitted: dict[str, str],
    template: str = "case.html",
) -> Response:
    """Apply one change as the API's PATCH does; a refusal shows the case as it is now,
    with what the officer wrote kept in the form."""
    caller = caller_of(officer)
    again: dict[str, Any] = {"template": template, "submitted": submitted}
    try:
        patch = CasePatch.model_validate(fields)
    except ValidationError as error:
        names = {str(problem["loc"][0]) for problem in error.errors() if problem["loc"]}
        problems = [_FORM_PROBLEMS[name] for name in sorted(names) if name in _FORM_PROBLEMS]
        return _case_page(
            request,
            session,
            caller,
            case_id,
            status=422,
            problems=problems or [_UNEXPECTED],
            **again,
        )
    try:
        case_outcomes.update_case(
            session=session, caller=caller, case_id=case_id, if_match=etag or None, patch=patch
        )
    except ServiceError as error:
        # Nothing of a refused change is kept: a move refused half-way has closed the case
        # in this session already.
        session.rollback()
        if error.status == 404:
            raise
        if error.code in ("precondition_failed", "precondition_required"):
            return _case_page(request, session, caller, case_id, status=409, conflict=True, **again)
        found = [_PROBLEMS.get((e.pointer, e.code)) for e in error.errors]
        found.append(_PROBLEMS.get(("", error.code)))
        problems = [problem for problem in found if problem] or [_UNEXPECTED]
        return _case_page(
            request,
            session,
            caller,
            case_id,
            status=error.status,
            problems=problems,
            **again,
        )
    return RedirectResponse(f"/console/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/outcome")
def record_outcome(
    request: Request,
    session: Db,
    officer: OfficerSession,
    case_id: CaseId,
    outcome: FormCode = "",
    note: FormText = "",
    receiving_local_authority: FormCode = "",
    etag: FormCode = "",
    csrf_token: FormCode = "",
) -> Response:
    require_csrf(request, officer, csrf_token)
    return _change(
        request,
        session,
        officer,
        case_id,
        etag=etag,
        fields={
            "status": "closed",
            "outcome": outcome or None,
            "note": note.strip() or None,
            "receiving_local_authority": receiving_local_authority or None,
        },
        submitted={
            "outcome": outcome,
            "note": note,
            "receiving_local_authority": receiving_local_authority,
        },
    )


@router.post("/cases/{case_id}/note")
def record_note(
    request: Request,
    session: Db,
    officer: OfficerSession,
    case_id: CaseId,
    note: FormText = "",
    etag: FormCode = "",
    csrf_token: FormCode = "",
) -> Response:
    require_csrf(request, officer, csrf_token)
    return _change(
        request,
        session,
        officer,
        case_id,
        etag=etag,
        fields={"note": note.strip() or None},
        submitted={"note_only": note},
    )


@router.post("/cases/{case_id}/review")
def record_review(
    request: Request,
    session: Db,
    officer: OfficerSession,
    case_id: CaseId,
    education_record_id: FormCode = "",
    etag: FormCode = "",
    csrf_token: FormCode = "",
) -> Response:
    require_csrf(request, officer, csrf_token)
    if not education_record_id:
        return _case_page(
            request,
            session,
            caller_of(officer),
            case_id,
            template="review.html",
            status=422,
            problems=[_PROBLEMS[("/review_decision/education_record_id", "unknown_candidate")]],
        )
    chosen = None if education_record_id == "none" else education_record_id
    return _change(
        request,
        session,
        officer,
        case_id,
        etag=etag,
        fields={"review_decision": {"education_record_id": chosen}},
        submitted={"education_record_id": education_record_id},
        template="review.html",
    )


@router.get("/cases/{case_id}/access")
def access_page(
    request: Request, session: Db, officer: OfficerSession, case_id: CaseId
) -> Response:
    accesses = access_history.case_access_history(
        session=session, caller=caller_of(officer), case_id=case_id
    )
    return render(request, "access.html", {"case_id": case_id, "accesses": accesses})


@router.get("/runs")
def runs_page(
    request: Request,
    session: Db,
    officer: OfficerSession,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    page, next_cursor = queue.list_runs(
        session=session, la_code=officer.la_code, limit=RUNS_PER_PAGE, cursor=cursor
    )
    caller = caller_of(officer)
    return render(
        request,
        "runs.html",
        {
            "runs": [reconciliation_out(job, caller=caller) for job in page],
            "next_cursor": next_cursor,
        },
    )


@router.get("/runs/{reconciliation_id}")
def run_page(
    request: Request, session: Db, officer: OfficerSession, reconciliation_id: RunId
) -> Response:
    job = queue.get(session=session, la_code=officer.la_code, reconciliation_id=reconciliation_id)
    return render(request, "run.html", {"run": reconciliation_out(job, caller=caller_of(officer))})
