"""Who is acting: one identity from the edge that authenticated it to the audit trail.

An API client acts with the scopes its access token grants; an officer signed in to the
console acts as a person of their authority; the operator acts at the command line; the
service acts for an authority when it runs that authority's reconciliation. Whatever the
way in, services filter by `org_code` and clearance, and the audit trail names who it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SENSITIVE_CLEARANCE = "cme:sensitive"


@dataclass(frozen=True, slots=True)
class Caller:
    org_code: str | None
    client_id: str | None = None
    # The `sub` of an officer signed in to the console: audit events name the person.
    officer: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    request_id: str | None = None

    @classmethod
    def operator(cls) -> Caller:
        """The operator at the command line: no organisation, no client."""
        return cls(org_code=None)

    @classmethod
    def service_for(cls, org_code: str) -> Caller:
        """The service itself, acting for an organisation (a reconciliation run)."""
        return cls(org_code=org_code)

    @property
    def sees_sensitive(self) -> bool:
        """Clearance for sensitive (S-flagged) children's cases."""
        return SENSITIVE_CLEARANCE in self.scopes

    @property
    def client(self) -> str:
        """The API client acting, for the services only API clients call."""
        if self.client_id is None:
            raise ValueError("this caller is not an API client")
        return self.client_id

    @property
    def org(self) -> str:
        """The caller's organisation, for the services that only organisations call."""
        if self.org_code is None:
            raise ValueError("this caller acts for no organisation")
        return self.org_code
