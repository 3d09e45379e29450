"""What the browser tests' console holds: two officers of one authority, registered with
`cme officers add`, and one case per test that needs its own, opened by a reconciliation
of a synthetic health extract (999 NHS numbers) through the API, plus a possible match."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cli.client import Service
from cli.reconciliations import wait_for_run
from services.store.db import make_engine, session_factory
from tests.cli import cme
from tests.factories import (
    education_record,
    encode,
    health_record,
    make_case,
    nhs_number,
    submission_body,
)

LA = "W06000015"  # Cardiff
LHB = "7A4"  # Cardiff and Vale


@dataclass(frozen=True)
class Officer:
    subject: str
    name: str
    sensitive: bool


def add_officer(officer: Officer) -> None:
    """`cme officers add`, as an authority's administrator runs it."""
    options = ["--sensitive"] if officer.sensitive else []
    added = cme(
        "officers",
        "add",
        "--la",
        LA,
        "--subject",
        officer.subject,
        "--name",
        officer.name,
        *options,
        "--json",
    )
    assert added.exit_code == 0, added.output
    registered = json.loads(added.stdout)
    assert (registered["la"], registered["subject"]) == (LA, officer.subject)


OFFICERS = {
    "plain": Officer(subject="officer-plain@cardiff.example", name="Siân Evans", sensitive=False),
    "cleared": Officer(
        subject="officer-cleared@cardiff.example", name="Gareth Morgan", sensitive=True
    ),
}

# One child per role (and name); each test that changes a case has a case of its own.
_CHILDREN = {
    "e2e": ("Cerys", "Pritchard"),
    "conflict": ("Dylan", "Bowen"),
    "keyboard": ("Elin", "Lloyd"),
    "shown": ("Ffion", "Rees"),
    "sensitive": ("Gethin", "Vaughan"),
}


def _health_records() -> list[dict[str, Any]]:
    records = []
    for index, (role, (given_name, family_name)) in enumerate(_CHILDREN.items(), 1):
        record = health_record(
            index,
            record_id=f"browser-{role}",
            nhs_number=nhs_number(4200 + index * 7),
            given_name=given_name,
            family_name=family_name,
            former_names=[],
            date_of_birth=f"2014-0{index}-1{index}",
        )
        if role == "sensitive":
            record.update(sensitive=True, address=None)
        records.append(record)
    return records


def _education_records() -> list[dict[str, Any]]:
    """A child at school whom no health record names: the run's summary counts it."""
    return [
        education_record(1, record_id="upn-browser-1", given_name="Iolo", family_name="Watkins")
    ]


# A possible match as reconciliation leaves one. Made with the suite's factory: the linkage
# model is too sure of any small synthetic pair to leave one in the review band.
REVIEW_CANDIDATES = [
    {
        "education_record_id": "upn-review-1",
        "provision": "maintained_school",
        "match_probability": 0.81,
        "agreement": {
            "given_name": "exact",
            "family_name": "exact",
            "date_of_birth": "exact",
            "sex": "exact",
            "postcode": "different",
        },
        "ehe_suitability": None,
        "match_weights": {
            "prior": -9.2,
            "given_name": 6.1,
            "family_name": 7.4,
            "date_of_birth": 8.3,
            "sex": 0.9,
            "postcode": -4.6,
        },
    },
    {
        "education_record_id": "upn-review-2",
        "provision": "ehe",
        "match_probability": 0.57,
        "agreement": {
            "given_name": "equivalent",
            "family_name": "exact",
            "date_of_birth": "exact",
            "sex": "exact",
            "postcode": "exact",
        },
        "ehe_suitability": "assured",
        "match_weights": {
            "prior": -9.2,
            "given_name": 2.2,
            "family_name": 7.4,
            "date_of_birth": 8.3,
            "sex": 0.9,
            "postcode": 6.0,
        },
    },
]


def review_case(database_url: str, *, record_id: str) -> str:
    """A possible match of the health record `record_id` with both REVIEW_CANDIDATES."""
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as session:
            case = make_case(
                session,
                la_code=LA,
                reason="possible_match_needs_review",
                candidates=REVIEW_CANDIDATES,
                source_lhb_code=LHB,
                source_record_id=record_id,
                child={
                    "given_name": "Hafwen",
                    "family_name": "Thomas",
                    "sex": "F",
                    "nhs_number": None,
                },
            )
            return str(case.case_id)
    finally:
        engine.dispose()


def seed(console_url: str, client_id: str, key: Path, board_id: str, board_key: Path) -> str:
    """A health extract pushed and education records uploaded through the API; the
    reconciliation they queue opens one case per role. Returns the reconciliation id."""
    body = encode(submission_body(_health_records(), lhb_code=LHB))
    with Service(base_url=console_url, client_id=board_id, key_file=board_key) as board:
        pushed = board.request(
            "POST",
            "/v1/submissions",
            content=body,
            headers={"Content-Type": "application/json", "X-JWS-Signature": board.sign(body)},
        )
        assert pushed.status_code in (200, 201, 202), pushed.text
    with Service(base_url=console_url, client_id=client_id, key_file=key) as authority:
        uploaded = authority.request(
            "PUT",
            f"/v1/local-authorities/{LA}/education-records",
            content=encode({"as_of": "2026-01-20", "records": _education_records()}),
            headers={"Content-Type": "application/json"},
        )
        assert uploaded.status_code == 200, uploaded.text
        run_id = str(uploaded.json()["reconciliation_id"])
        run = wait_for_run(authority, la=LA, reconciliation_id=run_id)
        assert run["status"] == "succeeded", run
    return run_id


def cases_by_role(console_url: str, client_id: str, key: Path) -> dict[str, str]:
    with Service(base_url=console_url, client_id=client_id, key_file=key) as authority:
        listed = authority.request(
            "GET", f"/v1/local-authorities/{LA}/cme-cases", params={"limit": 100}
        )
        assert listed.status_code == 200, listed.text
    by_record = {case["source"]["record_id"]: case["case_id"] for case in listed.json()["items"]}
    cases = {role: by_record.get(f"browser-{role}") for role in _CHILDREN}
    missing = [role for role, case_id in cases.items() if case_id is None]
    assert not missing, f"reconciliation opened no case for {missing}: {sorted(by_record)}"
    return {role: str(case_id) for role, case_id in cases.items()}
