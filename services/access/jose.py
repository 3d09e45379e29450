"""The JOSE algorithm registry every signature check goes through.

One algorithm per check, chosen from the contract's allow-list and matched to the key
type beforehand. EdDSA is in the contract (SPEC.md); joserfc warns that RFC 9864
deprecates the *name* in favour of "Ed25519", which is exactly what our keys are (the key
policy admits Ed25519 only), so the warning says nothing about our use and is not raised.
"""

from __future__ import annotations

from joserfc._rfc7515.model import JWSAlgModel  # not re-exported by joserfc.jws
from joserfc.errors import UnsupportedAlgorithmError
from joserfc.jws import JWSRegistry

from services.access.keys import SIGNING_ALGORITHMS


class ContractRegistry(JWSRegistry):
    def get_alg(self, name: str) -> JWSAlgModel:
        if not self.allowed or name not in self.allowed or name not in self.algorithms:
            raise UnsupportedAlgorithmError(f"Algorithm {name!r} is not allowed")
        return self.algorithms[name]


def registry_for(alg: str, *, max_payload_bytes: int | None = None) -> ContractRegistry:
    if alg not in SIGNING_ALGORITHMS:
        raise UnsupportedAlgorithmError(f"Algorithm {alg!r} is not allowed")
    registry = ContractRegistry(algorithms=[alg])
    if max_payload_bytes is not None:
        # The default cap (128 kB) is for tokens; bodies are capped where they are read.
        registry.max_payload_length = max_payload_bytes
    return registry
