"""Wire models of the token endpoint: client credentials with a signed client assertion."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# RFC 7523 section 2.2: the only client assertion type the token endpoint accepts.
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class TokenForm(BaseModel):
    """`application/x-www-form-urlencoded`; each parameter at most once."""

    grant_type: str = Field(description="`client_credentials`.")
    client_assertion_type: str = Field(description=f"`{ASSERTION_TYPE}`.")
    client_assertion: str = Field(description="The signed JWT (RFC 7523).")
    scope: str | None = Field(default=None, description="Space-separated subset of scopes.")


class TokenResponse(BaseModel):
    """An access token (RFC 6749 section 5.1) to send as `Authorization: Bearer ...`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJFUzI1NiIsImtpZCI6ImNtZS0xIn0.eyJzdWIiOiJjbGllbnQt"
                    "N2E0In0.c2lnbmF0dXJl",
                    "token_type": "Bearer",
                    "expires_in": 900,
                    "scope": "submissions:write submissions:read",
                }
            ]
        }
    )

    access_token: str = Field(description="The bearer token, opaque to the client.")
    token_type: str = Field(default="Bearer", description="Always `Bearer`.")
    expires_in: int = Field(description="Seconds until the token expires, at most 900.")
    scope: str = Field(description="The scopes granted, space-separated.")
