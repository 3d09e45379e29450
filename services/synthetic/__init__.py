"""Deterministic synthetic Welsh children for tests, benchmarks and `cme push` demos.

Every name, address and NHS number is made up (NHS numbers from the never-issued 999
range); the same seed always gives the same records.
"""

from services.synthetic.health import build_submission, generate_health_records
from services.synthetic.places import (
    LOCAL_AUTHORITY_AREAS,
    LocalAuthorityArea,
    local_authority_codes,
)

__all__ = [
    "LOCAL_AUTHORITY_AREAS",
    "LocalAuthorityArea",
    "build_submission",
    "generate_health_records",
    "local_authority_codes",
]
