"""A case's own copy of the child: exactly what the case shows, and its fingerprint.

The health record a case came from is deleted when the reconciliation finishes, so the
case keeps this copy. The fingerprint tells a later run whether the child's details
changed (a closed case reopens only then; a remembered review answer holds only until then).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from schemas.cases import ChildCorrection

Child = dict[str, Any]


def child_details(row: Mapping[Any, Any]) -> Child:
    """The child as a case shows it; a sensitive child never has an address here."""
    address = None
    if not row["sensitive"] and row["postcode"] is not None:
        address = {
            "lines": list(row["address_lines"] or []),
            "postcode": row["postcode"],
            "last_known": bool(row["address_last_known"]),
        }
    return {
        "given_name": row["given_name"],
        "middle_names": row["middle_names"],
        "family_name": row["family_name"],
        "former_names": list(row["former_names"] or []),
        "date_of_birth": row["date_of_birth"].isoformat(),
        "sex": row["sex"],
        "address": address,
        "nhs_number": row["nhs_number"],
    }


def fingerprint(child: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(child, sort_keys=True).encode()).hexdigest()


def corrected(child: Mapping[str, Any], correction: ChildCorrection) -> Child:
    """The child with an officer's rectification applied: only the fields it names."""
    updated: Child = dict(child)
    for name in correction.model_fields_set:
        value = getattr(correction, name)
        if name == "former_names":
            value = [
                {"given_name": n.given_name, "family_name": n.family_name} for n in value or []
            ]
        elif name == "address" and value is not None:
            value = value.model_dump()
        elif name == "date_of_birth" and value is not None:
            value = value.isoformat()
        updated[name] = value
    return updated
