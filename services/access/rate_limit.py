"""Per-client, per-endpoint token buckets.

Keys are (client, method, route template): walking ids along one path stays in one bucket,
and each client has its own buckets, so one client's throttling never slows another. The
buckets live in the process: with N API processes a client gets up to N times the rate,
which the limits in the README account for.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable

MAX_KEYS = 100_000  # unauthenticated keys (addresses) are bounded: oldest are forgotten


class TokenBuckets:
    def __init__(self, *, per_minute: int, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(max(burst, 1))
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, key: Hashable, now: float | None = None) -> int | None:
        """Spend one token; None when allowed, else the seconds to wait (Retry-After)."""
        if not self.enabled:
            return None
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > MAX_KEYS:
                self._buckets.popitem(last=False)
        return None if allowed else max(1, math.ceil((1.0 - tokens) / self.rate))
