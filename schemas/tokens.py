"""Wire models of the token endpoint: client credentials with a signed client assertion."""

from __future__ import annotations

from pydantic import BaseModel, Field

# RFC 7523 section 2.2: the only client assertion type the token endpoint accepts.
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class TokenForm(BaseModel):
    """`application/x-www-form-urlencoded`; each parameter at most once."""

    grant_type: str = Field(description="`client_credentials`.")
    client_assertion_type: str = Field(description=f"`{ASSERTION_TYPE}`.")
    client_assertion: str = Field(description="The signed JWT (RFC 7523).")
    scope: str | None = Field(default=None, description="Space-separated subset of scopes.")


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 (the OAuth token type, not a secret)
    expires_in: int
    scope: str
