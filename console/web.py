"""What every console page shares: the request's unit of work, the signed-in officer,
CSRF checks, rendering in the officer's language, security headers and error pages.

A refusal is a page, never problem+json: the console's routes use `ConsoleRoute`, which
turns the services' errors and the console's own refusals into HTML in the right language.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator, Mapping
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session as OrmSession

from console import labels
from console.i18n import LANGUAGES, chosen_language, environment, gettext
from services.access import officers
from services.access.officers import SignedIn
from services.caller import Caller
from services.errors import ServiceError
from services.logs import request_id_var
from services.settings import Settings

SESSION_COOKIE = "__Host-cme_console"
LANGUAGE_COOKIE = "cme_console_lang"
ONE_YEAR = 365 * 24 * 3600
# No script runs on any page; styles and images come from the service itself.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


class SignInRequired(Exception):
    """No current session: the officer is sent to the sign-in page."""


class Refusal(Exception):
    """A page explaining why the console will not do this, with its HTTP status. The title
    and detail are catalogue messages (marked with `N_`), translated by the page."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        template: str = "error.html",
        context: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(title)
        self.status, self.title, self.detail = status, title, detail
        self.template, self.context = template, dict(context or {})


# The services' refusals, in the officer's words (the detail is for API integrators).
_SERVICE_ERRORS = {
    404: (labels.N_("Not found"), labels.N_("There is no such page or case for your authority.")),
    409: (labels.N_("Not possible now"), labels.N_("The case has changed: read it again.")),
}
UNREADABLE = (
    labels.N_("The request could not be read"),
    labels.N_("Something in the address or the form was not as expected. Go back and try again."),
)


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def language(request: Request) -> str:
    return chosen_language(
        request.query_params.get("lang"),
        request.cookies.get(LANGUAGE_COOKIE),
        request.headers.get("accept-language"),
    )


class ConsoleRoute(APIRoute):
    """A console page: errors become pages, and a `?lang=` choice is remembered."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInRequired:
                response = RedirectResponse("/console/sign-in", status_code=303)
            except Refusal as refusal:
                response = render(
                    request,
                    refusal.template,
                    {"title": refusal.title, "detail": refusal.detail, **refusal.context},
                    status=refusal.status,
                )
            except RequestValidationError:
                title, detail = UNREADABLE
                response = render(
                    request, "error.html", {"title": title, "detail": detail}, status=400
                )
            except ServiceError as error:
                title, detail = _SERVICE_ERRORS.get(error.status, UNREADABLE)
                response = render(
                    request, "error.html", {"title": title, "detail": detail}, status=error.status
                )
            remember_language(request, response)
            return response

        return page


def remember_language(request: Request, response: Response) -> None:
    chosen = request.query_params.get("lang")
    if chosen in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE,
            chosen,
            max_age=ONE_YEAR,
            path="/console",
            secure=True,
            httponly=True,
            samesite="lax",
        )


def render(
    request: Request, template: str, context: Mapping[str, Any], *, status: int = 200
) -> HTMLResponse:
    lang = language(request)
    settings = settings_of(request)
    signed_in: SignedIn | None = getattr(request.state, "signed_in", None)
    page = environment(lang).get_template(template)
    html = page.render(
        lang=lang,
        officer=signed_in,
        authority_name=gettext(lang, labels.AUTHORITIES[signed_in.la_code]) if signed_in else "",
        csrf_token=officers.csrf_token(signed_in.csrf_secret) if signed_in else "",
        dev_sign_in=settings.console_dev_sign_in,
        language_links=_language_links(request),
        labels=labels,
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    security_headers(response)
    return response


def security_headers(response: Response) -> None:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    # Pages show children's details: no copy kept by the browser or anything between.
    response.headers["Cache-Control"] = "no-store"


def _language_links(request: Request) -> dict[str, str]:
    """This page in each language (its other query parameters kept)."""
    query = {k: v for k, v in request.query_params.items() if k != "lang"}
    return {lang: f"{request.url.path}?{urlencode(query | {'lang': lang})}" for lang in LANGUAGES}


def _unit_of_work(request: Request) -> Iterator[OrmSession]:
    """One transaction per request, committed once after the page is made and before it
    is sent; anything raised rolls it back. Not `services.store.db.transaction`: a page
    that refuses a change rolls back mid-request and goes on reading, which an enclosing
    `session.begin()` block would not survive."""
    with request.app.state.sessions() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


Db = Annotated[OrmSession, Depends(_unit_of_work, scope="function")]


def current_officer(request: Request, session: Db) -> SignedIn | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    idle = timedelta(minutes=settings_of(request).console_idle_minutes)
    found = officers.current_session(session=session, token=token, idle=idle)
    if found is not None:
        request.state.signed_in = found
    return found


def signed_in(request: Request, session: Db) -> SignedIn:
    """The officer of this request's session; every request checks that the session is
    current and the officer still registered."""
    found = current_officer(request, session)
    if found is None:
        raise SignInRequired()
    return found


OfficerSession = Annotated[SignedIn, Depends(signed_in)]


def caller_of(officer: SignedIn) -> Caller:
    return officer.caller(request_id_var.get())


def require_csrf(request: Request, officer: SignedIn, presented: str | None) -> None:
    if not officers.csrf_matches(officer.csrf_secret, presented):
        raise form_expired()


def form_expired() -> Refusal:
    return Refusal(
        403,
        labels.N_("The form has expired"),
        labels.N_(
            "The form was not sent from this session. Go back, reload the page and try again."
        ),
    )


def set_session_cookie(response: Response, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, path="/", secure=True, httponly=True, samesite="lax")


def clear_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", secure=True, httponly=True, samesite="lax")
