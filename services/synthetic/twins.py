"""Twins: the hardest honest case for linkage.

Same surname, birthday, address and GP practice; only the given names (and the NHS
numbers, which schools seldom hold) tell them apart. The engine must link each to their
own education record, never both to one.
"""

from __future__ import annotations

import copy
from random import Random
from typing import Any

from services.synthetic.errors import same_given_name
from services.synthetic.names import pick_given_name
from services.synthetic.recording_errors import similar_twin_name


def make_twins(
    rng: Random,
    health_records: list[dict[str, Any]],
    *,
    at_school: list[int],
    share: float,
    similar_names: float = 0.0,
) -> dict[str, str]:
    """Turn pairs of schoolchildren (indices `at_school`) into twins, so that about `share`
    of all children are twins; returns each twin's twin, by record_id. A share
    `similar_names` of pairs get names that look or sound alike, or two forms of one name
    (Ffion and Fflur, Harri and Harry); the others never share a name or a form of one."""
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
        similar = similar_twin_name(rng, first["given_name"]) if similar_names > 0 else None
        if similar is not None and rng.random() < similar_names:
            second["given_name"] = similar
        else:
            _unlike_names(rng, first, second)
        second["former_names"] = [
            {"given_name": second["given_name"], "family_name": former["family_name"]}
            for former in first["former_names"]
        ]
        twin_of[first["record_id"]] = second["record_id"]
        twin_of[second["record_id"]] = first["record_id"]
    return twin_of


def _unlike_names(rng: Random, first: dict[str, Any], second: dict[str, Any]) -> None:
    """Never the same name, nor two forms of one name."""
    while same_given_name(first["given_name"], second["given_name"]):
        second["given_name"] = pick_given_name(rng, sex=second["sex"], welsh=rng.random() < 0.5)
