"""The interactive API pages, `/docs` (Swagger UI) and `/redoc`, served wholly from here.

Their scripts, styles and favicon come from the `fastapi-offline` package and are served
under `/docs/static/`, so the pages work offline and behind NHS and council proxies that
block CDNs; ReDoc is told not to load Google Fonts.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
STATIC_URL = "/docs/static"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
_ASSETS = Path(str(files("fastapi_offline") / "static"))


def install(app: FastAPI) -> None:
    """Add the pages; the app is made with `docs_url=None, redoc_url=None`."""
    app.mount(STATIC_URL, StaticFiles(directory=_ASSETS), name="docs-static")

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{STATIC_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{STATIC_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{STATIC_URL}/favicon.png",
            oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_URL}",
            # The validator badge would send the document to validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{STATIC_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{STATIC_URL}/favicon.png",
            with_google_fonts=False,
        )


# A worked example of a submission signature, made with a throwaway synthetic key.
SIGNATURE_EXAMPLE_KEY = {
    "kty": "EC",
    "crv": "P-256",
    "x": "S0XFsOPmImQQIz9GnSAIVsxc4qRdauh1_xGiATimSr0",
    "y": "wlRnh-T5gAc2iUplpHz7Ls9OiKmU0femHTj8isXr680",
}
SIGNATURE_EXAMPLE_KID = "QY1En2NUFX1Jf1bmOb4dDEQyqOIspdU1AwEkB_dopQ0"
SIGNATURE_EXAMPLE_BODY = (
    '{"submission_id":"3f0e9c1e-6b1a-4c1e-9f4e-2d7b8a1c0e55","lhb_code":"7A4",'
    '"extract_type":"delta","extracted_at":"2026-01-15T02:00:00Z","records":[]}'
)
SIGNATURE_EXAMPLE = (
    "eyJhbGciOiJFUzI1NiIsImtpZCI6IlFZMUVuMk5VRlgxSmYxYm1PYjRkREVReXFPSXNwZFUxQXdFa0JfZG9wUTAifQ"
    "..7lm6CxsIC_jmo8D3ZUuG3LMUEpti4xaaWbmgETb9NrAFDHyQRbGK15yJsELdeKselDctIlfCqHMYtZvJFfJ8NA"
)
SIGNATURE_HOW_TO = f"""\
A detached JWS (RFC 7515 appendix F) over the exact body bytes: the compact serialization
`BASE64URL(header)..BASE64URL(signature)` with the payload part left empty.

- The protected header is a JSON object with `alg` (`ES256`, `RS256`, `PS256` or `EdDSA`,
  matching the key) and `kid`, the RFC 7638 thumbprint of one of the calling client's
  registered, non-revoked keys (`cme clients add --json` prints it). `typ`, if present,
  must be `JOSE`; `crit` and `b64` are refused (the payload is always base64url-encoded).
- The signing input is `BASE64URL(header) || "." || BASE64URL(body)`, where body is the
  exact bytes sent, before any `Content-Encoding: gzip` is applied (the service verifies
  after inflating). Re-serialising the JSON after signing breaks the signature.
- A detached JWS library call does this (joserfc: `jws.serialize_compact` then
  `jws.detach_content`; `cme push` signs this way).

Worked example. The body (one line, no trailing newline):

    {SIGNATURE_EXAMPLE_BODY}

The protected header `{{"alg":"ES256","kid":"{SIGNATURE_EXAMPLE_KID}"}}`, signed with the
P-256 key whose public JWK is
`{{"kty":"EC","crv":"P-256","x":"{SIGNATURE_EXAMPLE_KEY["x"]}","y":"{SIGNATURE_EXAMPLE_KEY["y"]}"}}`,
gives the header value:

    X-JWS-Signature: {SIGNATURE_EXAMPLE}

(ES256 signatures are randomised: signing again gives another valid value.)"""
