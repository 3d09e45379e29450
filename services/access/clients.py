"""API clients (health boards, local authorities, the Welsh Government) and their keys.

What a client may do is decided here, in the database, at every request: an access token
names the key that obtained it and the client's token generation, so revoking the key or
disabling the client ends the token at once, in every process and across restarts.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, bindparam, select
from sqlalchemy.orm import Session

from schemas.organisations import organisation
from services import audit
from services.access.keys import PublicKey, import_registered_key, key_id, public_jwk
from services.caller import Caller
from services.errors import Conflict, NotFound, ServiceError
from services.store.async_pool import Rows, postgres_sql
from services.store.tables import Client, ClientKey

SCOPES_BY_KIND: dict[str, frozenset[str]] = {
    "lhb": frozenset({"submissions:write", "submissions:read"}),
    "la": frozenset({"education:write", "cme:read", "cme:write", "cme:sensitive"}),
    "government": frozenset({"statistics:read"}),
}
ALL_SCOPES = frozenset().union(*SCOPES_BY_KIND.values())


@dataclass(frozen=True)
class Registration:
    client_id: str
    org: str
    scopes: list[str]
    kid: str

    def as_dict(self) -> dict[str, object]:
        return {
            "client_id": self.client_id,
            "org": self.org,
            "scopes": self.scopes,
            "kid": self.kid,
        }


def register_client(
    *, session: Session, caller: Caller, org: str, name: str, scopes: list[str], key: PublicKey
) -> Registration:
    found = organisation(org)
    if found is None:
        raise ServiceError(f"Unknown organisation code {org!r}.", code="unknown_organisation")
    allowed = SCOPES_BY_KIND[found.kind]
    refused = sorted(set(scopes) - allowed)
    if refused or not scopes:
        raise ServiceError(
            f"Scopes {refused or scopes} cannot be held by a {found.kind} client; "
            f"allowed: {sorted(allowed)}.",
            code="invalid_scope",
        )
    client = Client(
        client_id=f"cli_{secrets.token_urlsafe(12)}",
        org_code=org,
        name=name,
        scopes=sorted(set(scopes)),
        created_at=datetime.now(UTC),
        token_generation=0,
    )
    session.add(client)
    session.flush()
    kid = _add_key(session, client.client_id, key)
    _audit(session, caller, "client.registered", client.client_id, kid)
    return Registration(client.client_id, org, client.scopes, kid)


def add_key(*, session: Session, caller: Caller, client_id: str, key: PublicKey) -> str:
    """A further key (rotation: add the new key, then revoke the old one)."""
    if session.get(Client, client_id) is None:
        raise NotFound(f"No client {client_id}.")
    kid = _add_key(session, client_id, key)
    _audit(session, caller, "client.key_added", client_id, kid)
    return kid


def _add_key(session: Session, client_id: str, key: PublicKey) -> str:
    kid = key_id(key)
    if session.scalar(select(ClientKey).where(ClientKey.kid == kid)) is not None:
        raise ServiceError("This key is already registered.", code="key_already_registered")
    session.add(
        ClientKey(
            client_id=client_id,
            kid=kid,
            public_jwk=public_jwk(key),
            created_at=datetime.now(UTC),
        )
    )
    session.flush()
    return kid


def revoke_key(*, session: Session, caller: Caller, client_id: str, kid: str) -> None:
    key = session.scalar(
        select(ClientKey).where(
            ClientKey.client_id == client_id, ClientKey.kid == kid, ClientKey.revoked_at.is_(None)
        )
    )
    if key is None:
        raise NotFound(f"Client {client_id} has no active key {kid}.")
    key.revoked_at = datetime.now(UTC)
    _audit(session, caller, "client.key_revoked", client_id, kid)
    session.flush()


def disable_client(*, session: Session, caller: Caller, client_id: str) -> None:
    """End a client at once: its access tokens stop working and its assertions and
    signatures are refused, whatever its keys."""
    client = session.get(Client, client_id, with_for_update=True)
    if client is None:
        raise NotFound(f"No client {client_id}.")
    if client.disabled_at is not None:
        raise Conflict(f"Client {client_id} is already disabled.", "client_already_disabled")
    client.disabled_at = datetime.now(UTC)
    # Tokens carry the generation they were issued in: none issued before now comes back
    # if the client is enabled again.
    client.token_generation += 1
    _audit(session, caller, "client.disabled", client_id)
    session.flush()


def enable_client(*, session: Session, caller: Caller, client_id: str) -> None:
    """Let a disabled client obtain tokens again with its non-revoked keys. Tokens issued
    before it was disabled stay invalid."""
    client = session.get(Client, client_id, with_for_update=True)
    if client is None:
        raise NotFound(f"No client {client_id}.")
    if client.disabled_at is None:
        raise Conflict(f"Client {client_id} is not disabled.", "client_not_disabled")
    client.disabled_at = None
    _audit(session, caller, "client.enabled", client_id)
    session.flush()


def _audit(session: Session, caller: Caller, action: str, client_id: str, *ids: str) -> None:
    audit.record(
        session=session,
        caller=caller,
        action=action,
        object_type="client",
        object_ids=[client_id, *ids],
    )


def _active(client_id: Any, kid: Any) -> list[ColumnElement[bool]]:
    """A non-revoked key of an enabled client, by the key's unique kid."""
    return [
        ClientKey.kid == kid,
        ClientKey.client_id == client_id,
        ClientKey.revoked_at.is_(None),
        Client.disabled_at.is_(None),
    ]


def active_key(*, session: Session, client_id: str, kid: str) -> PublicKey | None:
    """The enabled client's non-revoked key with this kid, or None."""
    document = session.scalar(
        select(ClientKey.public_jwk).join(Client).where(*_active(client_id, kid))
    )
    return None if document is None else import_registered_key(document)


def grant_select(client_id: Any, org_code: Any, kid: Any, generation: Any) -> Select[Any]:
    """The key that obtained a token, if the grant still stands: one lookup by the key's
    unique kid. Values, or bind parameters where a statement is compiled once (below, and
    services/cases/audited_reads.py)."""
    return (
        select(ClientKey.id)
        .join(Client)
        .where(
            *_active(client_id, kid),
            Client.org_code == org_code,
            Client.token_generation == generation,
        )
    )


def grant_is_current(
    *, session: Session | Connection, client_id: str, org_code: str, kid: str, generation: int
) -> bool:
    """Whether a token issued to this client of this organisation, through this key, in this
    generation, still stands."""
    return session.scalar(grant_select(client_id, org_code, kid, generation)) is not None


_GRANT_SQL = postgres_sql(
    grant_select(*(bindparam(name) for name in ("client_id", "org_code", "kid", "generation")))
)


async def grant_is_current_async(
    *, connection: Rows, client_id: str, org_code: str, kid: str, generation: int
) -> bool:
    """`grant_is_current` on an event-loop connection (services/store/async_pool.py)."""
    cursor = await connection.execute(
        _GRANT_SQL,
        {"client_id": client_id, "org_code": org_code, "kid": kid, "generation": generation},
    )
    return await cursor.fetchone() is not None


def get_client(*, session: Session, client_id: str) -> Client | None:
    return session.get(Client, client_id)


@dataclass(frozen=True)
class ClientListing:
    """A registered client as the operator's `cme clients list` shows it."""

    client_id: str
    org: str
    name: str
    scopes: list[str]
    active_kids: list[str]
    created_at: datetime

    def as_dict(self) -> dict[str, object]:
        return {
            "client_id": self.client_id,
            "org": self.org,
            "name": self.name,
            "scopes": self.scopes,
            "active_kids": self.active_kids,
            "created_at": self.created_at.isoformat(),
        }


def list_clients(*, session: Session, org: str | None = None) -> list[ClientListing]:
    """Registered clients, oldest first, with the ids of their keys not revoked."""
    query = select(Client).order_by(Client.created_at, Client.client_id)
    if org is not None:
        query = query.where(Client.org_code == org)
    registered = session.scalars(query).all()
    kids: dict[str, list[str]] = {}
    for client_id, kid in session.execute(
        select(ClientKey.client_id, ClientKey.kid)
        .where(
            ClientKey.revoked_at.is_(None),
            ClientKey.client_id.in_([c.client_id for c in registered]),
        )
        .order_by(ClientKey.created_at, ClientKey.id)
    ):
        kids.setdefault(client_id, []).append(kid)
    return [
        ClientListing(
            client_id=c.client_id,
            org=c.org_code,
            name=c.name,
            scopes=list(c.scopes),
            active_kids=kids.get(c.client_id, []),
            created_at=c.created_at,
        )
        for c in registered
    ]
