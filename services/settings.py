"""Configuration from the environment (SPEC.md, Configuration).

Only `CME_DATABASE_URL` and `CME_PUBLIC_BASE_URL` are fixed by the contract; the rest are
ours and documented in the README.
"""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MAX_ACCESS_TOKEN_SECONDS = 900


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CME_", extra="ignore")

    database_url: str = "sqlite:///./cme.db"
    public_base_url: str = "http://127.0.0.1:8000"
    # PEM file holding the service's own ES256 private key for access tokens. Unset means
    # the development default: a key generated once into `dev_key_dir` (logged loudly).
    token_signing_key_file: Path | None = None
    dev_key_dir: Path = Path(".cme-dev")
    access_token_seconds: int = Field(default=900, ge=60, le=MAX_ACCESS_TOKEN_SECONDS)
    # Clock leeway for client assertions: small, because assertions live 5 minutes at most.
    clock_leeway_seconds: int = Field(default=30, ge=0, le=120)
    max_body_bytes: int = Field(default=200 * 1024 * 1024, ge=1024)
    # How long a request body may take to arrive, once the service starts reading it; a
    # slower one answers 408. Nothing is held in the database meanwhile, so this bounds
    # only the sockets and buffers a slow or stalled sender can keep.
    body_read_timeout_seconds: float = Field(default=120.0, gt=0, le=3600)
    log_level: str = "INFO"
    # Run queued reconciliations in a thread of the API process (the embedded default).
    # With several API processes or machines, set false and run `cme worker` processes.
    reconcile_in_process: bool = True
    worker_poll_seconds: float = Field(default=2.0, gt=0, le=60)
    match_accept_threshold: float = Field(default=0.95, gt=0, le=1)
    match_review_threshold: float = Field(default=0.50, gt=0, le=1)
    # Requests per client per endpoint (route template) per minute, and the burst allowed;
    # 0 turns every limit off. The token endpoint is limited per client address.
    rate_limit_per_minute: int = Field(default=600, ge=0)
    rate_limit_burst: int = Field(default=120, ge=1)
    # Refused token requests allowed per client address and, separately, per claimed
    # client_id, before further refusals answer 429. Valid assertions are never refused
    # because of failures.
    token_failures_per_minute: int = Field(default=10, ge=1)
    token_failure_burst: int = Field(default=20, ge=1)
    # Reverse proxies whose X-Forwarded-For is believed (addresses or CIDR networks,
    # comma-separated). Empty: the TCP peer is the client, whatever the headers say.
    trusted_proxies: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=list
    )
    # background: requests append audit events to an inbox that a thread chains within a
    # second (no shared lock per request); commit: each transaction chains its own.
    audit_chain: Literal["background", "commit"] = "background"
    # How long a closed case is kept (see services/retention.py for why 365 days).
    case_retention_days: int = Field(default=365, ge=1)
    # The officer console's sign-in at the council's OpenID Connect provider (SPEC.md, The
    # officer console); discovery at {oidc_issuer}/.well-known/openid-configuration.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    # A console session ends after this long without a request, and in any case this long
    # after sign-in.
    console_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    console_session_hours: int = Field(default=10, ge=1, le=7 * 24)
    # Sign in as any registered officer by typing their `sub`: for a newcomer's laptop only.
    # Refused together with an identity provider or on a non-loopback address.
    console_dev_sign_in: bool = False

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        if isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        if isinstance(value, list):
            return [ip_network(item, strict=False) for item in value]
        return value

    @property
    def token_endpoint_url(self) -> str:
        return f"{self.public_base_url.rstrip('/')}/oauth2/token"

    @property
    def console_redirect_uri(self) -> str:
        """Where the identity provider sends an officer back after sign-in."""
        return f"{self.public_base_url.rstrip('/')}/console/auth/callback"

    @property
    def oidc_configured(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    def console_configuration_problem(self) -> str | None:
        """Why the service must not start with this console configuration, or None.

        Development sign-in lets anyone at the keyboard act as any officer, so it is refused
        next to a real identity provider and anywhere but on the machine itself."""
        if not self.console_dev_sign_in:
            return None
        if self.oidc_issuer:
            return (
                "CME_CONSOLE_DEV_SIGN_IN=1 cannot be used together with CME_OIDC_ISSUER: "
                "development sign-in is for a machine without an identity provider. Unset one."
            )
        host = urlsplit(self.public_base_url).hostname or ""
        if not _is_loopback(host):
            return (
                "CME_CONSOLE_DEV_SIGN_IN=1 needs CME_PUBLIC_BASE_URL on this machine "
                f"(127.0.0.1, ::1 or localhost), not {host!r}: development sign-in must "
                "never be reachable from elsewhere."
            )
        return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


@lru_cache
def get_settings() -> Settings:
    return Settings()
