"""Record linkage of health records to education records: NHS number, then Fellegi-Sunter.

Pure in-memory: `PersonRecord`s in, a `LinkageResult` out. See `engine.link`.
"""

from services.linkage.engine import link
from services.linkage.models import (
    AGREEMENT_FIELDS,
    AgreementLabel,
    CandidateLink,
    HealthRecordOutcome,
    LinkageResult,
    LinkageSettings,
    LinkMethod,
    OutcomeStatus,
    PersonRecord,
)

__all__ = [
    "AGREEMENT_FIELDS",
    "AgreementLabel",
    "CandidateLink",
    "HealthRecordOutcome",
    "LinkMethod",
    "LinkageResult",
    "LinkageSettings",
    "OutcomeStatus",
    "PersonRecord",
    "link",
]
