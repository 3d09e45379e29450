"""The thread that links inbox audit events into the hash chain (background mode)."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from services.audit.trail import chain_inbox

log = logging.getLogger(__name__)


def chain_all(sessions: sessionmaker[Session]) -> int:
    """Chain everything waiting, in batches, each batch in its own transaction."""
    total = 0
    while True:
        with sessions() as session, session.begin():
            moved = chain_inbox(session=session)
        total += moved
        if moved == 0:
            return total


class AuditChainer:
    def __init__(self, *, sessions: sessionmaker[Session], interval_seconds: float = 0.5) -> None:
        self.sessions, self.interval = sessions, interval_seconds
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="audit-chainer", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=30)
        chain_all(self.sessions)  # nothing recorded before shutdown stays unchained

    def _loop(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                chain_all(self.sessions)
            except Exception as error:  # keep chaining on the next tick
                log.error("audit chaining failed", extra={"error_type": type(error).__name__})
