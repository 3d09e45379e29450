"""The tuning data is mapped as the test data is, and the test data cannot be tuned on."""

from __future__ import annotations

import pytest

from bench.linkage_tuning import TUNING_DATASETS, failures, tuning_case


def test_febrl3_is_mapped_as_febrl4_is() -> None:
    case = tuning_case("febrl3")

    # Each FEBRL3 original with a duplicate is a child; a fifth of the duplicates removed.
    assert len(case.health) == 1_165
    assert len(case.education) == 932
    assert len(case.truly_missing) == 1_165 - 932
    assert all(
        partner is None or partner == child.replace("-org", "-dup-0")
        for child, partner in case.partner.items()
    )
    years = {p.date_of_birth.year for p in case.health if p.date_of_birth is not None}
    assert years <= set(range(2010, 2020))
    assert all(p.sex is None and p.middle_names is None for p in case.health)


@pytest.mark.parametrize("dataset", ["febrl", "febrl4", "independent (test)", "classic"])
def test_test_data_is_refused(dataset: str) -> None:
    assert dataset not in TUNING_DATASETS
    with pytest.raises(SystemExit, match="not tuning data"):
        failures(dataset)
