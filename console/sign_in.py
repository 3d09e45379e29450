"""Signing in and out: OpenID Connect at the council's provider, or, on a newcomer's own
machine only, development sign-in (see `Settings.console_configuration_problem`)."""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import timedelta
from typing import Annotated

import httpx
from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session as OrmSession

from console.labels import N_
from console.web import (
    SESSION_COOKIE,
    ConsoleRoute,
    Db,
    OfficerSession,
    Refusal,
    clear_cookie,
    current_officer,
    form_expired,
    render,
    require_csrf,
    set_session_cookie,
    settings_of,
)
from services.access import officers, oidc
from services.settings import Settings

log = logging.getLogger(__name__)

# Between the redirect to the provider and the return: state, nonce and PKCE verifier.
LOGIN_COOKIE = "__Host-cme_console_login"
LOGIN_SECONDS = 600
# Development sign-in's form is sent before any session exists: a double-submit token.
FORM_COOKIE = "__Host-cme_console_form"

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

_SIGN_IN_FAILED = Refusal(
    400,
    N_("Sign-in did not complete"),
    N_(
        "Your council's sign-in service did not confirm who you are. Start again from the "
        "sign-in page; if it happens again, tell your service desk."
    ),
)


@router.get("/")
def home(request: Request, session: Db) -> RedirectResponse:
    target = "/console/cases" if current_officer(request, session) else "/console/sign-in"
    return RedirectResponse(target, status_code=303)


@router.get("/sign-in")
def sign_in_page(request: Request) -> Response:
    settings = settings_of(request)
    return render(
        request,
        "sign_in.html",
        {"oidc": settings.oidc_configured, "redirect_uri": settings.console_redirect_uri},
    )


def _provider(settings: Settings) -> oidc.Provider:
    if not settings.oidc_configured:
        raise Refusal(
            404,
            N_("Sign-in is not set up"),
            N_("No identity provider is configured for this service: see the sign-in page."),
        )
    assert settings.oidc_issuer is not None
    assert settings.oidc_client_id is not None
    secret = settings.oidc_client_secret
    return oidc.Provider(
        issuer=settings.oidc_issuer,
        client_id=settings.oidc_client_id,
        client_secret=secret.get_secret_value() if secret is not None else None,
        redirect_uri=settings.console_redirect_uri,
    )


@router.get("/auth/login")
def login(request: Request) -> Response:
    provider = _provider(settings_of(request))
    pending = oidc.PendingSignIn.new()
    try:
        with httpx.Client(timeout=oidc.TIMEOUT_SECONDS) as http:
            discovery = oidc.discover(provider, http=http)
    except oidc.SignInFailed as failure:
        log.warning("console sign-in could not start", extra={"reason": str(failure)})
        raise _SIGN_IN_FAILED from None
    response = RedirectResponse(
        oidc.authorization_url(provider, discovery=discovery, pending=pending), status_code=302
    )
    response.set_cookie(
        LOGIN_COOKIE,
        pending.serialise(),
        max_age=LOGIN_SECONDS,
        path="/",
        secure=True,
        httponly=True,
        # Lax: the provider's redirect back is a top-level GET, which carries it.
        samesite="lax",
    )
    return response


@router.get("/auth/callback")
def callback(
    request: Request,
    session: Db,
    code: Annotated[str | None, Query(max_length=2048)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    provider = _provider(settings_of(request))
    pending = oidc.PendingSignIn.parse(request.cookies.get(LOGIN_COOKIE))
    if pending is None or not pending.state_matches(state) or not code:
        log.warning("console sign-in refused", extra={"reason": "state or code"})
        raise _SIGN_IN_FAILED
    try:
        with httpx.Client(timeout=oidc.TIMEOUT_SECONDS) as http:
            discovery = oidc.discover(provider, http=http)
            subject = oidc.signed_in_subject(
                provider, discovery=discovery, pending=pending, code=code, http=http
            )
    except oidc.SignInFailed as failure:
        log.warning("console sign-in refused", extra={"reason": str(failure)})
        raise _SIGN_IN_FAILED from None
    response = _start(request, session, subject)
    clear_cookie(response, LOGIN_COOKIE)
    return response


def _start(request: Request, session: OrmSession, subject: str) -> Response:
    """A session for a registered officer; a person who is not registered sees only a page
    saying so."""
    officer = officers.find_officer(session=session, subject=subject)
    if officer is None:
        log.info("console sign-in of an unregistered person")
        return render(request, "not_registered.html", {}, status=403)
    settings = settings_of(request)
    token = officers.start_session(
        session=session,
        officer=officer,
        lifetime=timedelta(hours=settings.console_session_hours),
    )
    log.info("console sign-in", extra={"officer_id": officer.officer_id})
    response = RedirectResponse("/console/cases", status_code=303)
    set_session_cookie(response, token)
    return response


def _require_dev_sign_in(request: Request) -> None:
    if not settings_of(request).console_dev_sign_in:
        raise Refusal(404, N_("Not found"), N_("There is no such page or case for your authority."))


@router.get("/auth/dev")
def dev_sign_in_page(request: Request) -> Response:
    _require_dev_sign_in(request)
    token = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(32)
    response = render(request, "dev_sign_in.html", {"form_token": token})
    response.set_cookie(FORM_COOKIE, token, path="/", secure=True, httponly=True, samesite="strict")
    return response


@router.post("/auth/dev")
def dev_sign_in(
    request: Request,
    session: Db,
    subject: Annotated[str, Form(max_length=officers.MAX_SUBJECT)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    _require_dev_sign_in(request)
    expected = request.cookies.get(FORM_COOKIE)
    if not expected or not hmac.compare_digest(expected, csrf_token):
        raise form_expired()
    return _start(request, session, subject.strip())


@router.post("/auth/sign-out")
def sign_out(
    request: Request,
    session: Db,
    officer: OfficerSession,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    require_csrf(request, officer, csrf_token)
    officers.end_session(session=session, signed_in=officer)
    request.state.signed_in = None
    response = RedirectResponse("/console/sign-in", status_code=303)
    clear_cookie(response, SESSION_COOKIE)
    return response
