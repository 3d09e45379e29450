"""Ingest benchmark: signed submissions against a running service on PostgreSQL, each with
its floor measured in the same run, and the server's memory against the body's size.

    .venv/bin/python bench/ingest.py [--sizes 10000,100000,400000] [--postgres URL]
    .venv/bin/python bench/ingest.py --sizes 10000          # a quick run

For each size: floor = pydantic validation of the same bytes + a PostgreSQL COPY of the same
rows; the service = the POST (gzip body) until its receipt, on a freshly started server,
whose peak memory (VmHWM) over its idle size is its growth. Prints seconds, records/s, the
ratio to the floor and the memory curve: growth against body size, for every size.
Goals: ratio <= 1.3 and growth <= 2x the body.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

from cli.client import fetch_token
from cli.signing import detached_signature
from schemas.submissions import SubmissionIn
from services.access.keys import generate_key_pair, load_private_key
from services.intake.records import health_record_row
from services.store.bulk import copy_rows
from services.store.tables import HealthRecord
from services.synthetic import build_submission, generate_health_records

RATIO_GOAL = 1.3
GROWTH_GOAL = 2.0


@dataclass(frozen=True)
class Measured:
    records: int
    body_bytes: int
    floor: float
    service: float
    client_side: float
    idle_rss: int
    peak_rss: int
    # CPU seconds (user + system) of each side's Python process and of its PostgreSQL
    # backends: less moved by other work on the machine than the wall-clock seconds.
    floor_cpu: tuple[float, float]
    service_cpu: tuple[float, float]

    @property
    def ratio(self) -> float:
        return self.service / self.floor

    @property
    def growth(self) -> float:
        return (self.peak_rss - self.idle_rss) / self.body_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--sizes",
        default="10000,100000,400000",
        help="comma-separated record counts, one submission each (default: %(default)s)",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "CME_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument(
        "--prefix",
        default="cme_bench_",
        help="name prefix of the throwaway databases, one per size (default: %(default)s)",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="record the server with py-spy during each POST: DIR/ingest-N.txt, collapsed "
        "stacks (slows it)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="measure each size this many times (each on a fresh database and server) and "
        "report the run with the median ratio and the largest growth (default: %(default)s)",
    )
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    profile = Path(args.profile) if args.profile else None

    print(f"load average before: {_load()}", flush=True)
    results = []
    for count in sizes:
        runs = [measure(args.postgres, count, args.prefix, profile) for _ in range(args.repeat)]
        if len(runs) > 1:
            ratios = ", ".join(f"{run.ratio:.2f}" for run in runs)
            print(f"{count:,} records: ratios run by run {ratios}", flush=True)
        results.append(_best(runs))
    report(results)
    print(f"load average after: {_load()} (2 cores: above 2, other work competed)")


def _best(runs: list[Measured]) -> Measured:
    """The run with the median ratio (floor and POST of one run: noise on a shared machine
    hits both), with the largest growth of any run (memory is not helped by the noise)."""
    middle = sorted(runs, key=lambda run: run.ratio)[len(runs) // 2]
    grown = max(runs, key=lambda run: run.growth)
    return replace(middle, idle_rss=grown.idle_rss, peak_rss=grown.peak_rss)


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def measure(postgres: str, count: int, prefix: str, profile: Path | None) -> Measured:
    """One size on its own database and its own server, so each peak is that size's."""
    with throwaway_database(postgres, prefix) as url:
        return run(url, count, Path(tempfile.mkdtemp(prefix="cme-bench-")), profile)


@contextmanager
def throwaway_database(postgres: str, prefix: str) -> Iterator[str]:
    """The URL of a new database on `postgres`'s server, dropped on leaving."""
    admin_url = make_url(postgres)
    database = f"{prefix}{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(
        admin_url.set(drivername="postgresql").render_as_string(False), autocommit=True
    )
    admin.execute(f'CREATE DATABASE "{database}"')
    try:
        yield admin_url.set(database=database).render_as_string(False)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()


def migrated(url: str, workdir: Path, port: int) -> tuple[dict[str, str], str]:
    """The environment of a service on `url` answering on `port`, its database migrated,
    and the `cme` command that runs it."""
    env = {
        **os.environ,
        "CME_DATABASE_URL": url,
        "CME_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "CME_DEV_KEY_DIR": str(workdir / "keys"),
        "CME_LOG_LEVEL": "WARNING",
    }
    cme = str(Path(sys.executable).with_name("cme"))
    subprocess.run([cme, "db", "upgrade"], env=env, check=True, capture_output=True)
    return env, cme


def run(url: str, count: int, workdir: Path, profile: Path | None) -> Measured:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env, cme = migrated(url, workdir, port)
    private_pem, public = generate_key_pair("ec")
    (workdir / "board.jwk").write_text(json.dumps(public.as_dict()))
    registered = subprocess.run(
        [
            cme,
            "clients",
            "add",
            "--org",
            "7A4",
            "--name",
            "bench",
            "--scope",
            "submissions:write",
            "--public-key",
            str(workdir / "board.jwk"),
            "--json",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    client_id = json.loads(registered.stdout)["client_id"]

    extracted_at = datetime.now(UTC).replace(microsecond=0)
    records = generate_health_records(
        count=count, la_codes=["W06000015", "W06000014"], reference_date=date.today(), seed=2026
    )
    body = json.dumps(
        build_submission(lhb_code="7A4", records=records, extracted_at=extracted_at),
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    del records
    print(f"{count} records: body {len(body) / 1e6:.1f} MB", flush=True)

    floor, floor_cpu = measure_floor(url, body)

    with served(cme, env, port) as server:
        key, alg = load_private_key(private_pem)
        with httpx.Client(base_url=base, timeout=600) as http:
            token = fetch_token(http, private_key=key, alg=alg, client_id=client_id, base_url=base)
            idle = _peak_rss(server.pid)
            cpu_before = _cpu_seconds(server.pid), _backends_cpu(url)
            sampler = _sample(server.pid, profile, count) if profile else None
            started = time.perf_counter()
            signature = detached_signature(key=key, alg=alg, body=body)
            compressed = gzip.compress(body, compresslevel=1)
            prepared = time.perf_counter()
            response = http.post(
                "/v1/submissions",
                content=compressed,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/json",
                    "Content-Encoding": "gzip",
                    "X-JWS-Signature": signature,
                },
            )
            client_side, elapsed = prepared - started, time.perf_counter() - prepared
            service_cpu = (
                _cpu_seconds(server.pid) - cpu_before[0],
                _backends_cpu(url) - cpu_before[1],
            )
        if sampler is not None:
            sampler.send_signal(signal.SIGINT)
            sampler.wait(timeout=60)
        assert response.status_code == 201, response.text[:500]
        peak = _peak_rss(server.pid)
    return Measured(
        count, len(body), floor, elapsed, client_side, idle, peak, floor_cpu, service_cpu
    )


def report(results: list[Measured]) -> None:
    print()
    print(
        f"{'records':>9}{'body MB':>9}{'floor s':>9}{'service s':>11}{'records/s':>11}{'ratio':>7}"
    )
    for m in results:
        print(
            f"{m.records:>9,}{m.body_bytes / 1e6:>9.1f}{m.floor:>9.2f}{m.service:>11.2f}"
            f"{m.records / m.service:>11,.0f}{m.ratio:>7.2f}"
        )
    print("floor: pydantic validate + COPY of the same bytes and rows, in the same run")
    print()
    print("CPU seconds: the Python process + its PostgreSQL backends, floor and service")
    print(f"{'records':>9}{'floor':>16}{'service':>16}{'x floor':>9}")
    for m in results:
        floor, service = sum(m.floor_cpu), sum(m.service_cpu)
        print(
            f"{m.records:>9,}{m.floor_cpu[0]:>9.2f} +{m.floor_cpu[1]:>5.2f}"
            f"{m.service_cpu[0]:>9.2f} +{m.service_cpu[1]:>5.2f}{service / floor:>9.2f}"
        )
    print("service: POST of the gzip body until the receipt (client signing and gzip excluded:")
    print("  " + ", ".join(f"{m.client_side:.2f} s at {m.records:,}" for m in results) + ")")
    print()
    print("memory curve: server peak RSS (VmHWM) over its idle RSS, against the body")
    print(f"{'records':>9}{'body MB':>9}{'idle MB':>9}{'peak MB':>9}{'growth MB':>11}{'x body':>8}")
    for m in results:
        print(
            f"{m.records:>9,}{m.body_bytes / 1e6:>9.1f}{m.idle_rss / 1e6:>9.0f}"
            f"{m.peak_rss / 1e6:>9.0f}{(m.peak_rss - m.idle_rss) / 1e6:>11.0f}{m.growth:>8.2f}"
        )
    print()
    for m in results:
        print(
            f"{m.records:,} records: ratio to floor = {m.ratio:.2f} (goal <= {RATIO_GOAL}), "
            f"growth = {m.growth:.2f}x body (goal <= {GROWTH_GOAL}x)"
        )


def measure_floor(url: str, body: bytes) -> tuple[float, tuple[float, float]]:
    """Wall-clock seconds, and CPU seconds of this process and of its PostgreSQL backend."""
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(False)
    started, cpu_started = time.perf_counter(), time.process_time()
    submission = SubmissionIn.model_validate_json(body)
    rows = (health_record_row("7A4", str(submission.submission_id), r) for r in submission.records)
    with psycopg.connect(conninfo) as connection:
        backend = connection.info.backend_pid
        backend_before = _cpu_seconds(backend)
        # A regular table, committed: like the service's rows it is written to the WAL
        # and flushed (a TEMP table would skip both and flatter the floor).
        connection.execute("CREATE TABLE floor_copy (LIKE health_records INCLUDING ALL)")
        copy_rows(connection, rows, HealthRecord, into="floor_copy")
        connection.commit()
        backend_cpu = _cpu_seconds(backend) - backend_before
    elapsed = time.perf_counter() - started
    return elapsed, (time.process_time() - cpu_started, backend_cpu)


def _sample(pid: int, profile: Path, count: int) -> subprocess.Popen[bytes]:
    """py-spy recording the server (every thread) until interrupted."""
    profile.mkdir(parents=True, exist_ok=True)
    py_spy = str(Path(sys.executable).with_name("py-spy"))
    out = profile / f"ingest-{count}.txt"
    command = [py_spy, "record", "--pid", str(pid), "--rate", "500", "--format", "raw"]
    command += ["-o", str(out)]
    sampler = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)  # py-spy attaches before the POST starts
    return sampler


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(cme: str, env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    """`cme serve` on `port` with `env`, once it answers ready; stopped on leaving."""
    server = subprocess.Popen(
        [cme, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_ready(f"http://127.0.0.1:{port}")
        yield server
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def _wait_ready(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("service did not become ready")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (0 once it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _backends_cpu(url: str) -> float:
    """CPU seconds of the PostgreSQL backends connected to `url`'s database (the server's
    pool), read from the server's side: this query's own backend is left out."""
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        pids = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        ).fetchall()
    return sum(_cpu_seconds(pid) for (pid,) in pids)


def _peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


if __name__ == "__main__":
    main()
