"""Refuse to serve on a database configured to lose acknowledged writes."""

from __future__ import annotations

from sqlalchemy import Engine, text


class UnsafeDatabase(RuntimeError):
    pass


def check_durability(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as connection:
        fsync = connection.execute(text("SHOW fsync")).scalar_one()
        synchronous_commit = connection.execute(text("SHOW synchronous_commit")).scalar_one()
        full_page_writes = connection.execute(text("SHOW full_page_writes")).scalar_one()
    if fsync != "on":
        raise UnsafeDatabase("PostgreSQL has fsync off: acknowledged submissions could be lost.")
    if full_page_writes != "on":
        raise UnsafeDatabase(
            "PostgreSQL has full_page_writes off: a power loss could corrupt stored data."
        )
    if synchronous_commit == "off":
        raise UnsafeDatabase(
            "PostgreSQL has synchronous_commit off: acknowledged submissions could be lost."
        )
