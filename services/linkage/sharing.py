"""Model parameters trained by one run and reused by the runs that follow it.

Training (u by sampling, m by EM) costs about a second whatever the list size, while
what it estimates (how often the same child, or two different children, agree on each
field) is a property of how Welsh records are kept, not of one authority's list. So a
worker trains on the first run that is large enough, keeps the parameters for a bounded
time (`max_age_seconds`), and every later run in that time only scores. A change to the
comparisons, the shipped prior or the training settings changes the model version, and
parameters of another version are never reused.

What stays per run: the prior odds (two random records of a run match with a probability
that depends on its list sizes) and the term frequencies of its names. Given the same
parameters and the same records, a run's result is the same.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: A day: long enough for a whole overnight exchange, short enough that the parameters
#: follow the records as they drift.
DEFAULT_MAX_AGE_SECONDS = 24 * 60 * 60


@dataclass(frozen=True, slots=True)
class _Entry:
    version: str
    trained_at: float
    parameters: Mapping[str, Any]


class SharedParameters:
    """A slot for one model version's trained parameters, safe to share between threads."""

    def __init__(
        self,
        *,
        max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_age_seconds, self._clock = max_age_seconds, clock
        self._lock = threading.Lock()
        self._entry: _Entry | None = None

    def get(self, version: str) -> Mapping[str, Any] | None:
        """The parameters of `version`, if trained less than `max_age_seconds` ago."""
        with self._lock:
            entry = self._entry
        if entry is None or entry.version != version:
            return None
        if self._clock() - entry.trained_at >= self.max_age_seconds:
            return None
        return entry.parameters

    def put(self, version: str, parameters: Mapping[str, Any]) -> None:
        with self._lock:
            self._entry = _Entry(version, self._clock(), parameters)
