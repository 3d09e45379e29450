"""Ingest benchmark: a signed 100,000-record submission against a running service on
PostgreSQL, with its floor measured in the same run.

    .venv/bin/python bench/ingest.py [--records 100000] [--postgres URL]

Floor = pydantic validation of the same bytes + a PostgreSQL COPY of the same rows.
Prints seconds, records/s, the ratio to the floor and the server's peak memory (VmHWM)
against the body size. Targets: ratio <= 1.5, peak memory <= 4x the body size.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "CME_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()

    admin_url = make_url(args.postgres)
    database = f"cme_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(
        admin_url.set(drivername="postgresql").render_as_string(False), autocommit=True
    )
    admin.execute(f'CREATE DATABASE "{database}"')
    url = admin_url.set(database=database).render_as_string(False)
    workdir = Path(tempfile.mkdtemp(prefix="cme-bench-"))
    try:
        run(url, args.records, workdir)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()


def run(url: str, count: int, workdir: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "CME_DATABASE_URL": url,
        "CME_PUBLIC_BASE_URL": base,
        "CME_DEV_KEY_DIR": str(workdir / "keys"),
        "CME_LOG_LEVEL": "WARNING",
    }
    cme = str(Path(sys.executable).with_name("cme"))
    subprocess.run([cme, "db", "upgrade"], env=env, check=True, capture_output=True)
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
    print(f"body: {len(body) / 1e6:.1f} MB, {count} records")

    floor = measure_floor(url, body)

    server = subprocess.Popen(
        [cme, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_ready(base)
        key, alg = load_private_key(private_pem)
        with httpx.Client(base_url=base, timeout=600) as http:
            token = fetch_token(http, private_key=key, alg=alg, client_id=client_id, base_url=base)
            idle = _peak_rss(server.pid)
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
        assert response.status_code == 201, response.text[:500]
        peak = _peak_rss(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    print()
    print(f"{'measure':<44}{'seconds':>10}{'records/s':>12}")
    print(f"{'floor: pydantic validate + COPY':<44}{floor:>10.2f}{count / floor:>12,.0f}")
    print(
        f"{'service: POST until receipt (gzip body)':<44}{elapsed:>10.2f}{count / elapsed:>12,.0f}"
    )
    print(f"{'client: sign + gzip before sending':<44}{client_side:>10.2f}")
    print(f"ratio to floor: {elapsed / floor:.2f} (target <= 1.5)")
    growth = peak - idle
    print(f"server peak RSS: {peak / 1e6:.0f} MB = {peak / len(body):.1f}x body")
    print(
        f"server growth over idle ({idle / 1e6:.0f} MB): {growth / 1e6:.0f} MB = "
        f"{growth / len(body):.1f}x body (target <= 4x)"
    )


def measure_floor(url: str, body: bytes) -> float:
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(False)
    started = time.perf_counter()
    submission = SubmissionIn.model_validate_json(body)
    rows = (health_record_row("7A4", str(submission.submission_id), r) for r in submission.records)
    with psycopg.connect(conninfo) as connection:
        # A regular table, committed: like the service's rows it is written to the WAL
        # and flushed (a TEMP table would skip both and flatter the floor).
        connection.execute("CREATE TABLE floor_copy (LIKE health_records INCLUDING ALL)")
        copy_rows(connection, rows, HealthRecord, into="floor_copy")
    return time.perf_counter() - started


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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


def _peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


if __name__ == "__main__":
    main()
