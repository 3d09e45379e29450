"""The service's own key, which signs the access tokens it issues.

Production points `CME_TOKEN_SIGNING_KEY_FILE` at an ES256 (P-256) private key in PEM. With
none configured, a development key is generated once into `CME_DEV_KEY_DIR` and reused, so
that several processes on one machine accept each other's tokens; the log says so loudly.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from joserfc.jwk import ECKey

from services.access.keys import generate_key_pair
from services.settings import Settings

log = logging.getLogger(__name__)


def load_service_key(settings: Settings) -> ECKey:
    if settings.token_signing_key_file is not None:
        key = ECKey.import_key(settings.token_signing_key_file.read_bytes())
        if not key.is_private or key.as_dict().get("crv") != "P-256":
            raise ValueError("CME_TOKEN_SIGNING_KEY_FILE must hold a P-256 private key")
        return key
    path = settings.dev_key_dir / "token-signing-key.pem"
    if not path.exists():
        _write_private(path, generate_key_pair("ec")[0])
    log.warning(
        "using the DEVELOPMENT token-signing key at %s; set CME_TOKEN_SIGNING_KEY_FILE in "
        "production",
        path,
    )
    return ECKey.import_key(path.read_bytes())


def _write_private(path: Path, pem: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # O_EXCL: two processes starting together must not overwrite each other's key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as handle:
        handle.write(pem)
