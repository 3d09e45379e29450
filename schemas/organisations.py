"""Reference data: the 7 health boards, 22 local authorities and the Welsh Government.

Shipped with the project (`schemas/reference/organisations.csv`, copied from the shared
reference list) so that codes are checked without a database round trip.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

OrganisationKind = Literal["lhb", "la", "government"]


@dataclass(frozen=True, slots=True)
class Organisation:
    kind: OrganisationKind
    code: str
    name: str
    education_la_number: str | None
    lhb_code: str | None


@cache
def organisations() -> dict[str, Organisation]:
    text = (Path(__file__).parent / "reference" / "organisations.csv").read_text("utf-8")
    by_code: dict[str, Organisation] = {}
    for row in csv.DictReader(text.splitlines()):
        kind = row["kind"]
        if kind not in ("lhb", "la", "government"):
            raise ValueError(f"unknown organisation kind {kind!r}")
        by_code[row["code"]] = Organisation(
            kind=kind,  # type: ignore[arg-type]  # checked just above
            code=row["code"],
            name=row["name"],
            education_la_number=row["education_la_number"] or None,
            lhb_code=row["lhb_code"] or None,
        )
    return by_code


def organisation(code: str) -> Organisation | None:
    return organisations().get(code)


@cache
def local_authority_codes() -> frozenset[str]:
    return frozenset(o.code for o in organisations().values() if o.kind == "la")


def is_local_authority(code: str) -> bool:
    return code in local_authority_codes()


def is_health_board(code: str) -> bool:
    found = organisation(code)
    return found is not None and found.kind == "lhb"
