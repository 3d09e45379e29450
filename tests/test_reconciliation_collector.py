"""A worker's run, from reading the records to committing, runs with Python's cyclic
garbage collector paused (`services.linkage.collection`), and leaves it on."""

from __future__ import annotations

import gc

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.reconciliation import worker as worker_module
from tests.factories import Credentials
from tests.test_reconciliation_api import run_queued
from tests.test_reconciliation_runs import upload


def test_a_run_reads_links_and_writes_with_the_collector_paused(
    app: FastAPI,
    http: TestClient,
    board: Credentials,
    cardiff: Credentials,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[bool] = []
    real_reconcile = worker_module.reconcile  # type: ignore[attr-defined]

    def watching_reconcile(**kwargs: object) -> object:
        seen.append(gc.isenabled())
        return real_reconcile(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(worker_module, "reconcile", watching_reconcile)
    queued = upload(http, board, cardiff)

    assert run_queued(app) == queued
    assert seen == [False]
    assert gc.isenabled()
