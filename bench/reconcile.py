"""Reconciliation end to end on PostgreSQL: read, match, decide, write cases, delete.

    .venv/bin/python bench/reconcile.py                 # Cardiff-sized: 55,000 children
    .venv/bin/python bench/reconcile.py --children 10000
    .venv/bin/python bench/reconcile.py --all           # 22 authorities x 20,000 = 440,000
    .venv/bin/python bench/reconcile.py --all --workers 1

`--workers` `cme worker --drain` processes (default 2, one per core, as the README tells
an operator to run them) share the queue and run every authority's queued reconciliation,
as in production: each worker's first run trains the model and its later runs reuse the
parameters (`services/linkage/sharing.py`). The end-to-end time is wall-clock, from
starting the workers to the last one's exit (imports included); each run's own time is its
started/finished span. Peak memory is each worker's own high-water RSS (VmHWM, read from
the kernel while it runs), and their sum, which bounds what they held at once. The
baseline, measured in the same run on the same records, is `link()` alone, one authority
after another in this process, sharing its training in the same way, so the ratio shows
what the database work and the decisions add (and, with two workers, their contention for
the two cores). Targets: 55,000 x 55,000 in <= 20 s, all 22 authorities in <= 60 s, peak
memory <= 2 GB. Also prints the CME list's precision and recall against the synthetic truth,
and `EHE-a`: children whose home education the authority is assured of who became a case,
split into `def` (listed as missing outright: must be 0) and `rev` (sent to an officer,
as the assured-EHE safety net does when linkage missed them).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from schemas.organisations import organisation
from schemas.submissions import SubmissionIn
from services.caller import Caller
from services.intake.education import replace_education_records
from services.intake.received import ReceivedBody
from services.intake.records import health_record_row
from services.linkage import LinkageSettings, link
from services.linkage.sharing import SharedParameters
from services.reconciliation.load import load
from services.store.bulk import RowStream
from services.store.db import make_engine, session_factory
from services.store.schema_version import upgrade_to_head
from services.store.tables import CmeCase, HealthRecord, Reconciliation, Submission
from services.synthetic import Population, build_submission, generate_population
from services.synthetic.places import local_authority_codes
from services.synthetic.population import TRULY_MISSING, ChildTruth

CARDIFF = "W06000015"
Sessions = sessionmaker[Session]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--children", type=int, default=55_000)
    parser.add_argument("--all", action="store_true", help="all 22 authorities, 20,000 each")
    parser.add_argument("--workers", type=int, default=2, help="cme worker processes")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "CME_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    las = list(local_authority_codes()) if args.all else [CARDIFF]
    children = 20_000 if args.all else args.children
    admin_url = make_url(args.postgres)
    database = f"cme_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(
        admin_url.set(drivername="postgresql").render_as_string(False), autocommit=True
    )
    admin.execute(f'CREATE DATABASE "{database}"')
    try:
        run(admin_url.set(database=database).render_as_string(False), las, children, args.workers)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()


def run(url: str, las: list[str], children: int, workers: int) -> None:
    started = time.perf_counter()
    population = generate_population(
        la_codes=las, children_per_authority=children, reference_date=date.today(), seed=7
    )
    seconds = time.perf_counter() - started
    print(f"generated {len(population.health_records):,} children in {seconds:.1f} s")
    engine = make_engine(url)
    upgrade_to_head(engine)
    sessions = session_factory(engine)
    _load(sessions, population, las)
    # The synthetic population stays in this process for the quality figures. Frozen, the
    # collection `link()` makes as it finishes skips it, as it would in a worker, which
    # holds no population: otherwise the baseline would time walks of 440,000 children.
    gc.freeze()
    shared = LinkageSettings(shared=SharedParameters())  # trains once, as the worker does
    baselines = {la: _link_only(sessions, la, shared) for la in las}
    # Worker processes drain the queue, as in production (no start-up per authority).
    elapsed, peaks = _reconcile(url, workers)
    rows = []
    with sessions() as session:
        for job in session.scalars(select(Reconciliation).order_by(Reconciliation.started_at)):
            assert job.started_at is not None
            assert job.finished_at is not None
            seconds = (job.finished_at - job.started_at).total_seconds()
            quality = _quality(sessions, job.la_code, population.truth)
            rows.append((job.la_code, baselines[job.la_code], seconds, quality))
    engine.dispose()
    _print(rows, len(las), elapsed, peaks)


def _load(sessions: Sessions, population: Population, las: list[str]) -> None:
    by_board: dict[str, list[dict[str, object]]] = {}
    for record in population.health_records:
        board = organisation(str(record["local_authority_code"]))
        assert board is not None
        assert board.lhb_code is not None
        by_board.setdefault(board.lhb_code, []).append(record)
    now = datetime.now(UTC).replace(microsecond=0)
    with sessions() as session, session.begin():
        for lhb, records in by_board.items():
            submission = SubmissionIn.model_validate_json(
                json.dumps(build_submission(lhb_code=lhb, records=records, extracted_at=now))
            )
            session.add(
                Submission(
                    submission_id=str(submission.submission_id),
                    lhb_code=lhb,
                    client_id="bench",
                    extract_type="full",
                    extracted_at=now,
                    received_at=now,
                    body_sha256="0" * 64,
                    signature="bench",
                    body_gzip=b"",
                    record_count=len(records),
                    receipt={},
                )
            )
            session.flush()
            with RowStream(session, HealthRecord) as rows:
                rows.add(
                    health_record_row(lhb, str(submission.submission_id), r)
                    for r in submission.records
                )
    for la in las:
        body = json.dumps(
            {"as_of": date.today().isoformat(), "records": population.education_records_by_la[la]}
        ).encode()
        received = ReceivedBody(signature=None, compressed=False, keep_copy=False)
        received.write(body)
        received.finish()
        with sessions() as session, session.begin():
            replace_education_records(
                session=session,
                la_code=la,
                caller=Caller(org_code=la, client_id="bench"),
                body=received,
                media_type="json",
            )
        received.close()


def _link_only(sessions: Sessions, la: str, settings: LinkageSettings) -> float:
    """The baseline: the linkage engine alone on the same records."""
    with sessions() as session:
        # The run's own loading, so both sides link exactly the same children.
        work = load(session=session, la_code=la, today=date.today())
    started = time.perf_counter()
    link(
        health=[child.person for child in work.children],
        education=work.education,
        settings=settings,
    )
    return time.perf_counter() - started


def _reconcile(url: str, workers: int) -> tuple[float, list[int]]:
    """Wall-clock seconds for `workers` processes to drain the queue, and each one's peak
    RSS in bytes. Not getrusage's ru_maxrss: a child forked from this process (which holds
    the whole synthetic population) is charged this process's size."""
    env = {**os.environ, "CME_DATABASE_URL": url, "CME_LOG_LEVEL": "WARNING"}
    cme = str(Path(sys.executable).with_name("cme"))
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [cme, "worker", "--drain"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    peaks = [0] * workers
    while any(p.poll() is None for p in processes):
        for i, process in enumerate(processes):
            peaks[i] = max(peaks[i], _high_water_rss(process.pid))
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    for process in processes:
        if process.returncode != 0:
            raise subprocess.CalledProcessError(process.returncode, process.args)
    return elapsed, peaks


def _high_water_rss(pid: int) -> int:
    """VmHWM of a running process, in bytes (0 once it has exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def _quality(sessions: Sessions, la: str, truth: Mapping[str, ChildTruth]) -> dict[str, float]:
    with sessions() as session:
        job = session.scalars(select(Reconciliation).where(Reconciliation.la_code == la)).one()
        assert job.status == "succeeded", job.error_code
        cases = session.scalars(select(CmeCase).where(CmeCase.la_code == la)).all()
    listed = {c.source_record_id for c in cases}
    reasons = Counter(c.reason for c in cases)
    missing = {
        rid
        for rid, t in truth.items()
        if t.local_authority_code == la and t.category in TRULY_MISSING
    }
    assured = {
        rid
        for rid, t in truth.items()
        if t.local_authority_code == la and t.category == "ehe_assured"
    }
    reviewed = {c.source_record_id for c in cases if c.reason == "possible_match_needs_review"}
    considered = sum(1 for t in truth.values() if t.local_authority_code == la)
    hits = len(listed & missing)
    return {
        "precision": hits / len(listed) if listed else 1.0,
        "recall": hits / len(missing) if missing else 1.0,
        "ehe_assured_listed": float(len(listed & assured)),
        "ehe_assured_definite": float(len((listed - reviewed) & assured)),
        "ehe_assured_review": float(len(reviewed & assured)),
        "review_share": reasons["possible_match_needs_review"] / considered,
    }


def _print(
    rows: list[tuple[str, float, float, dict[str, float]]],
    count: int,
    wall: float,
    peaks: list[int],
) -> None:
    print()
    print(
        f"{'authority':<11}{'link() s':>10}{'run s':>8}{'ratio':>7}"
        f"{'precision':>11}{'recall':>8}{'EHE-a':>7}{'def':>4}{'rev':>4}{'review':>8}"
    )
    for la, baseline, elapsed, q in rows:
        print(
            f"{la:<11}{baseline:>10.1f}{elapsed:>8.1f}{elapsed / baseline:>7.2f}"
            f"{q['precision']:>11.3f}{q['recall']:>8.3f}{q['ehe_assured_listed']:>7.0f}"
            f"{q['ehe_assured_definite']:>4.0f}{q['ehe_assured_review']:>4.0f}"
            f"{q['review_share']:>8.2%}"
        )
    baseline_total = sum(r[1] for r in rows)
    print(
        f"link() alone, one authority after another: {baseline_total:.1f} s; the runs' own "
        f"spans add up to {sum(r[2] for r in rows):.1f} s"
    )
    print(
        f"peak RSS per worker: {', '.join(f'{p / 1e6:,.0f} MB' for p in peaks)}; "
        f"together at most {sum(peaks) / 1e6:,.0f} MB"
    )
    print(
        f"end to end, {len(peaks)} worker{'s' if len(peaks) > 1 else ''} started to last exit"
        f" (imports included), {count} authorit{'y' if count == 1 else 'ies'}: {wall:.1f} s;"
        f" ratio to link() alone {wall / baseline_total:.2f}"
    )
    definite = sum(r[3]["ehe_assured_definite"] for r in rows)
    review = sum(r[3]["ehe_assured_review"] for r in rows)
    print(
        f"assured-EHE children made a case: {definite:.0f} listed outright, {review:.0f} to review"
    )
    print("targets: one 55,000 authority <= 20 s; all 22 <= 60 s; peak <= 2,000 MB; EHE-a def 0")


if __name__ == "__main__":
    main()
