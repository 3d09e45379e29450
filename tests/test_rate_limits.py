"""Rate limits: per client and endpoint, 429 with Retry-After, no spill-over."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.app import create_app
from services.access.rate_limit import TokenBuckets
from services.settings import Settings
from tests.factories import Credentials, access_token, make_case, make_client

CARDIFF = "W06000015"


@pytest.fixture
def limited(settings: Settings) -> Iterator[TestClient]:
    app = create_app(
        settings.model_copy(update={"rate_limit_per_minute": 60, "rate_limit_burst": 3})
    )
    with TestClient(app) as client:
        yield client


def _officer(db: Session, org: str = CARDIFF) -> Credentials:
    credentials = make_client(db, org=org, scopes=["cme:read"])
    db.commit()
    return credentials


def test_a_client_over_its_burst_gets_429_with_retry_after(
    limited: TestClient, db: Session
) -> None:
    headers = {"Authorization": f"Bearer {access_token(limited, _officer(db))}"}

    statuses = [
        limited.get(f"/v1/local-authorities/{CARDIFF}/cme-cases", headers=headers) for _ in range(4)
    ]

    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    refused = statuses[-1]
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) >= 1


def test_walking_ids_stays_in_one_bucket(limited: TestClient, db: Session) -> None:
    officer = _officer(db)
    case_ids = [make_case(db).case_id for _ in range(4)]
    db.rollback()
    headers = {"Authorization": f"Bearer {access_token(limited, officer)}"}

    statuses = [
        limited.get(
            f"/v1/local-authorities/{CARDIFF}/cme-cases/{case_id}", headers=headers
        ).status_code
        for case_id in case_ids
    ]

    assert statuses == [200, 200, 200, 429]


def test_one_clients_throttling_never_slows_another(limited: TestClient, db: Session) -> None:
    greedy, patient = _officer(db), _officer(db)
    greedy_headers = {"Authorization": f"Bearer {access_token(limited, greedy)}"}
    patient_headers = {"Authorization": f"Bearer {access_token(limited, patient)}"}
    url = f"/v1/local-authorities/{CARDIFF}/cme-cases"

    for _ in range(5):
        limited.get(url, headers=greedy_headers)

    assert limited.get(url, headers=greedy_headers).status_code == 429
    assert limited.get(url, headers=patient_headers).status_code == 200


def test_buckets_refill_at_the_configured_rate() -> None:
    buckets = TokenBuckets(per_minute=60, burst=2)

    assert [buckets.take("k", now=0.0) for _ in range(3)] == [None, None, 1]
    assert buckets.take("k", now=1.0) is None
    assert buckets.take("other", now=1.0) is None


def test_zero_turns_limits_off() -> None:
    buckets = TokenBuckets(per_minute=0, burst=1)

    assert all(buckets.take("k", now=0.0) is None for _ in range(1000))
