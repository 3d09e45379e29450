"""Configuration from the environment (SPEC.md, Configuration).

Only `CME_DATABASE_URL` and `CME_PUBLIC_BASE_URL` are fixed by the contract; the rest are
ours and documented in the README.
"""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
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


@lru_cache
def get_settings() -> Settings:
    return Settings()
