"""Weighted draws that stay fast at benchmark scale (hundreds of thousands of records)."""

from collections.abc import Mapping
from random import Random
from typing import Generic, TypeVar

T = TypeVar("T")


class WeightedChoice(Generic[T]):
    """Draws values in proportion to integer weights.

    The weights are expanded once into a lookup table so that each draw is a single
    `Random.choice`, several times faster than `Random.choices` called per record.
    """

    def __init__(self, weights: Mapping[T, int]) -> None:
        if not weights or any(weight < 1 for weight in weights.values()):
            raise ValueError("weights must be positive integers, and at least one is needed")
        self.values: tuple[T, ...] = tuple(weights)
        self._table: tuple[T, ...] = tuple(
            value for value, weight in weights.items() for _ in range(weight)
        )

    def pick(self, rng: Random) -> T:
        return rng.choice(self._table)


def chosen_indices(rng: Random, *, count: int, share: float) -> frozenset[int]:
    """Exactly round(count * share) distinct indices below count, so shares are predictable
    in tests and benchmarks rather than only on average."""
    return frozenset(rng.sample(range(count), round(count * share)))
