"""Deterministic synthetic Welsh children for tests, benchmarks and `cme push` demos.

Every name, address and NHS number is made up (NHS numbers from the never-issued 999
range); the same seed always gives the same records.
"""

from services.synthetic.errors import ERROR_TYPES, ErrorType
from services.synthetic.health import build_submission, generate_health_records
from services.synthetic.places import (
    LOCAL_AUTHORITY_AREAS,
    LocalAuthorityArea,
    local_authority_codes,
)
from services.synthetic.population import (
    ERROR_MODELS,
    TRULY_MISSING,
    TRUTH_CATEGORIES,
    ChildTruth,
    ErrorModel,
    Population,
    TruthCategory,
    generate_population,
)
from services.synthetic.recording_errors import (
    RECORDING_ERRORS,
    TEST_SEEDS,
    TUNING_SEEDS,
    RecordingError,
)

__all__ = [
    "ERROR_MODELS",
    "ERROR_TYPES",
    "LOCAL_AUTHORITY_AREAS",
    "RECORDING_ERRORS",
    "TEST_SEEDS",
    "TRULY_MISSING",
    "TRUTH_CATEGORIES",
    "TUNING_SEEDS",
    "ChildTruth",
    "ErrorModel",
    "ErrorType",
    "LocalAuthorityArea",
    "Population",
    "RecordingError",
    "TruthCategory",
    "build_submission",
    "generate_health_records",
    "generate_population",
    "local_authority_codes",
]
