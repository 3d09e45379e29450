"""The assured home-education safety net, without a database."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from services.linkage import CandidateLink, HealthRecordOutcome, LinkageResult, PersonRecord
from services.reconciliation.decisions import EducationFacts, decide
from services.reconciliation.safety_net import (
    birth_dates_close,
    plausibly_same_child,
    with_safety_net,
)

# The miss the net is for: a very common name, the birth year keyed one off, a house move.
CHILD = PersonRecord(
    record_id="h-ehe",
    nhs_number="9990000018",
    given_name="Cerys",
    middle_names=None,
    family_name="Jones",
    former_names=(),
    date_of_birth=date(2014, 6, 11),
    sex="F",
    postcode="CF24 3AA",
    address_lines=("40 Heol y Nant",),
)
HOME_EDUCATED = replace(
    CHILD,
    record_id="e-ehe",
    nhs_number=None,
    date_of_birth=date(2013, 6, 11),
    postcode="SA1 1AA",
    address_lines=("2 Stryd Fawr",),
)
ASSURED = {"e-ehe": EducationFacts("ehe", "assured")}


def no_match(*children: PersonRecord) -> LinkageResult:
    return LinkageResult(outcomes=tuple(HealthRecordOutcome(c.record_id) for c in children))


def netted(
    result: LinkageResult,
    health: list[PersonRecord],
    education: list[PersonRecord],
    facts: dict[str, EducationFacts],
) -> LinkageResult:
    return with_safety_net(result, health=health, education=education, facts=facts)


def test_a_child_the_engine_missed_goes_to_an_officer_with_the_assured_ehe_record() -> None:
    result = no_match(CHILD)
    assert decide(result.outcome_for("h-ehe"), ASSURED).reason == "not_found_in_education_records"

    outcome = netted(result, [CHILD], [HOME_EDUCATED], ASSURED).outcome_for("h-ehe")
    decision = decide(outcome, ASSURED)

    assert decision.reason == "possible_match_needs_review"
    assert decision.match is None  # never linked on this evidence
    assert [c.education_record_id for c in decision.candidates] == ["e-ehe"]
    candidate = decision.candidates[0]
    # The engine's own labels, so the officer reads it as any other candidate.
    assert dict(candidate.agreement) == {
        "given_name": "exact",
        "family_name": "exact",
        "date_of_birth": "fuzzy",
        "sex": "exact",
        "postcode": "different",
        "address": "different",
    }
    assert (candidate.match_probability, dict(candidate.match_weights)) == (0.0, {})


def test_a_child_with_another_name_is_still_listed_as_not_found() -> None:
    other = replace(CHILD, record_id="h-other", given_name="Tomos", sex=None)

    outcome = netted(no_match(other), [other], [HOME_EDUCATED], ASSURED).outcome_for("h-other")

    assert decide(outcome, ASSURED).reason == "not_found_in_education_records"


def test_an_ehe_record_linked_to_its_own_child_is_not_offered_to_a_namesake() -> None:
    own = replace(CHILD, record_id="h-own", date_of_birth=date(2013, 6, 11))
    link = CandidateLink("h-own", "e-ehe", 0.99, {}, "probabilistic")
    result = LinkageResult(
        outcomes=(HealthRecordOutcome("h-ehe"), HealthRecordOutcome("h-own", match=link))
    )

    outcome = netted(result, [CHILD, own], [HOME_EDUCATED], ASSURED).outcome_for("h-ehe")

    assert decide(outcome, ASSURED).reason == "not_found_in_education_records"


@pytest.mark.parametrize(
    "facts",
    [EducationFacts("ehe", "not_assured"), EducationFacts("maintained_school")],
    ids=["ehe-not-assured", "school"],
)
def test_only_assured_ehe_records_are_offered(facts: EducationFacts) -> None:
    outcome = netted(no_match(CHILD), [CHILD], [HOME_EDUCATED], {"e-ehe": facts}).outcome_for(
        "h-ehe"
    )

    assert outcome.status == "no_match"


def test_children_the_engine_linked_or_sent_to_review_are_left_as_they_are() -> None:
    school = CandidateLink("h-ehe", "e-school", 0.7, {}, "probabilistic")
    result = LinkageResult(outcomes=(HealthRecordOutcome("h-ehe", review_candidates=(school,)),))

    assert netted(result, [CHILD], [HOME_EDUCATED], ASSURED) is result


@pytest.mark.parametrize(
    ("change", "plausible"),
    [
        ({}, True),
        ({"given_name": "Cerys Mair"}, True),
        ({"given_name": "Mair", "middle_names": "Cerys"}, True),  # known by a middle name
        ({"given_name": "Catrin"}, False),
        ({"family_name": "Davies"}, False),
        ({"family_name": "Davies", "former_names": (("Cerys", "Jones"),)}, True),
        ({"family_name": "Price-Jones"}, False),
        ({"sex": "M"}, False),
        ({"sex": None}, True),
        ({"nhs_number": "9990000026"}, False),  # two children's numbers
        ({"date_of_birth": date(2016, 2, 1)}, False),
        ({"date_of_birth": None}, False),
    ],
)
def test_what_counts_as_plausibly_this_child(change: dict[str, object], plausible: bool) -> None:
    home_educated = replace(HOME_EDUCATED, nhs_number="9990000018")
    assert plausibly_same_child(replace(CHILD, **change), home_educated) is plausible  # type: ignore[arg-type]


def test_a_welsh_and_english_form_of_the_given_name_is_the_same_name() -> None:
    dafydd = replace(CHILD, given_name="Dafydd", sex="M")
    assert plausibly_same_child(dafydd, replace(HOME_EDUCATED, given_name="David", sex="M"))


@pytest.mark.parametrize(
    ("a", "b", "close"),
    [
        ("2014-06-11", "2014-06-11", True),
        ("2014-06-11", "2013-06-11", True),  # a year keyed one off
        ("2020-06-11", "2019-06-11", True),  # a year out, two digits changed
        ("2014-06-11", "2014-06-17", True),  # one digit
        ("2014-06-12", "2014-06-21", True),  # neighbours swapped
        ("2014-06-11", "2014-11-06", True),  # day and month swapped
        ("2014-06-29", "2014-07-02", True),  # three days out
        ("2014-06-28", "2014-07-02", False),
        ("2014-06-11", "2012-07-11", False),
        ("2014-06-11", "2014-07-12", False),
        ("2014-06-11", "2013-06-12", False),
    ],
)
def test_birth_dates_at_most_one_slip_or_three_days_apart(a: str, b: str, close: bool) -> None:
    assert birth_dates_close(date.fromisoformat(a), date.fromisoformat(b)) is close
    assert birth_dates_close(date.fromisoformat(b), date.fromisoformat(a)) is close


def test_no_birth_date_is_no_evidence_of_closeness() -> None:
    assert not birth_dates_close(None, date(2014, 6, 11))
