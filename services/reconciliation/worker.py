"""Workers: claim a queued reconciliation, run it in one transaction, record the result.

`cme worker` runs this loop in its own process (several may share one PostgreSQL
database); the API process can also run it in a background thread (the embedded default).
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker

from services.linkage import LinkageSettings
from services.linkage.collection import collection_paused
from services.linkage.sharing import SharedParameters
from services.reconciliation.queue import claim_next
from services.reconciliation.run import NothingToReconcile, reconcile
from services.settings import Settings
from services.store.db import clear_deleted_residue
from services.store.tables import Reconciliation

log = logging.getLogger(__name__)


def linkage_settings(settings: Settings) -> LinkageSettings:
    """A worker's linkage settings: every run it makes shares the parameters the first
    one large enough trains, for a day (`services.linkage.sharing`)."""
    return LinkageSettings(
        accept_threshold=settings.match_accept_threshold,
        review_lower=settings.match_review_threshold,
        shared=SharedParameters(),
    )


def work_once(*, sessions: sessionmaker[Session], settings: LinkageSettings) -> str | None:
    """Run the next queued reconciliation, if any; return its id."""
    with sessions() as session, session.begin():
        job = claim_next(session=session)
        if job is None:
            return None
        job_id = job.reconciliation_id
    log.info("reconciliation started", extra={"reconciliation_id": job_id})
    try:
        # The collector walks every record a run holds, over and over, for nothing.
        with collection_paused(), sessions() as session, session.begin():
            job = session.get(Reconciliation, job_id)
            assert job is not None
            summary = reconcile(
                session=session, job=job, settings=settings, progress=_progress(sessions, job_id)
            )
            job.status, job.finished_at = "succeeded", datetime.now(UTC)
            job.summary, job.progress = summary.as_json(), {"stage": "done"}
    except NothingToReconcile:
        _fail(sessions, job_id, "education_records_required")
    except Exception as error:
        log.error(
            "reconciliation failed",
            extra={"reconciliation_id": job_id, "error_type": type(error).__name__},
        )
        _fail(sessions, job_id, "reconciliation_error")
    else:
        # Committed: the children found not missing are gone from the tables; now from the
        # copies the database keeps beside them (write-ahead log, dead rows).
        _clear_residue(sessions)
    return job_id


def _clear_residue(sessions: sessionmaker[Session]) -> None:
    bind = sessions.kw.get("bind")
    if isinstance(bind, Engine):
        clear_deleted_residue(bind)


def _progress(sessions: sessionmaker[Session], job_id: str) -> ProgressWriter:
    return ProgressWriter(sessions, job_id)


class ProgressWriter:
    """Records the running stage in its own short transaction, so readers see it live.

    SQLite has one writer at a time and the run holds it, so there the stage is only logged.
    """

    def __init__(self, sessions: sessionmaker[Session], job_id: str) -> None:
        self.sessions, self.job_id = sessions, job_id
        bind = sessions.kw.get("bind")
        self.enabled = bind is not None and bind.dialect.name == "postgresql"

    def __call__(self, stage: str) -> None:
        log.info(
            "reconciliation progress", extra={"reconciliation_id": self.job_id, "stage": stage}
        )
        if not self.enabled:
            return
        with self.sessions() as session, session.begin():
            session.execute(
                update(Reconciliation)
                .where(Reconciliation.reconciliation_id == self.job_id)
                .values(progress={"stage": stage}, heartbeat_at=datetime.now(UTC))
            )


def _fail(sessions: sessionmaker[Session], job_id: str, code: str) -> None:
    with sessions() as session, session.begin():
        session.execute(
            update(Reconciliation)
            .where(Reconciliation.reconciliation_id == job_id)
            .values(status="failed", finished_at=datetime.now(UTC), error_code=code, progress=None)
        )


class BackgroundWorker:
    """The in-process worker thread: polls the queue until stopped."""

    def __init__(
        self, *, sessions: sessionmaker[Session], settings: LinkageSettings, poll_seconds: float
    ) -> None:
        self.sessions, self.settings, self.poll_seconds = sessions, settings, poll_seconds
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="reconciliation-worker", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=60)

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                ran = work_once(sessions=self.sessions, settings=self.settings)
            except Exception as error:  # keep the service alive; the job is requeued later
                log.error("worker error", extra={"error_type": type(error).__name__})
                ran = None
            if ran is None:
                self.stopping.wait(self.poll_seconds)
