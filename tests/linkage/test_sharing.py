"""Parameters trained by one run, reused by the runs after it."""

from __future__ import annotations

import pytest

from services.linkage import LinkageResult, LinkageSettings, link
from services.linkage import scoring as scoring_module
from services.linkage.prior import synthetic_population
from services.linkage.scoring import model_version
from services.linkage.sharing import SharedParameters

# Small lists, trained all the same, so the tests stay fast.
SETTINGS = LinkageSettings(min_records_for_training=500)


def links(result: LinkageResult) -> dict[str, str | None]:
    return {
        o.health_record_id: o.match.education_record_id if o.match else None
        for o in result.outcomes
    }


def test_parameters_are_kept_for_one_model_version_and_a_bounded_time() -> None:
    now = [0.0]
    shared = SharedParameters(max_age_seconds=60, clock=lambda: now[0])
    shared.put("v1", {"comparisons": []})

    assert shared.get("v1") == {"comparisons": []}
    assert shared.get("v2") is None  # other comparisons or prior: train again
    now[0] = 60.0
    assert shared.get("v1") is None  # too old: train again


def test_the_model_version_follows_what_training_depends_on() -> None:
    assert model_version(SETTINGS) == model_version(LinkageSettings(min_records_for_training=9))
    assert model_version(SETTINGS) != model_version(LinkageSettings(seed=1))


def test_runs_sharing_parameters_train_once_and_link_as_if_each_had_trained(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = synthetic_population(1_500, seed=11)
    second = synthetic_population(1_500, seed=12)
    trained = []
    real_train = scoring_module.train

    def counting_train(*args: object, **kwargs: object) -> object:
        trained.append(1)
        return real_train(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(scoring_module, "train", counting_train)
    settings = LinkageSettings(min_records_for_training=500, shared=SharedParameters())

    link(health=first[0], education=first[1], settings=settings)
    reused = link(health=second[0], education=second[1], settings=settings)
    own = link(health=second[0], education=second[1], settings=SETTINGS)

    assert len(trained) == 2  # the first shared run, and the run that trained on its own
    ours, theirs = links(reused), links(own)
    differing = sum(ours[h] != theirs[h] for h in ours)
    assert differing <= len(ours) * 0.005
    truth = second[2]
    right = sum(ours[h] == truth.get(h) for h in ours if ours[h] is not None)
    assert right / sum(v is not None for v in ours.values()) >= 0.99


def test_the_same_parameters_and_records_give_the_same_result() -> None:
    health, education, _ = synthetic_population(1_500, seed=13)
    settings = LinkageSettings(min_records_for_training=500, shared=SharedParameters())

    trained_here = link(health=health, education=education, settings=settings)
    from_shared = link(health=health, education=education, settings=settings)

    assert from_shared == trained_here
