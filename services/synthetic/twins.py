"""Twins: the hardest honest case for linkage.

Same surname, birthday, address and GP practice; only the given names (and the NHS
numbers, which schools seldom hold) tell them apart. The engine must link each to their
own education record, never both to one.
"""

from __future__ import annotations

import copy
from random import Random
from typing import Any

from services.linkage.names import canonical_given_name, fold
from services.synthetic.names import pick_given_name


def make_twins(
    rng: Random, health_records: list[dict[str, Any]], *, at_school: list[int], share: float
) -> dict[str, str]:
    """Turn pairs of schoolchildren (indices `at_school`) into twins, so that about `share`
    of all children are twins; returns each twin's twin, by record_id."""
    pairs = round(len(health_records) * share / 2)
    chosen = rng.sample(at_school, min(pairs * 2, len(at_school) // 2 * 2))
    twin_of: dict[str, str] = {}
    for first_index, second_index in zip(chosen[::2], chosen[1::2], strict=True):
        first, second = health_records[first_index], health_records[second_index]
        for field in ("family_name", "date_of_birth", "gp_practice_code"):
            second[field] = first[field]
        if "address" in first:
            second["address"] = copy.deepcopy(first["address"])
        else:
            second.pop("address", None)
        second["sensitive"] = first["sensitive"]
        # Twins are never given the same name, nor two forms of one name.
        first_key = canonical_given_name(fold(first["given_name"]))
        while canonical_given_name(fold(second["given_name"])) == first_key:
            second["given_name"] = pick_given_name(rng, sex=second["sex"], welsh=rng.random() < 0.5)
        second["former_names"] = [
            {"given_name": second["given_name"], "family_name": former["family_name"]}
            for former in first["former_names"]
        ]
        twin_of[first["record_id"]] = second["record_id"]
        twin_of[second["record_id"]] = first["record_id"]
    return twin_of
