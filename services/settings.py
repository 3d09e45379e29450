"""Configuration from the environment (SPEC.md, Configuration).

Only `CME_DATABASE_URL` and `CME_PUBLIC_BASE_URL` are fixed by the contract; the rest are
ours and documented in the README.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    log_level: str = "INFO"

    @property
    def token_endpoint_url(self) -> str:
        return f"{self.public_base_url.rstrip('/')}/oauth2/token"


@lru_cache
def get_settings() -> Settings:
    return Settings()
