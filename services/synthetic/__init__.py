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
    TRULY_MISSING,
    TRUTH_CATEGORIES,
    ChildTruth,
    Population,
    TruthCategory,
    generate_population,
)

__all__ = [
    "ERROR_TYPES",
    "LOCAL_AUTHORITY_AREAS",
    "TRULY_MISSING",
    "TRUTH_CATEGORIES",
    "ChildTruth",
    "ErrorType",
    "LocalAuthorityArea",
    "Population",
    "TruthCategory",
    "build_submission",
    "generate_health_records",
    "generate_population",
    "local_authority_codes",
]
