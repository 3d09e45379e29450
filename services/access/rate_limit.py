"""Rate limits: per-client, per-endpoint token buckets, and the token endpoint's own.

Keys are (client, method, route template): walking ids along one path stays in one bucket,
and each client has its own buckets, so one client's throttling never slows another. The
buckets live in the process: with N API processes a client gets up to N times the rate,
which the limits in the README account for.

The token endpoint has no authenticated client yet. Its requests are limited per client
address (the work one address can cause), and its refusals are counted per address and
per claimed client_id, in separate buckets. Refusals are counted only after the assertion
was checked, so a valid assertion is never refused because of anyone's failures: a flood
of junk naming a client cannot lock that client out.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address

MAX_KEYS = 100_000  # unauthenticated keys (addresses) are bounded: oldest are forgotten
# Longer claimed client_ids are cut: real ones are far shorter, and the key stays small.
MAX_CLAIMED_CLIENT_ID = 64

Networks = Sequence[IPv4Network | IPv6Network]


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

    def give_back(self, key: Hashable) -> None:
        """Return the token `take` spent on a request that is then refused for a reason
        that spends none: a token whose grant is found revoked only in the request's own
        read (api/deps.py), so a revoked token never drains its client's bucket."""
        if not self.enabled:
            return
        with self._lock:
            found = self._buckets.get(key)
            if found is not None:
                tokens, last = found
                self._buckets[key] = (min(self.capacity, tokens + 1.0), last)


class TokenEndpointLimits:
    """Refusals at the token endpoint, per client address and per claimed client_id."""

    def __init__(self, *, per_minute: int, burst: int, enabled: bool = True) -> None:
        self._failures = TokenBuckets(per_minute=per_minute if enabled else 0, burst=burst)

    def refused(
        self, *, address: str, claimed_client_id: str | None, now: float | None = None
    ) -> int | None:
        """Count one refused token request; the seconds to wait when either the address or
        the claimed client has failed too often (the refusal then answers 429), else None.

        Both buckets are spent, so a flood spread over many addresses still slows failures
        naming one client, and a flood naming many clients still slows its address.
        """
        waits = [self._failures.take(("address", address), now)]
        if claimed_client_id is not None:
            claimed = claimed_client_id[:MAX_CLAIMED_CLIENT_ID]
            waits.append(self._failures.take(("client", claimed), now))
        refused = [wait for wait in waits if wait is not None]
        return max(refused) if refused else None


def client_address(peer: str | None, forwarded_for: Sequence[str], trusted: Networks) -> str:
    """The address a request came from, believing X-Forwarded-For only from trusted proxies.

    Walks the chain from the TCP peer leftwards while each hop is a trusted proxy; the first
    hop that is not is the client. Entries left of it were written by the client and are
    never believed, so rotating them changes nothing.
    """
    address = peer or "unknown"
    if not trusted or not _is_trusted(address, trusted):
        return address
    hops = [_host(hop) for value in forwarded_for for hop in value.split(",")]
    for hop in reversed(hops):
        if hop is None:
            return address  # a proxy wrote nothing usable: the last trusted hop it is
        address = hop
        if not _is_trusted(hop, trusted):
            return hop
    return address


def _host(hop: str) -> str | None:
    """The IP address of one X-Forwarded-For entry (`ip`, `ipv4:port`, `[ipv6]:port`)."""
    hop = hop.strip()
    if hop.startswith("["):
        hop = hop[1 : hop.find("]")] if "]" in hop else ""
    elif hop.count(":") == 1:
        hop = hop.split(":", 1)[0]
    try:
        return str(ip_address(hop))
    except ValueError:
        return None


def _is_trusted(value: str, trusted: Networks) -> bool:
    try:
        address = ip_address(value)
    except ValueError:
        return False
    return any(address in network for network in trusted)
