"""What every client command shares: where the service is, the client's private key, its
access tokens, and the service's refusals told as one line with what to do.

`cme push`, `cme pull`, `cme token`, `cme education upload` and `cme reconciliations list`
talk to the service through `Service`; none of them shows a traceback for an ordinary
mistake (see cli/console.py for the exit statuses).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Annotated, Any

import httpx
import typer

from cli.console import EXIT_REFUSED, EXIT_UNREACHABLE, fail, note
from cli.signing import ASSERTION_TYPE, PrivateKey, client_assertion, detached_signature
from services.access.keys import SigningAlgorithm, load_private_key

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
BaseUrl = Annotated[
    str,
    typer.Option(
        "--base-url",
        envvar="CME_PUBLIC_BASE_URL",
        show_envvar=True,
        help="The service's base URL: the public one its operator set as CME_PUBLIC_BASE_URL.",
    ),
]
ClientId = Annotated[
    str, typer.Option("--client-id", help="Your client_id (`cme clients list` shows them).")
]
LaCode = Annotated[str, typer.Option("--la", help="Your authority's GSS code, e.g. W06000015.")]
KeyFile = Annotated[
    Path,
    typer.Option("--key", help="Your private key (PEM), as `cme keys generate` wrote it."),
]
# Fetch a new access token this long before the current one expires.
_TOKEN_MARGIN_SECONDS = 30

# What to do about a refusal, by its code (problem+json `code` or OAuth `error`).
_WHAT_TO_DO = {
    "invalid_client": "Check --client-id and --key: the operator's `cme clients list` shows "
    "each client and its active key ids.",
    "invalid_scope": "Ask only for scopes the client holds (`cme clients list`).",
    "unauthenticated": "The access token was refused: check that this machine's clock is right.",
    "insufficient_scope": "This client lacks the scope: the operator can register a client "
    "with it (`cme clients add --scope ...`).",
    "not_found": "Check --la: it must be your own authority's code.",
    "lhb_code_not_caller": "The extract's lhb_code must be your client's own health board.",
    "submission_id_conflict": "That submission_id was sent before with a different body: "
    "leave --submission-id out, or give a new one.",
    "validation_failed": "Nothing was stored: correct these and send the file again.",
    "rate_limited": "Too many requests: wait a minute and try again.",
    "payload_too_large": "Split the file, or ask the operator about CME_MAX_BODY_BYTES.",
}


def load_client_key(path: Path) -> tuple[PrivateKey, SigningAlgorithm]:
    """The private key a client signs with, or one line saying what is wrong with the file."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise fail(f"no key file {path}: --key is your private key (PEM).") from None
    except (OSError, UnicodeDecodeError) as error:
        raise fail(f"cannot read the key file {path}: {error}.") from None
    if "PUBLIC KEY" in text or _is_json_object(text):
        raise fail(
            f"{path} is a public key (or a JWK): --key needs the private key in PEM, the "
            "file `cme keys generate --private-key` wrote. The public key is the one the "
            "operator registers."
        )
    if "ENCRYPTED" in text:
        raise fail(f"{path} is password-protected: give the private key unencrypted (PEM).")
    try:
        return load_private_key(text)
    except Exception:  # whatever the key library says, the answer to the person is the same
        raise fail(
            f"{path} is not a private key in PEM (EC P-256, Ed25519 or RSA): give the file "
            "`cme keys generate --private-key` wrote."
        ) from None


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


class Service:
    """One client's conversation with the service: an access token fetched when first
    needed and again before it expires, and transport failures told as one line."""

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        key_file: Path,
        scopes: list[str] | None = None,
        timeout: float = 120,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise fail(f"--base-url must start with http:// or https://, not {base_url!r}.")
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self._key, self._alg = load_client_key(key_file)
        self._scopes = scopes
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)
        self._token: str | None = None
        self._token_expires = 0.0

    def __enter__(self) -> Service:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._http.close()

    def token(self) -> dict[str, Any]:
        """A new access token: the token endpoint's whole answer."""
        form = token_form(
            key=self._key, alg=self._alg, client_id=self.client_id, base_url=self.base_url
        )
        if self._scopes:
            form["scope"] = " ".join(self._scopes)
        response = self._send("POST", "/oauth2/token", data=form)
        if response.status_code != 200:
            raise refused(response, what="token request")
        answer: dict[str, Any] = response.json()
        self._token = str(answer["access_token"])
        self._token_expires = time.monotonic() + float(answer.get("expires_in", 60))
        return answer

    def sign(self, body: bytes) -> str:
        """A detached JWS over the exact body bytes, with this client's key."""
        return detached_signature(key=self._key, alg=self._alg, body=body)

    def request(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, **options: Any
    ) -> httpx.Response:
        """A call with this client's bearer token."""
        if self._token is None or time.monotonic() > self._token_expires - _TOKEN_MARGIN_SECONDS:
            self.token()
        bearer = {"Authorization": f"Bearer {self._token}"}
        return self._send(method, path, headers={**(headers or {}), **bearer}, **options)

    def _send(self, method: str, path: str, **options: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **options)
        except httpx.ConnectError:
            raise fail(
                f"cannot reach the service at {self.base_url}: is it running (`cme serve`)? "
                "Give its address with --base-url or CME_PUBLIC_BASE_URL.",
                exit_code=EXIT_UNREACHABLE,
            ) from None
        except httpx.TimeoutException:
            raise fail(
                f"the service at {self.base_url} did not answer in time: try again later.",
                exit_code=EXIT_UNREACHABLE,
            ) from None
        except httpx.HTTPError as error:
            raise fail(
                f"talking to the service at {self.base_url} failed ({type(error).__name__}): "
                "check --base-url.",
                exit_code=EXIT_UNREACHABLE,
            ) from None


def pages(
    service: Service, path: str, *, params: dict[str, Any], what: str
) -> Iterator[dict[str, Any]]:
    """A list's pages, following `next_cursor` to the end (the caller may change `params`
    between pages, e.g. to ask for fewer)."""
    while True:
        response = service.request("GET", path, params=params)
        if response.status_code != 200:
            raise refused(response, what=what)
        page: dict[str, Any] = response.json()
        yield page
        if not page["next_cursor"]:
            return
        params["cursor"] = page["next_cursor"]


def token_form(
    *, key: PrivateKey, alg: SigningAlgorithm, client_id: str, base_url: str
) -> dict[str, str]:
    """The token request: client credentials with a fresh signed client assertion."""
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion(
            key=key, alg=alg, client_id=client_id, token_url=f"{base_url.rstrip('/')}/oauth2/token"
        ),
    }


def fetch_token(
    http: httpx.Client,
    *,
    private_key: PrivateKey,
    alg: SigningAlgorithm,
    client_id: str,
    base_url: str,
) -> str:
    """An access token over an open connection (for the benchmarks, which time the rest)."""
    form = token_form(key=private_key, alg=alg, client_id=client_id, base_url=base_url)
    response = http.post("/oauth2/token", data=form)
    if response.status_code != 200:
        raise refused(response, what="token request")
    return str(response.json()["access_token"])


def refused(response: httpx.Response, *, what: str) -> typer.Exit:
    """Say why the service refused (one line, then one line per field problem)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    answer: dict[str, Any] = body if isinstance(body, dict) else {}
    code = str(answer.get("code") or answer.get("error") or "")
    detail = str(
        answer.get("detail") or answer.get("error_description") or response.text[:200]
    ).strip()
    what_to_do = _WHAT_TO_DO.get(code, "")
    if code == "invalid_client" and "aud must be" in detail:
        what_to_do = (
            "The service knows itself by another address: give that address (without "
            "/oauth2/token) as --base-url or CME_PUBLIC_BASE_URL."
        )
    status = f"{response.status_code} {code}".strip()
    message = f"{what} refused ({status}): {detail} {what_to_do}".strip()
    exit_ = fail(message, exit_code=EXIT_REFUSED)
    for problem in answer.get("errors") or []:
        note(f"  {problem.get('pointer') or '/'}  {problem.get('code')}: {problem.get('detail')}")
    return exit_
