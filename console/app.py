"""Mounting the console on the service's application (api/app.py names this by string, so
the two edges stay independent)."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from console import pages, sign_in
from console.i18n import HERE, LANGUAGES, environment
from services.settings import Settings

log = logging.getLogger(__name__)


class ConsoleMisconfigured(RuntimeError):
    """The console's settings must not be served (see `Settings.console_configuration_problem`)."""


def install(app: FastAPI, settings: Settings) -> None:
    problem = settings.console_configuration_problem()
    if problem is not None:
        raise ConsoleMisconfigured(problem)
    if settings.console_dev_sign_in:
        log.warning(
            "console development sign-in is ON: anyone who can reach this service can act "
            "as any registered officer. Never use it with real data (CME_CONSOLE_DEV_SIGN_IN)."
        )
    elif not settings.oidc_configured:
        log.info("console sign-in is not configured (CME_OIDC_ISSUER, CME_OIDC_CLIENT_ID)")
    for language in LANGUAGES:  # a broken catalogue or template stops the start, not a page
        environment(language)
    app.include_router(sign_in.router)
    app.include_router(pages.router)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")
