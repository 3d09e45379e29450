"""Load benchmark: many concurrent clients against the service on PostgreSQL, with a bare
FastAPI endpoint and the floor endpoint (bench/floor.py) measured in the same run as the
baselines.

    .venv/bin/python bench/load.py [--clients 200] [--seconds 60] [--workers 2]
    .venv/bin/python bench/load.py --seconds 10 --clients 50        # quick run

Creates a throwaway database on the local server, migrates it, registers local-authority
and health-board clients with `cme clients add`, seeds cases, then runs two phases with
the same load generator, concurrency and duration:

1. bare: `GET /ping` -> constant JSON, from bench/floor.py under uvicorn with the same
   worker count and server options as `cme serve`;
2. floor: the same server's floor endpoint: the service's case-page and case SQL through
   psycopg, encoded with orjson, no authentication, no audit; pages and reads in the
   service's proportions;
3. service: `cme serve --workers N`, each client closed-loop (no think time unless
   `--think-ms`), mixing case pages (`limit=100`, following `next_cursor` half the time),
   single-case reads and small signed delta submissions (5 records), 70/25/5 by default.

The generator is one asyncio process speaking HTTP/1.1 keep-alive on raw sockets (one
connection per client): httpx.AsyncClient with 200 pooled connections managed under 100
requests/s here, so it would have measured itself rather than the service. Prints per
request type count, p50, p99, errors (non-2xx other than 429, timeouts, broken
connections) and 429s; throughput; `ratio to floor endpoint = X`; where the CPU went
(generator, server processes, PostgreSQL, everything else on the machine); with py-spy
(unless `--no-profile`), where the service's workers spend their time, step by step (on
PostgreSQL a case page or read is one statement on the event loop: grant check, read and
audit insert, counted as one step); what PostgreSQL backends were waiting on; and EXPLAIN
ANALYZE of the case-page queries on the seeded data. Targets: no errors except 429s,
case page p99 <= 100 ms, throughput >= 50% of the floor endpoint's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import psycopg
import uvloop
from sqlalchemy import and_, insert, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from cli.main import SERVER_OPTIONS
from cli.signing import ASSERTION_TYPE, PrivateKey, client_assertion, detached_signature
from schemas.identifiers import nhs_number_check_digit
from schemas.organisations import local_authority_codes
from services.access.keys import SigningAlgorithm, generate_key_pair, load_private_key
from services.caller import Caller
from services.cases.child import fingerprint
from services.cases.queries import visible
from services.logs import configure_logging
from services.store.db import make_engine
from services.store.tables import CmeCase

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
HEALTH_BOARDS = ["7A1", "7A2", "7A3", "7A4", "7A5", "7A6", "7A7"]
PAGE_FIRST, PAGE_NEXT, READ, SUBMIT, BARE, TOKEN = (
    "case page (first)",
    "case page (cursor)",
    "case read",
    "submission (5 rec)",
    "bare GET /ping",
    "token (refresh)",
)
TOKEN_REFRESH_MARGIN = 60.0  # seconds before expiry
CASE_PAGE_P99_TARGET_MS = 100.0
FLOOR_RATIO_TARGET = 0.50

# ---------------------------------------------------------------------------- set-up


@dataclass(frozen=True)
class Client:
    client_id: str
    org: str
    key: PrivateKey
    alg: SigningAlgorithm


@dataclass
class Plan:
    clients: int
    seconds: float
    warmup: float
    timeout: float
    think: float
    weights: tuple[float, float, float]
    follow_cursor: float
    records_per_submission: int
    la_clients: list[Client] = field(default_factory=list)
    board_clients: list[Client] = field(default_factory=list)
    case_ids: dict[str, list[str]] = field(default_factory=dict)  # readable ones, per LA


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=200, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=60, help="measured seconds per phase")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--warmup", type=float, default=None, help="unmeasured seconds first")
    parser.add_argument(
        "--timeout",
        type=float,
        default=35,
        help="per-request timeout (s); above the 30 s SQLAlchemy pool timeout so that the "
        "service's own 500s are seen rather than masked by ours",
    )
    parser.add_argument("--think-ms", type=float, default=0, help="pause between requests")
    parser.add_argument("--mix", default="70,25,5", help="case pages,case reads,submissions")
    parser.add_argument("--authorities", type=int, default=5)
    parser.add_argument("--cases-per-authority", type=int, default=2000)
    parser.add_argument("--la-clients", type=int, default=20)
    parser.add_argument("--board-clients", type=int, default=4)
    parser.add_argument(
        "--rate-limit-per-minute",
        type=int,
        default=1_000_000,
        help="CME_RATE_LIMIT_PER_MINUTE for the service (the buckets still run; 429s are "
        "counted apart). 600 is the service default.",
    )
    parser.add_argument("--log-level", default="INFO", help="CME_LOG_LEVEL of both servers")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "CME_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument(
        "--profile",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="sample the service's workers with py-spy in the measured window (where the "
        "time goes); needs py-spy (a dev dependency) and ptrace rights",
    )
    parser.add_argument(
        "--profile-stacks",
        type=Path,
        default=None,
        help="also keep py-spy's sampled stacks in this file (collapsed stacks, one per line, "
        "for a flame graph)",
    )
    parser.add_argument("--serve-bare", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare is not None:
        serve_bare(args.serve_bare, args.workers, args.log_level)
        return
    admin_url = make_url(args.postgres)
    if admin_url.host not in ("127.0.0.1", "localhost", None):
        raise SystemExit("this benchmark only talks to a local PostgreSQL (127.0.0.1)")
    mix = tuple(float(part) for part in args.mix.split(","))
    if len(mix) != 3 or sum(mix) <= 0:
        raise SystemExit("--mix takes three weights: case pages,case reads,submissions")
    plan = Plan(
        clients=args.clients,
        seconds=args.seconds,
        warmup=args.warmup if args.warmup is not None else min(5.0, args.seconds / 4),
        timeout=args.timeout,
        think=args.think_ms / 1000,
        weights=(mix[0], mix[1], mix[2]),
        follow_cursor=0.5,
        records_per_submission=5,
    )
    database = f"cme_load_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(
        admin_url.set(drivername="postgresql").render_as_string(False), autocommit=True
    )
    admin.execute(f'CREATE DATABASE "{database}"')
    url = admin_url.set(database=database).render_as_string(False)
    workdir = Path(tempfile.mkdtemp(prefix="cme-load-"))
    try:
        run(args, plan, url, workdir)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()
        shutil.rmtree(workdir, ignore_errors=True)  # client keys and server logs


def run(args: argparse.Namespace, plan: Plan, url: str, workdir: Path) -> None:
    port = _free_port()
    base = f"http://{HOST}:{port}"
    env = {
        **os.environ,
        "CME_DATABASE_URL": url,
        "CME_PUBLIC_BASE_URL": base,
        "CME_DEV_KEY_DIR": str(workdir / "keys"),
        "CME_LOG_LEVEL": args.log_level,
        "CME_RECONCILE_IN_PROCESS": "false",
        "CME_RATE_LIMIT_PER_MINUTE": str(args.rate_limit_per_minute),
        "CME_RATE_LIMIT_BURST": str(max(120, args.rate_limit_per_minute // 60)),
    }
    cme = str(Path(sys.executable).with_name("cme"))
    started = time.perf_counter()
    subprocess.run([cme, "db", "upgrade"], env=env, check=True, capture_output=True)
    authorities = sorted(local_authority_codes())[: args.authorities]
    la_orgs = [authorities[i % len(authorities)] for i in range(args.la_clients)]
    board_orgs = [HEALTH_BOARDS[i % len(HEALTH_BOARDS)] for i in range(args.board_clients)]
    plan.la_clients = register_clients(cme, env, workdir, la_orgs, ["cme:read", "cme:write"])
    plan.board_clients = register_clients(cme, env, workdir, board_orgs, ["submissions:write"])
    plan.case_ids = seed_cases(url, authorities, args.cases_per_authority)
    print(
        f"set-up: {len(plan.la_clients)} authority clients over {len(authorities)} authorities, "
        f"{len(plan.board_clients)} health-board clients, "
        f"{args.cases_per_authority * len(authorities):,} cases seeded "
        f"({time.perf_counter() - started:.0f} s)"
    )
    print(
        f"load: {plan.clients} closed-loop clients, {plan.warmup:.0f} s warm-up + "
        f"{plan.seconds:.0f} s measured per phase, {args.workers} server workers, "
        f"{os.cpu_count()} CPUs, think {plan.think * 1000:.0f} ms, timeout {plan.timeout:.0f} s"
    )

    bare_port = _free_port()
    bare_cmd = [sys.executable, __file__, "--serve-bare", str(bare_port)]
    bare_cmd += ["--workers", str(args.workers), "--log-level", args.log_level]
    with _server(bare_cmd, env, workdir / "bare.log", f"http://{HOST}:{bare_port}/ping") as pid:
        bare = uvloop.run(drive(plan, bare_port, base, phase="bare", server_pid=pid))
        floor = uvloop.run(drive(plan, bare_port, base, phase="floor", server_pid=pid))
    print()
    bare.report(f"bare FastAPI endpoint, uvicorn --workers {args.workers}")
    print()
    floor.report(
        f"floor endpoint (same SQL, psycopg, orjson; no auth, no audit), "
        f"uvicorn --workers {args.workers}"
    )

    serve_cmd = [cme, "serve", "--port", str(port), "--workers", str(args.workers)]
    with _server(serve_cmd, env, workdir / "service.log", f"{base}/readyz") as pid:
        waits = WaitSampler(url)
        waits.start()
        profile = Profiler(pid, plan, args.profile_stacks) if args.profile else None
        try:
            service = uvloop.run(drive(plan, port, base, phase="service", server_pid=pid))
        finally:
            waits.stop()
    print()
    service.report(f"CME Exchange, cme serve --workers {args.workers}")
    waits.report()
    if profile is not None:
        profile.report()
    verdict(service, bare, floor)
    explain(url, authorities[0])
    log_tail = (workdir / "service.log").read_text(errors="replace").splitlines()
    problems = [line for line in log_tail if '"level": "ERROR"' in line or "Traceback" in line]
    if problems:
        print(f"\nservice log: {len(problems)} error lines, first: {problems[0][:300]}")


def register_clients(
    cme: str, env: dict[str, str], workdir: Path, orgs: list[str], scopes: list[str]
) -> list[Client]:
    """`cme clients add` for each organisation, four at a time."""
    pending: list[tuple[str, str, subprocess.Popen[str]]] = []
    done: list[Client] = []

    def finish(org: str, pem: str, process: subprocess.Popen[str]) -> None:
        out, err = process.communicate(timeout=120)
        if process.returncode != 0:
            raise SystemExit(f"cme clients add failed: {err[-500:]}")
        key, alg = load_private_key(pem)
        done.append(Client(json.loads(out)["client_id"], org, key, alg))

    for index, org in enumerate(orgs):
        pem, public = generate_key_pair("ec")
        jwk = workdir / f"client-{org}-{index}.jwk"
        jwk.write_text(json.dumps(public.as_dict()))
        command = [cme, "clients", "add", "--org", org, "--name", f"load {org} {index}"]
        command += [arg for scope in scopes for arg in ("--scope", scope)]
        command += ["--public-key", str(jwk), "--json"]
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        pending.append((org, pem, process))
        if len(pending) >= 4:
            finish(*pending.pop(0))
    for item in pending:
        finish(*item)
    return done


def seed_cases(url: str, authorities: list[str], per_authority: int) -> dict[str, list[str]]:
    """Cases as reconciliation leaves them (cf. tests.factories.make_case), bulk inserted.

    Per authority: about 3% sensitive (no address; invisible without cme:sensitive), 15%
    closed, 15% possible matches with two candidates; updated_at spread over 90 days."""
    rng = random.Random(436)
    now = datetime.now(UTC)
    given = ["Cerys", "Tomos", "Megan", "Dylan", "Seren", "Osian", "Ffion", "Rhys", "Alys"]
    family = ["Jones", "Williams", "Davies", "Evans", "Thomas", "Roberts", "Hughes", "Lewis"]
    readable: dict[str, list[str]] = {la: [] for la in authorities}
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            serial = 0
            for la in authorities:
                rows: list[dict[str, Any]] = []
                for _ in range(per_authority):
                    serial += 1
                    sensitive = rng.random() < 0.03
                    closed = rng.random() < 0.15
                    roll = rng.random()
                    reason = (
                        "possible_match_needs_review"
                        if roll < 0.15
                        else "ehe_suitability_not_assured"
                        if roll < 0.30
                        else "not_found_in_education_records"
                    )
                    child: dict[str, Any] = {
                        "given_name": rng.choice(given),
                        "middle_names": None if rng.random() < 0.6 else rng.choice(given),
                        "family_name": rng.choice(family),
                        "former_names": [],
                        "date_of_birth": (
                            date(2010, 9, 1) + timedelta(days=rng.randrange(3650))
                        ).isoformat(),
                        "sex": rng.choice(["F", "M"]),
                        "address": None
                        if sensitive
                        else {
                            "lines": [f"{rng.randrange(1, 200)} Heol y Bont", "Treganna"],
                            "postcode": "CF11 9AB",
                            "last_known": False,
                        },
                        "nhs_number": _nhs_number(serial) if rng.random() < 0.8 else None,
                    }
                    identified = now - timedelta(days=90, seconds=rng.randrange(86400))
                    updated = now - timedelta(seconds=rng.randrange(90 * 86400))
                    case_id = str(uuid.uuid4())
                    rows.append(
                        {
                            "case_id": case_id,
                            "la_code": la,
                            "status": "closed" if closed else "open",
                            "reason": reason,
                            "sensitive": sensitive,
                            "do_not_contact": False,
                            "child": child,
                            "child_fingerprint": fingerprint(child),
                            "source_lhb_code": "7A4",
                            "source_submission_id": str(uuid.uuid4()),
                            "source_record_id": f"seed-{serial:07d}",
                            "candidates": _candidates(rng)
                            if reason == "possible_match_needs_review"
                            else [],
                            "identified_at": identified,
                            "updated_at": updated,
                            "closed_at": updated if closed else None,
                            "outcome": "registered_at_school" if closed else None,
                            "note": None,
                            "version": 1,
                            "restricted": False,
                        }
                    )
                    if not sensitive:
                        readable[la].append(case_id)
                for start in range(0, len(rows), 1000):
                    session.execute(insert(CmeCase), rows[start : start + 1000])
            session.commit()
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE cme_cases")
            connection.commit()
    finally:
        engine.dispose()
    return readable


def _candidates(rng: random.Random) -> list[dict[str, Any]]:
    return [
        {
            "education_record_id": f"upn-{rng.randrange(10**6):06d}",
            "provision": "maintained_school",
            "match_probability": round(rng.uniform(0.5, 0.95), 3),
            "agreement": {
                "given_name": "exact",
                "family_name": "fuzzy",
                "date_of_birth": "exact",
                "postcode": "disagree",
            },
        }
        for _ in range(2)
    ]


def _nhs_number(serial: int) -> str:
    """A never-issued NHS number (999 range) with a valid modulus-11 check digit."""
    for offset in range(100):
        first_nine = f"999{(serial + offset) % 1_000_000:06d}"
        check = nhs_number_check_digit(first_nine)
        if check is not None:
            return first_nine + str(check)
    raise AssertionError("unreachable")


def serve_bare(port: int, workers: int, log_level: str) -> None:
    """The baseline server: the same uvicorn options as `cme serve`."""
    import uvicorn

    configure_logging(log_level)
    uvicorn.run(
        "bench.floor:app",
        host=HOST,
        port=port,
        workers=workers,
        app_dir=str(ROOT),
        **SERVER_OPTIONS,
    )


@contextlib.contextmanager
def _server(command: list[str], env: dict[str, str], log: Path, ready_url: str) -> Iterator[int]:
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_ready(ready_url, process, log)
        yield process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    lines = log.read_text(errors="replace").splitlines()
    first_error = next(
        (n for n, line in enumerate(lines) if "Traceback" in line or "ERROR" in line), -1
    )
    shown = "\n".join(lines[first_error : first_error + 30] if first_error >= 0 else lines[-20:])
    raise SystemExit(f"server did not become ready:\n{shown}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


# ------------------------------------------------------------------- HTTP/1.1 client


class TransportError(Exception):
    pass


class Connection:
    """One keep-alive HTTP/1.1 connection: a request at a time, reconnect after a failure."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, target: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        reader, writer = self.reader, self.writer
        lines = [f"{method} {target} HTTP/1.1", f"Host: {HOST}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].split(b"\r\n")
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise TransportError(f"bad status line {status_line[:80]!r}")
        status = int(parts[1])
        length: int | None = None
        chunked = close = False
        for line in header_lines:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower()
        if chunked:
            content = await self._chunked(reader)
        elif length is not None:
            content = await reader.readexactly(length)
        elif status in (204, 304) or status < 200:
            content = b""
        else:
            content, close = await reader.read(), True
        if close:
            self.close()
        return status, content

    @staticmethod
    async def _chunked(reader: asyncio.StreamReader) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


# ------------------------------------------------------------------------ generator


class Tokens:
    """One access token per registered client, shared by the clients using it, fetched
    once and refreshed TOKEN_REFRESH_MARGIN seconds before it expires."""

    def __init__(self, client: Client, base: str) -> None:
        self.client, self.base = client, base
        self.token = ""
        self.expires = 0.0
        self.lock = asyncio.Lock()

    async def get(self, connection: Connection, stats: Stats | None) -> str:
        if time.monotonic() < self.expires - TOKEN_REFRESH_MARGIN:
            return self.token
        async with self.lock:
            if time.monotonic() >= self.expires - TOKEN_REFRESH_MARGIN:
                started = time.monotonic()
                form = urlencode(
                    {
                        "grant_type": "client_credentials",
                        "client_assertion_type": ASSERTION_TYPE,
                        "client_assertion": client_assertion(
                            key=self.client.key,
                            alg=self.client.alg,
                            client_id=self.client.client_id,
                            token_url=f"{self.base}/oauth2/token",
                        ),
                    }
                ).encode()
                status, body = await connection.request(
                    "POST",
                    "/oauth2/token",
                    {"Content-Type": "application/x-www-form-urlencoded"},
                    form,
                )
                if stats is not None:
                    stats.add(TOKEN, time.monotonic() - started, status, body)
                if status != 200:
                    raise TransportError(f"token refused ({status}): {body[:200]!r}")
                answer = json.loads(body)
                self.token = str(answer["access_token"])
                self.expires = started + float(answer["expires_in"])
        return self.token


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    body_bytes: Counter[str] = field(default_factory=Counter)
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    examples: dict[tuple[str, int], str] = field(default_factory=dict)
    window: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)

    def add(self, kind: str, latency: float, status: int, body: bytes) -> None:
        self.latencies.setdefault(kind, []).append(latency)
        self.body_bytes[kind] += len(body)
        self.statuses.setdefault(kind, Counter())[status] += 1
        if not 200 <= status < 300 and (kind, status) not in self.examples:
            self.examples[(kind, status)] = body[:300].decode("utf-8", "replace")

    def count(self, kinds: list[str] | None = None, *, ok: bool = False) -> int:
        total = 0
        for kind, counter in self.statuses.items():
            if kind == TOKEN or (kinds is not None and kind not in kinds):
                continue
            total += sum(n for s, n in counter.items() if not ok or 200 <= s < 300)
        return total

    def errors(self, kind: str) -> int:
        return sum(n for s, n in self.statuses.get(kind, Counter()).items() if _is_error(s))

    def throughput(self, *, ok: bool = False) -> float:
        return self.count(ok=ok) / self.window if self.window else 0.0

    def report(self, title: str) -> None:
        print(f"== {title}: {self.window:.1f} s measured")
        header = f"{'request':<22}{'count':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        print(header + f"{'max ms':>9}{'errors':>8}{'429':>7}{'KB/resp':>9}")
        kinds = [
            k for k in (BARE, PAGE_FIRST, PAGE_NEXT, READ, SUBMIT, TOKEN) if k in self.latencies
        ]
        pages = [k for k in (PAGE_FIRST, PAGE_NEXT) if k in self.latencies]
        rows = [(k, self.latencies[k], k) for k in kinds]
        if len(pages) == 2:
            rows.insert(2, ("case page (all)", self.page_latencies(), ""))
        for label, values, kind in rows:
            ordered = sorted(values)
            statuses = (
                self.statuses[kind]
                if kind
                else sum((self.statuses[k] for k in pages), Counter[int]())
            )
            errors = sum(n for s, n in statuses.items() if _is_error(s))
            size = sum(self.body_bytes[k] for k in ([kind] if kind else pages)) / len(values)
            print(
                f"{label:<22}{len(values):>8}{len(values) / self.window:>9.1f}"
                f"{_pct(ordered, 50):>9.1f}{_pct(ordered, 99):>9.1f}{ordered[-1] * 1000:>9.1f}"
                f"{errors:>8}{statuses.get(429, 0):>7}{size / 1000:>9.1f}"
            )
        print(
            f"{'total':<22}{self.count():>8}{self.throughput():>9.1f}"
            f"{'':>27}{sum(self.errors(k) for k in kinds if k != TOKEN):>8}"
            f"{sum(self.statuses[k].get(429, 0) for k in kinds if k != TOKEN):>7}"
        )
        print(f"2xx throughput: {self.throughput(ok=True):.1f} req/s")
        for (kind, status), example in sorted(self.examples.items()):
            print(f"  first {status or 'transport error/timeout'} on {kind}: {example}")
        if self.cpu:
            spent = ", ".join(f"{name} {seconds:.1f}" for name, seconds in self.cpu.items())
            print(f"CPU seconds in the window: {spent}")

    def page_latencies(self) -> list[float]:
        return self.latencies.get(PAGE_FIRST, []) + self.latencies.get(PAGE_NEXT, [])


def _is_error(status: int) -> bool:
    return status != 429 and not 200 <= status < 300


def _pct(ordered: list[float], percentile: float) -> float:
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(percentile / 100 * len(ordered)) - 1))
    return ordered[index] * 1000


async def drive(plan: Plan, port: int, base: str, *, phase: str, server_pid: int) -> Stats:
    """One phase: `bare` (GET /ping), `floor` (the floor endpoint's pages and reads, mixed
    as the service's, no submissions) or `service`."""
    stats = Stats()
    service = phase == "service"
    la_tokens = [Tokens(client, base) for client in plan.la_clients] if service else []
    board_tokens = [Tokens(client, base) for client in plan.board_clients] if service else []
    if service:
        setup = Connection(port)
        for tokens in la_tokens + board_tokens:
            await tokens.get(setup, None)
        setup.close()
    start = time.monotonic()
    measure_from = start + plan.warmup
    deadline = measure_from + plan.seconds
    cpu: list[dict[str, float]] = []

    async def mark(moment: float) -> None:
        await asyncio.sleep(max(0.0, moment - time.monotonic()))
        cpu.append(_cpu_snapshot(server_pid))

    markers = [asyncio.create_task(mark(measure_from)), asyncio.create_task(mark(deadline))]
    await asyncio.gather(
        *(
            user(index, plan, port, stats, la_tokens, board_tokens, measure_from, deadline, phase)
            for index in range(plan.clients)
        )
    )
    await asyncio.gather(*markers)
    cpu_before, cpu_after = cpu
    # Requests started in the window are counted (those in flight at its end finish after).
    stats.window = plan.seconds
    # Backends that exit in the window take their CPU time with them: never below 0.
    stats.cpu = {n: max(0.0, cpu_after[n] - cpu_before.get(n, 0.0)) for n in cpu_after}
    # Anything else running on the machine in the window competes for the same cores.
    ours = stats.cpu["generator"] + stats.cpu["server"] + stats.cpu["postgres"]
    stats.cpu["other processes"] = max(0.0, stats.cpu["machine busy"] - ours)
    return stats


@dataclass
class User:
    """One closed-loop client: its connection, its authority and board, its cursor."""

    index: int
    plan: Plan
    connection: Connection
    la: Tokens | None
    board: Tokens | None
    rng: random.Random
    phase: str
    cursor: str | None = None
    sent: int = 0

    async def next_request(
        self, stats: Stats | None
    ) -> tuple[str, str, str, dict[str, str], bytes]:
        """kind, method, target, headers, body of the next request of the mix."""
        la, board, plan = self.la, self.board, self.plan
        if self.phase == "floor":
            return self.floor_request()
        if la is None or board is None:
            return BARE, "GET", "/ping", {}, b""
        org = la.client.org
        choice = self.rng.choices((0, 1, 2), weights=plan.weights)[0]
        if choice == 0:
            target, kind = f"/v1/local-authorities/{org}/cme-cases?limit=100", PAGE_FIRST
            if self.cursor is not None and self.rng.random() < plan.follow_cursor:
                target, kind = f"{target}&cursor={quote(self.cursor)}", PAGE_NEXT
            token = await la.get(self.connection, stats)
            return kind, "GET", target, {"Authorization": f"Bearer {token}"}, b""
        if choice == 1:
            case_id = self.rng.choice(plan.case_ids[org])
            target = f"/v1/local-authorities/{org}/cme-cases/{case_id}"
            token = await la.get(self.connection, stats)
            return READ, "GET", target, {"Authorization": f"Bearer {token}"}, b""
        self.sent += 1
        body = submission(board.client.org, org, self.index, self.sent, plan)
        headers = {
            "Content-Type": "application/json",
            "X-JWS-Signature": detached_signature(
                key=board.client.key, alg=board.client.alg, body=body
            ),
            "Authorization": f"Bearer {await board.get(self.connection, stats)}",
        }
        return SUBMIT, "POST", "/v1/submissions", headers, body

    def floor_request(self) -> tuple[str, str, str, dict[str, str], bytes]:
        """The service's pages and reads, in the same proportions, at the floor endpoint."""
        plan = self.plan
        org = plan.la_clients[self.index % len(plan.la_clients)].org
        if self.rng.choices((0, 1), weights=plan.weights[:2])[0] == 0:
            target, kind = f"/floor/{org}/cme-cases?limit=100", PAGE_FIRST
            if self.cursor is not None and self.rng.random() < plan.follow_cursor:
                target, kind = f"{target}&cursor={quote(self.cursor)}", PAGE_NEXT
            return kind, "GET", target, {}, b""
        case_id = self.rng.choice(plan.case_ids[org])
        return READ, "GET", f"/floor/{org}/cme-cases/{case_id}", {}, b""


async def user(
    index: int,
    plan: Plan,
    port: int,
    stats: Stats,
    la_tokens: list[Tokens],
    board_tokens: list[Tokens],
    measure_from: float,
    deadline: float,
    phase: str,
) -> None:
    state = User(
        index=index,
        plan=plan,
        connection=Connection(port),
        la=la_tokens[index % len(la_tokens)] if la_tokens else None,
        board=board_tokens[index % len(board_tokens)] if board_tokens else None,
        rng=random.Random(index),
        phase=phase,
    )
    connection = state.connection
    await asyncio.sleep(state.rng.random() * min(1.0, plan.warmup))  # stagger the start
    while (now := time.monotonic()) < deadline:
        record, started, kind = now >= measure_from, now, BARE
        try:
            kind, method, target, headers, body = await state.next_request(
                stats if record else None
            )
            started = time.monotonic()
            async with asyncio.timeout(plan.timeout):
                status, content = await connection.request(method, target, headers, body)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                TransportError, ValueError) as error:  # fmt: skip
            connection.close()
            if record:
                stats.add(kind, time.monotonic() - started, 0, repr(error).encode())
            continue
        if record:
            stats.add(kind, time.monotonic() - started, status, content)
        if kind in (PAGE_FIRST, PAGE_NEXT) and status == 200:
            state.cursor = _next_cursor(content)
        if plan.think:
            await asyncio.sleep(plan.think)
    connection.close()


def _next_cursor(body: bytes) -> str | None:
    """The page's next_cursor without parsing the whole page (it is the last field)."""
    at = body.rfind(b'"next_cursor":')
    if at < 0:
        return None
    rest = body[at + len(b'"next_cursor":') :].strip()
    if not rest.startswith(b'"'):
        return None
    return rest[1 : rest.index(b'"', 1)].decode("ascii")


def submission(lhb: str, la_code: str, user_index: int, sent: int, plan: Plan) -> bytes:
    extracted = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    records = [
        {
            "record_id": f"load-{user_index:04d}-{sent:06d}-{n}",
            "nhs_number": None,
            "given_name": "Cerys",
            "middle_names": "Mair",
            "family_name": "Jones",
            "former_names": [{"given_name": "Cerys", "family_name": "Price"}],
            "date_of_birth": "2015-03-02",
            "sex": "F",
            "address": {
                "lines": [f"{n + 1} Heol y Bont", "Treganna"],
                "postcode": "CF11 9AB",
                "last_known": False,
            },
            "local_authority_code": la_code,
            "gp_practice_code": "W97001",
            "sensitive": False,
            "date_of_death": None,
        }
        for n in range(plan.records_per_submission)
    ]
    document = {
        "submission_id": str(uuid.uuid4()),
        "lhb_code": lhb,
        "extract_type": "delta",
        "extracted_at": extracted.isoformat().replace("+00:00", "Z"),
        "records": records,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


# ------------------------------------------------------------------- where time goes


def _cpu_snapshot(server_pid: int) -> dict[str, float]:
    """CPU seconds so far: this generator, the server's process tree, PostgreSQL, and the
    whole machine (busy and idle, from /proc/stat)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    postgres = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        comm_end = raw.rindex(")")
        comm = raw[raw.index("(") + 1 : comm_end]
        fields = raw[comm_end + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / tick
        pid = int(entry.name)
        parents[pid], used[pid] = int(fields[1]), seconds
        if comm.startswith("postgres"):
            postgres += seconds
    tree = {server_pid}
    changed = True
    while changed:
        before = len(tree)
        tree |= {pid for pid, parent in parents.items() if parent in tree}
        changed = len(tree) != before
    total = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    jiffies = [int(value) for value in total]
    idle = (jiffies[3] + jiffies[4]) / tick
    return {
        "generator": time.process_time(),
        "server": sum(used.get(pid, 0.0) for pid in tree),
        "postgres": postgres,  # all backends, of every database
        "machine busy": sum(jiffies[:8]) / tick - idle,
        "machine idle": idle,
    }


# Where a sampled stack is, by the innermost of these frames it passes through (a stack in
# the grant check inside authentication counts as the grant check).
ONE_STATEMENT = "grant check, case query and audit insert: one statement (event loop)"
STEPS = [
    ("VerifiedTokens.claims", "token verification (signature, cached)"),
    ("token_is_current", "grant check (database, every request)"),
    ("_grant_stands (api/deps.py", "grant check (database, every request)"),
    ("throttle (api/deps.py", "rate limiting"),
    ("_session (api/deps.py", "session set-up and commit"),
    ("transaction (services/store/db.py", "session set-up and commit"),
    # Before the two below, whose names it shares: on PostgreSQL the grant check, the read
    # and its audit event are one statement.
    ("audited_reads.py", ONE_STATEMENT),
    ("case_page (api/reads.py", ONE_STATEMENT),
    ("case (api/reads.py", ONE_STATEMENT),
    ("list_case_rows", "case query (Core, psycopg)"),
    ("get_case_row", "case query (Core, psycopg)"),
    ("refusal_for_revoked_grant", "grant check (database, every request)"),
    ("list_cases (services", "case query (ORM, CSV)"),
    ("record (services/audit/trail.py", "audit insert"),
    ("chain_inbox", "audit chaining (background thread)"),
    ("chain_all (services/audit/chainer.py", "audit chaining (background thread)"),
    ("case_document", "shaping rows (case_document)"),
    ("json_response", "encoding (orjson)"),
    ("api/routes/submissions.py", "submissions (ingest)"),
    ("api/routes/token.py", "token endpoint"),
    ("prometheus_client", "request metrics"),
    ("logging/__init__.py", "logging"),
]
FRAMEWORK = "HTTP server, framework, thread pool (uvicorn, Starlette, FastAPI, anyio)"
# The event loop's own C code (uvloop, httptools) shows as its Python caller: busy or idle.
EVENT_LOOP = "event loop in C: HTTP parsing and sockets, or waiting for them"
# A thread waiting for work: a pool thread for a task, the event loop for sockets.
IDLE_LEAVES = ("Condition.wait (threading", "EpollSelector.select", "Connection._recv", "sleep")


class Profiler:
    """py-spy sampling the service's worker processes in the measured window (on-CPU
    stacks only), then each sample counted against the request step it was in."""

    def __init__(self, server_pid: int, plan: Plan, keep: Path | None) -> None:
        self.output = Path(tempfile.mkdtemp(prefix="cme-load-profile-")) / "stacks.txt"
        self.keep = keep
        self.seconds = plan.seconds
        self.problem: str | None = None
        found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        if not Path(found).exists():
            self.problem = "py-spy is not installed (pip install -e '.[dev]')"
            return
        # Every thread, idle ones too (sorted out below: py-spy's own idle detection misses
        # many waits), so a step's samples are its wall time, PostgreSQL waits included.
        command = [found, "record", "--pid", str(server_pid), "--subprocesses", "--idle"]
        command += ["--rate", "50", "--duration", str(int(plan.seconds)), "--format", "raw"]
        command += ["--output", str(self.output)]
        self.process: subprocess.Popen[bytes] | None = None
        self._timer = threading.Timer(plan.warmup, self._start, args=(command,))
        self._timer.start()

    def _start(self, command: list[str]) -> None:
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def report(self) -> None:
        print()
        if self.problem is None:
            self._timer.join()
            if self.process is not None:
                try:
                    _, err = self.process.communicate(timeout=self.seconds + 30)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    err = b"timed out"
                if not self.output.exists():
                    self.problem = f"py-spy failed: {err.decode(errors='replace')[-300:]}"
        if self.problem is not None:
            print(f"where the time goes: not sampled, {self.problem}")
            return
        steps: Counter[str] = Counter()
        waiting: Counter[str] = Counter()
        idle = 0
        for line in self.output.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            frames = stack.split(";")
            step = _step(frames)
            # The supervisor's own stacks (no worker process under it) are not requests, nor
            # is multiprocessing's resource tracker, a process that only waits.
            in_worker = any(frame.startswith("process ") for frame in frames[1:]) and not any(
                "resource_tracker.py" in frame for frame in frames
            )
            if step is None or not in_worker:
                idle += int(count)
                continue
            steps[step] += int(count)
            if "Connection.wait (psycopg" in frames[-1]:
                waiting[step] += int(count)
        if self.keep is not None:
            shutil.copyfile(self.output, self.keep)
        shutil.rmtree(self.output.parent, ignore_errors=True)
        total = sum(steps.values())
        if not total:
            print("where the time goes: no samples")
            return
        print(
            f"where the service's workers spend their time (py-spy, 50 Hz, every thread; "
            f"{total} busy samples, {idle} idle left out):"
        )
        print(f"  {'share':>6}  {'of it waiting on PostgreSQL':>28}  step")
        for step, samples in steps.most_common():
            print(f"  {samples / total:6.1%}  {waiting[step] / total:28.1%}  {step}")


def _step(frames: list[str]) -> str | None:
    """The request step a sampled stack is in, or None for a thread with nothing to do."""
    step = None
    for frame in frames:
        step = next((name for marker, name in STEPS if marker in frame), step)
    if step is not None:
        return step
    leaf = frames[-1]
    if any(wait in leaf for wait in IDLE_LEAVES):
        return None
    if leaf.startswith("Runner.run (asyncio"):
        return EVENT_LOOP
    return FRAMEWORK


class WaitSampler:
    """Every 100 ms: what the service's PostgreSQL backends are doing (state/wait event)."""

    def __init__(self, url: str) -> None:
        self.conninfo = make_url(url).set(drivername="postgresql").render_as_string(False)
        self.samples: Counter[str] = Counter()
        self.rounds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as connection:
            while not self._stop.wait(0.1):
                rows = connection.execute(
                    "SELECT state, wait_event_type, wait_event, left(query, 60), count(*) "
                    "FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
                    "GROUP BY 1, 2, 3, 4"
                ).fetchall()
                self.rounds += 1
                for state, wait_type, wait, query, count in rows:
                    if state == "idle":
                        label = "idle (in pool)"
                    else:
                        waiting = f"{wait_type}:{wait}" if wait_type else "on CPU"
                        label = f"{state} / {waiting}"
                        if state == "active":
                            label += f" / {' '.join(str(query).split())[:50]}"
                    self.samples[label] += int(count)

    def report(self) -> None:
        if not self.rounds:
            return
        print(f"PostgreSQL backends of the service, mean over {self.rounds} samples:")
        for label, count in self.samples.most_common(10):
            print(f"  {count / self.rounds:6.1f}  {label}")


def verdict(service: Stats, bare: Stats, floor: Stats) -> None:
    pages = sorted(service.page_latencies())
    p99 = _pct(pages, 99)
    floor_p99 = _pct(sorted(floor.page_latencies()), 99)
    errors = sum(service.errors(kind) for kind in service.statuses if kind != TOKEN)
    limited = sum(c.get(429, 0) for k, c in service.statuses.items() if k != TOKEN)
    to_bare = service.throughput(ok=True) / bare.throughput(ok=True)
    to_floor = service.throughput(ok=True) / floor.throughput(ok=True)
    print()
    print(
        f"throughput: {service.throughput(ok=True):.1f} / {floor.throughput(ok=True):.1f} "
        f"req/s (2xx): ratio to floor endpoint = {to_floor:.2f}"
    )
    print(
        f"case page p99: {p99:.1f} / {floor_p99:.1f} ms: ratio to floor endpoint = "
        f"{p99 / floor_p99:.2f}"
    )
    print(
        f"throughput: {service.throughput(ok=True):.1f} / {bare.throughput(ok=True):.1f} "
        f"req/s (2xx) = {to_bare:.2f} of the bare endpoint"
    )
    checks = [
        (f"no errors except 429s: {errors} errors, {limited} 429s", errors == 0),
        (f"case page p99 <= {CASE_PAGE_P99_TARGET_MS:.0f} ms: {p99:.1f} ms",
         p99 <= CASE_PAGE_P99_TARGET_MS),
        (f">= {FLOOR_RATIO_TARGET:.0%} of the floor endpoint's throughput: {to_floor:.0%}",
         to_floor >= FLOOR_RATIO_TARGET),
    ]  # fmt: skip
    for text, passed in checks:
        print(f"  [{'PASS' if passed else 'FAIL'}] {text}")


def explain(url: str, la_code: str) -> None:
    """EXPLAIN ANALYZE of the case-page queries as services.cases.list_cases builds them."""
    base = select(CmeCase).where(visible(Caller(org_code=la_code)))
    order = (CmeCase.updated_at, CmeCase.case_id)
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        middle = connection.execute(
            "SELECT updated_at, case_id FROM cme_cases WHERE la_code = %s "
            "ORDER BY updated_at, case_id OFFSET 1000 LIMIT 1",
            (la_code,),
        ).fetchone()
        statements = {"first page": base.order_by(*order).limit(101)}
        if middle is not None:
            after_time, after_id = middle
            statements["cursor page (mid-list)"] = (
                base.where(
                    or_(
                        CmeCase.updated_at > after_time,
                        and_(CmeCase.updated_at == after_time, CmeCase.case_id > after_id),
                    )
                )
                .order_by(*order)
                .limit(101)
            )
        indexes = connection.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'cme_cases' ORDER BY indexname"
        ).fetchall()
        print("\ncme_cases indexes:")
        for (definition,) in indexes:
            print(f"  {definition}")
        for name, statement in statements.items():
            compiled = statement.compile(dialect=postgresql.dialect())  # type: ignore[no-untyped-call]
            plan = connection.execute(
                "EXPLAIN (ANALYZE, BUFFERS) " + str(compiled),
                compiled.params,
            ).fetchall()
            print(f"\nEXPLAIN ANALYZE, {name} ({la_code}, limit 100):")
            for (line,) in plan:
                print(f"  {line}")


if __name__ == "__main__":
    main()
