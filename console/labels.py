"""Words for the contract's codes, in the message catalogue.

`N_` only marks a string for extraction (`console/i18n.py` lists it among the keywords);
pages translate the marked string when they show it. A code with no label here is shown
as the code itself, never as an untranslated phrase.
"""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 (gettext's conventional name)
    return message


STATUSES = {"open": N_("Open"), "closed": N_("Closed")}

REASONS = {
    "not_found_in_education_records": N_("Not found in education records"),
    "ehe_suitability_not_assured": N_("Elective home education not assured as suitable"),
    "possible_match_needs_review": N_("Possible match needs review"),
}

OUTCOMES = {
    "registered_at_school": N_("Registered at a school"),
    "suitable_education_assured": N_("Suitable education assured"),
    "moved_to_another_authority": N_("Moved to another authority"),
    "ceased_compulsory_school_age": N_("No longer of compulsory school age"),
    "deceased": N_("Deceased"),
    "not_traced": N_("Not traced"),
    "other": N_("Other"),
}

PROVISIONS = {
    "maintained_school": N_("Maintained school"),
    "independent_school": N_("Independent school"),
    "eotas": N_("Education other than at school"),
    "school_in_england": N_("School in England"),
    "ehe": N_("Elective home education"),
}

AGREEMENT = {
    "exact": N_("Agrees exactly"),
    "fuzzy": N_("Agrees closely (likely a typing error)"),
    "equivalent": N_("Agrees (a variant of the name)"),
    "swapped": N_("Agrees with names swapped"),
    "partial": N_("Agrees in part"),
    "different": N_("Differs"),
    "missing": N_("Missing on one record"),
}

FIELDS = {
    "given_name": N_("Given name"),
    "middle_names": N_("Middle names"),
    "family_name": N_("Family name"),
    "former_names": N_("Former names"),
    "date_of_birth": N_("Date of birth"),
    "sex": N_("Sex"),
    "address": N_("Address"),
    "postcode": N_("Postcode"),
    "nhs_number": N_("NHS number"),
    "upn": N_("Unique pupil number"),
    "prior": N_("Prior (before comparing any field)"),
}

SEXES = {
    "F": N_("Female"),
    "M": N_("Male"),
    "U": N_("Indeterminate"),
    "Z": N_("Not known"),
}

EVENTS = {
    "opened": N_("Case opened"),
    "updated": N_("Details updated by a reconciliation"),
    "reopened": N_("Case reopened"),
    "closed": N_("Case closed"),
    "death_reported": N_("Death reported"),
    "review_settled": N_("Review decision recorded"),
    "details_corrected": N_("Details corrected"),
    "note_recorded": N_("Note recorded"),
    "received": N_("Received from another authority"),
    "transfer_acknowledged": N_("Transfer taken up"),
    "marked_sensitive": N_("Marked sensitive"),
    "restricted": N_("Processing restricted"),
    "restriction_lifted": N_("Restriction lifted"),
}

ACTIONS = {
    "case.listed": N_("Saw the case in a list"),
    "case.read": N_("Viewed the case"),
    "case.updated": N_("Changed the case"),
    "case.access_history_read": N_("Viewed who accessed the case"),
    "case.erased": N_("Erased the case"),
    "case.restricted": N_("Restricted the case"),
    "case.restriction_lifted": N_("Lifted the case's restriction"),
    "subject_access.reported": N_("Reported to the child's family (subject access)"),
}

RUN_STATUSES = {
    "queued": N_("Queued"),
    "running": N_("Running"),
    "succeeded": N_("Succeeded"),
    "failed": N_("Failed"),
}

TRIGGERS = {
    "manual": N_("On request"),
    "education_records": N_("New education records"),
    "submission": N_("New health records"),
}

SUMMARY = {
    "health_records_considered": N_("Health records considered"),
    "health_records_no_longer_of_school_age": N_("Health records not of compulsory school age"),
    "education_records_considered": N_("Education records considered"),
    "matched_by_provision": N_("Matched, by provision"),
    "possible_matches_for_review": N_("Possible matches for review"),
    "cases_opened": N_("Cases opened"),
    "cases_reopened": N_("Cases reopened"),
    "cases_updated": N_("Cases updated"),
    "cases_closed": N_("Cases closed"),
    "cases_open": N_("Cases open"),
    "health_records_deleted": N_("Health records deleted as no longer needed"),
    "education_records_deleted": N_("Education records deleted as no longer needed"),
    "submission_bodies_deleted": N_("Submission bodies deleted"),
}

CLOCKS = {
    "overdue": N_("Overdue"),
    "transfer": N_("Transfers awaiting take-up"),
    "review": N_("Reviews waiting"),
}

# The authorities' names as schemas/reference/organisations.csv gives them in English; the
# Welsh catalogue holds each council's own Welsh name.
AUTHORITIES = {
    "W06000001": N_("Isle of Anglesey"),
    "W06000002": N_("Gwynedd"),
    "W06000003": N_("Conwy"),
    "W06000004": N_("Denbighshire"),
    "W06000005": N_("Flintshire"),
    "W06000006": N_("Wrexham"),
    "W06000023": N_("Powys"),
    "W06000008": N_("Ceredigion"),
    "W06000009": N_("Pembrokeshire"),
    "W06000010": N_("Carmarthenshire"),
    "W06000011": N_("Swansea"),
    "W06000012": N_("Neath Port Talbot"),
    "W06000013": N_("Bridgend"),
    "W06000014": N_("Vale of Glamorgan"),
    "W06000016": N_("Rhondda Cynon Taf"),
    "W06000024": N_("Merthyr Tydfil"),
    "W06000018": N_("Caerphilly"),
    "W06000019": N_("Blaenau Gwent"),
    "W06000020": N_("Torfaen"),
    "W06000021": N_("Monmouthshire"),
    "W06000022": N_("Newport"),
    "W06000015": N_("Cardiff"),
}
