"""Crash-safety harness: kill the service and PostgreSQL under load, prove nothing is lost.

    .venv/bin/python -m tests.crash.harness --rounds 30 [--kill mixed|service|postgres|both]
        [--seed N] [--submissions 50] [--negative-control]

`--kill mixed` (the default) cycles service, postgres, both: 30 rounds are 10 of each.

It runs everything it needs by itself, on 127.0.0.1 only: a throwaway PostgreSQL cluster
(initdb into a temporary directory, `fsync=on`, `synchronous_commit=on`, on a free port;
run as user postgres when started as root) and `cme serve` as a subprocess against it
(`CME_RECONCILE_IN_PROCESS=false`, rate limiting off: one board firing 50 submissions at
once is what is wanted here), with one health-board client registered through
`cme clients add`. Each round fires N concurrent signed submissions (distinct
`submission_id`s, `delta` extracts of 20-200 records whose `record_id`s are unique across
the run), then, at a moment drawn from a seeded RNG while requests are in flight, kills the
service with SIGKILL, PostgreSQL with `pg_ctl stop -m immediate`, or both; restarts what it
killed; and has the clients resend every submission that got no 201/200 (same id, same
bytes: idempotency makes that safe). The database is then read directly:

- lost: a submission acknowledged with 201/200 that is missing, or stored with another
  body_sha256 than its receipt states;
- partial: a stored submission whose health_records are not exactly the records sent
  (count per submission_id against the receipt's records_by_local_authority total, and the
  record_id set against what the client sent);
- duplicated: a submission_id or a record stored twice, or a record under another
  submission than the one that carried it;
- unresolved: a submission not stored exactly once after the resends.

The per-round table and a final check over every round are printed; the exit code is 0
only when all of those are 0.

`--negative-control` shows the harness can see a loss. The service refuses to start when
its connections would have `synchronous_commit` off (this is checked first, with
`options=-c synchronous_commit=off` in CME_DATABASE_URL), so the cluster is switched to
asynchronous commit after the service has started (ALTER SYSTEM + pg_reload_conf, with
`wal_writer_delay=10000ms`) and PostgreSQL is killed right after every submission of the
round has been acknowledged. There the exit code is 0 only when the harness reports lost
acknowledged submissions.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
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
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx
import psycopg
from sqlalchemy.engine import URL

from cli.signing import ASSERTION_TYPE, PrivateKey, client_assertion, detached_signature
from services.access.keys import SigningAlgorithm, generate_key_pair, load_private_key
from services.access.signatures import SIGNATURE_HEADER
from services.synthetic import build_submission, generate_health_records

KillMode = Literal["service", "postgres", "both"]
KILL_CHOICES = ("mixed", "service", "postgres", "both")
_MIXED: tuple[KillMode, ...] = ("service", "postgres", "both")
LHB_CODE = "7A4"
LA_CODES = ("W06000015", "W06000014", "W06000011")
DATABASE = "cme"
_READY_SECONDS = 60.0
_REQUEST_SECONDS = 60.0
_RESEND_PASSES = 8
_POLL = 0.05
_MAX_RETRY_AFTER = 10.0


class HarnessError(RuntimeError):
    """The harness could not do what it had to (not a durability finding)."""


class HarnessUnavailable(HarnessError):
    """No PostgreSQL server binaries on this machine."""


@dataclass(frozen=True)
class Config:
    rounds: int = 10
    kill: str = "mixed"
    seed: int = 2026
    submissions: int = 50
    min_records: int = 20
    max_records: int = 200
    negative_control: bool = False
    time_cap_seconds: float = 1800.0

    def kill_mode(self, round_index: int) -> KillMode:
        if self.negative_control:
            return "postgres"
        if self.kill == "mixed":
            return _MIXED[round_index % len(_MIXED)]
        for mode in _MIXED:
            if self.kill == mode:
                return mode
        raise HarnessError(f"unknown kill mode {self.kill!r}")


@dataclass
class Sent:
    """One submission as its client knows it."""

    round_index: int
    submission_id: str
    body: bytes
    signature: str
    sha256: str
    record_ids: frozenset[str]
    retained: int
    receipt: dict[str, Any] | None = None
    acked_before_kill: bool = False
    resent: bool = False
    replayed: bool = False
    retry_after: float = 0.0
    problem: str | None = None


@dataclass
class Findings:
    lost: int = 0
    partial: int = 0
    duplicated: int = 0
    unresolved: int = 0
    bad_answers: int = 0
    details: list[str] = field(default_factory=list)

    @property
    def violations(self) -> int:
        return self.lost + self.partial + self.duplicated + self.unresolved + self.bad_answers


@dataclass(frozen=True)
class RoundRow:
    label: str
    kill: str
    sent: int
    acknowledged: int
    in_flight: int
    resent: int
    replayed: int
    findings: Findings
    seconds: float


@dataclass
class Report:
    config: Config
    rows: list[RoundRow] = field(default_factory=list)
    final: Findings = field(default_factory=Findings)
    unsafe_option_refused: bool | None = None
    audit_chain: str = ""
    audit_intact: bool = True
    seconds: float = 0.0

    @property
    def sent(self) -> int:
        return sum(row.sent for row in self.rows)

    @property
    def acknowledged(self) -> int:
        return sum(row.acknowledged for row in self.rows)

    @property
    def lost(self) -> int:
        return self.final.lost

    @property
    def violations(self) -> int:
        rounds = sum(row.findings.violations for row in self.rows)
        return self.final.violations + rounds + (0 if self.audit_intact else 1)

    def table(self) -> str:
        header = (
            f"{'round':>5} {'kill':<8} {'sent':>5} {'acked':>5} {'inflight':>8} {'lost':>5} "
            f"{'partial':>7} {'dup':>4} {'resent':>6} {'replay':>6} {'unres':>5} "
            f"{'bad':>4} {'secs':>6}"
        )
        lines = [header, "-" * len(header)]
        for row in self.rows:
            f = row.findings
            lines.append(
                f"{row.label:>5} {row.kill:<8} {row.sent:>5} {row.acknowledged:>5} "
                f"{row.in_flight:>8} {f.lost:>5} {f.partial:>7} {f.duplicated:>4} "
                f"{row.resent:>6} {row.replayed:>6} {f.unresolved:>5} {f.bad_answers:>4} "
                f"{row.seconds:>6.1f}"
            )
        f = self.final
        lines.append("-" * len(header))
        lines.append(
            f"{'all':>5} {'final':<8} {self.sent:>5} {self.acknowledged:>5} {'':>8} "
            f"{f.lost:>5} {f.partial:>7} {f.duplicated:>4} "
            f"{sum(r.resent for r in self.rows):>6} {sum(r.replayed for r in self.rows):>6} "
            f"{f.unresolved:>5} {f.bad_answers:>4} {self.seconds:>6.1f}"
        )
        lines.append(
            "acked = 201/200 before the kill; inflight = requests unanswered at the kill; "
            "replay = resends answered 200 (stored, but the kill ate the receipt)"
        )
        return "\n".join(lines)


# --- processes ------------------------------------------------------------------------------


def postgres_bindir() -> Path:
    """Where initdb/pg_ctl live: $CME_PG_BINDIR, pg_config --bindir, or /usr/lib/postgresql."""
    candidates: list[Path] = []
    if os.environ.get("CME_PG_BINDIR"):
        candidates.append(Path(os.environ["CME_PG_BINDIR"]))
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            found = subprocess.run(  # noqa: S603 - fixed argv, no shell
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            )
            candidates.append(Path(found.stdout.strip()))
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(versions)
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    raise HarnessUnavailable("no PostgreSQL server binaries (initdb, pg_ctl) found")


def _as_postgres() -> list[str]:
    """PostgreSQL refuses to run as root: drop to the postgres user when we are root."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        raise HarnessUnavailable("running as root without runuser to switch to postgres")
    return [runuser, "-u", "postgres", "--"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresCluster:
    """A throwaway cluster in `root`, listening on 127.0.0.1:`port` only."""

    def __init__(self, root: Path, bindir: Path, port: int) -> None:
        self.root = root
        self.bindir = bindir
        self.port = port
        self.data = root / "pgdata"
        self.log = root / "postgres.log"

    def _tool(self, tool: str, *args: str, timeout: float = 120) -> str:
        command = [*_as_postgres(), str(self.bindir / tool), *args]
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise HarnessError(f"{tool} {' '.join(args)} failed: {done.stderr.strip()[-2000:]}")
        return done.stdout

    def init(self, settings: dict[str, str]) -> None:
        # --no-sync only skips initdb's own final fsync of the template files; the cluster
        # itself runs with fsync=on, and a process kill never loses what reached the OS.
        self._tool(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--no-sync", "--no-instructions",
        )  # fmt: skip
        base = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.root}'",
            "fsync": "on",
            "synchronous_commit": "on",
            "full_page_writes": "on",
            "max_connections": "60",
            "shared_buffers": "64MB",
        }
        base.update(settings)
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# cme crash harness\n")
            conf.writelines(f"{key} = {value}\n" for key, value in base.items())

    def start(self) -> None:
        self._tool("pg_ctl", "start", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60")

    def stop_immediate(self) -> None:
        """Kill PostgreSQL: no checkpoint, no flush, crash recovery at the next start."""
        self._tool("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w", "-t", "60")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def cleanup(self) -> None:
        if not self.running():
            return
        try:
            self.stop_immediate()
        except (HarnessError, subprocess.SubprocessError):
            with contextlib.suppress(OSError, ValueError, IndexError):
                pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
                os.kill(pid, signal.SIGKILL)

    def conninfo(self, database: str = DATABASE) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database} connect_timeout=5"

    def url(self, database: str = DATABASE, options: str | None = None) -> str:
        query = {} if options is None else {"options": options}
        return URL.create(
            "postgresql+psycopg",
            username="postgres",
            host="127.0.0.1",
            port=self.port,
            database=database,
            query=query,
        ).render_as_string(hide_password=False)

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


class Service:
    """`cme serve` as a subprocess on 127.0.0.1:`port`."""

    def __init__(self, cme: Path, env: dict[str, str], port: int, log: Path) -> None:
        self.cme = cme
        self.env = env
        self.port = port
        self.log = log
        self.base = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def spawn(self, env: dict[str, str] | None = None) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                [str(self.cme), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=env if env is not None else self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    def wait_ready(self, timeout: float = _READY_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base, timeout=2) as http:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    code = self.process.returncode
                    self.process = None
                    raise HarnessError(f"the service exited ({code}):\n{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if http.get("/readyz").status_code == 200:
                        return
                time.sleep(_POLL)
        raise HarnessError(f"the service was not ready within {timeout:.0f} s:\n{self.log_tail()}")

    def wait_exit(self, timeout: float) -> int | None:
        """The exit code if the process ends within `timeout`; None if it is still up."""
        if self.process is None:
            return None
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        self.process = None
        return code

    def kill(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


# --- the board's side -------------------------------------------------------------------


@dataclass(frozen=True)
class Board:
    client_id: str
    key: PrivateKey
    alg: SigningAlgorithm

    def token(self, http: httpx.Client, base: str) -> str:
        assertion = client_assertion(
            key=self.key, alg=self.alg, client_id=self.client_id, token_url=f"{base}/oauth2/token"
        )
        response = http.post(
            "/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion,
            },
        )
        if response.status_code != 200:
            raise HarnessError(f"token refused ({response.status_code}): {response.text[:300]}")
        return str(response.json()["access_token"])


def prepare_round(board: Board, rng: random.Random, round_index: int, config: Config) -> list[Sent]:
    """N signed delta submissions whose record_ids are unique across the run."""
    extracted_at = datetime.now(UTC).replace(microsecond=0)
    batch: list[Sent] = []
    for index in range(config.submissions):
        count = rng.randint(config.min_records, config.max_records)
        records = generate_health_records(
            count=count,
            la_codes=list(LA_CODES),
            reference_date=extracted_at.date(),
            seed=rng.getrandbits(32),
        )
        for number, record in enumerate(records):
            record["record_id"] = f"crash-r{round_index:03d}-s{index:03d}-{number:04d}"
        submission_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        document = build_submission(
            lhb_code=LHB_CODE,
            records=records,
            extract_type="delta",
            extracted_at=extracted_at,
            submission_id=submission_id,
        )
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        batch.append(
            Sent(
                round_index=round_index,
                submission_id=submission_id,
                body=body,
                signature=detached_signature(key=board.key, alg=board.alg, body=body),
                sha256=hashlib.sha256(body).hexdigest(),
                record_ids=frozenset(record["record_id"] for record in records),
                # Every generated child is of compulsory school age and alive: all retained.
                retained=len(records),
            )
        )
    return batch


Answer = Literal["acked", "retry", "refused"]


def send(http: httpx.Client, token: str, sent: Sent) -> Answer:
    """POST one submission and record what it got; never raises for transport errors."""
    try:
        response = http.post(
            "/v1/submissions",
            content=sent.body,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sent.signature,
            },
        )
    except httpx.HTTPError:
        return "retry"
    if response.status_code in (200, 201):
        try:
            receipt: dict[str, Any] = response.json()
        except ValueError:
            return "retry"  # a receipt the client cannot read is no acknowledgement
        problem = _receipt_problem(sent, receipt)
        if problem is not None:
            sent.problem = problem
            return "refused"
        sent.receipt = receipt
        sent.replayed = sent.replayed or (response.status_code == 200)
        return "acked"
    if response.status_code == 429:
        with contextlib.suppress(ValueError):
            sent.retry_after = float(response.headers.get("Retry-After", "1"))
        return "retry"
    if response.status_code == 401 or response.status_code >= 500:
        return "retry"  # 401: the token outlived a restart window; 5xx: the kill
    sent.problem = f"answered {response.status_code}: {response.text[:300]}"
    return "refused"


def _receipt_problem(sent: Sent, receipt: dict[str, Any]) -> str | None:
    by_la = receipt.get("records_by_local_authority") or {}
    if receipt.get("submission_id") != sent.submission_id:
        return f"receipt names {receipt.get('submission_id')}"
    if receipt.get("body_sha256") != sent.sha256:
        return "receipt states another body_sha256"
    if sum(by_la.values()) != sent.retained:
        return f"receipt retains {sum(by_la.values())} records, {sent.retained} sent"
    return None


# --- the database's side ----------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    submissions: dict[str, tuple[str, dict[str, Any]]]
    records: dict[str, list[str]]
    submission_rows: int
    record_rows: Counter[str]


def read_database(conninfo: str) -> Stored:
    with psycopg.connect(conninfo, autocommit=True) as connection:
        submissions = {
            str(sid): (str(digest), receipt)
            for sid, digest, receipt in connection.execute(
                "SELECT submission_id, body_sha256, receipt FROM submissions WHERE lhb_code = %s",
                (LHB_CODE,),
            )
        }
        rows = connection.execute("SELECT count(*) FROM submissions").fetchone()
        records: dict[str, list[str]] = {}
        record_rows: Counter[str] = Counter()
        for sid, record_id in connection.execute(
            "SELECT submission_id, record_id FROM health_records WHERE lhb_code = %s",
            (LHB_CODE,),
        ):
            records.setdefault(str(sid), []).append(str(record_id))
            record_rows[str(record_id)] += 1
    return Stored(submissions, records, int(rows[0]) if rows else 0, record_rows)


def check(sent: Sequence[Sent], stored: Stored, *, whole_run: bool) -> Findings:
    """Compare what the clients were told with what the database holds."""
    findings = Findings()
    for item in sent:
        sid = item.submission_id
        row = stored.submissions.get(sid)
        if item.problem is not None:
            findings.bad_answers += 1
            findings.details.append(f"{sid}: {item.problem}")
        if item.receipt is not None and (row is None or row[0] != item.receipt["body_sha256"]):
            findings.lost += 1
            findings.details.append(
                f"{sid}: acknowledged but {'missing' if row is None else 'another body'}"
            )
        if row is None:
            findings.unresolved += 1
            continue
        kept = stored.records.get(sid, [])
        stated = sum((row[1].get("records_by_local_authority") or {}).values())
        if set(kept) != item.record_ids or len(kept) != stated or stated != item.retained:
            findings.partial += 1
            findings.details.append(
                f"{sid}: {len(kept)} records stored, receipt states {stated}, {item.retained} sent"
            )
        twice = [record_id for record_id in kept if stored.record_rows[record_id] > 1]
        if len(kept) != len(set(kept)) or twice:
            findings.duplicated += 1
            findings.details.append(f"{sid}: records stored twice ({len(twice)})")
    if whole_run:
        known = {item.submission_id for item in sent}
        extra = [sid for sid in stored.submissions if sid not in known]
        extra += [sid for sid in stored.records if sid not in known]
        if stored.submission_rows != len(stored.submissions) or extra:
            findings.duplicated += 1
            findings.details.append(
                f"{stored.submission_rows} submission rows for {len(stored.submissions)} "
                f"distinct of this board; unknown: {sorted(set(extra))[:5]}"
            )
        if any(count > 1 for count in stored.record_rows.values()):
            findings.duplicated += 1
            findings.details.append("a record_id is stored more than once")
    return findings


# --- the run ----------------------------------------------------------------------------


@dataclass(frozen=True)
class KillPlan:
    mode: KillMode
    after_acks: int
    jitter: float


class Harness:
    def __init__(
        self, config: Config, root: Path, bindir: Path, log: Callable[[str], None]
    ) -> None:
        self.config = config
        self.root = root
        self.log = log
        self.rng = random.Random(config.seed)
        self.cluster = PostgresCluster(root, bindir, free_port())
        cme = Path(sys.executable).with_name("cme")
        if not cme.exists():
            raise HarnessUnavailable(f"no cme executable next to {sys.executable}")
        self.cme = cme
        port = free_port()
        env = {key: value for key, value in os.environ.items() if not key.startswith("CME_")}
        env.update(
            {
                "CME_DATABASE_URL": self.cluster.url(),
                "CME_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
                "CME_DEV_KEY_DIR": str(root / "service-keys"),
                "CME_RECONCILE_IN_PROCESS": "false",
                "CME_LOG_LEVEL": "WARNING",
                # One board firing 50 submissions at once, round after round, is far past
                # the per-client limit: rate limiting is not what this harness tests.
                "CME_RATE_LIMIT_PER_MINUTE": "0",
                "PYTHONUNBUFFERED": "1",
            }
        )
        self.service = Service(cme, env, port, root / "service.log")
        self.board: Board | None = None
        self.sent: list[Sent] = []

    # setup

    def setup(self) -> None:
        settings = {"wal_writer_delay": "10000ms"} if self.config.negative_control else {}
        self.cluster.init(settings)
        self.cluster.start()
        with psycopg.connect(self.cluster.conninfo("postgres"), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{DATABASE}"')
        self._cme("db", "upgrade")
        private_pem, public = generate_key_pair("ec")
        jwk = self.root / "board.jwk"
        jwk.write_text(json.dumps(public.as_dict()))
        added = self._cme(
            "clients", "add", "--org", LHB_CODE, "--name", "crash harness",
            "--scope", "submissions:write", "--public-key", str(jwk), "--json",
        )  # fmt: skip
        key, alg = load_private_key(private_pem)
        self.board = Board(json.loads(added)["client_id"], key, alg)

    def _cme(self, *args: str) -> str:
        done = self._cme_run(*args)
        if done.returncode != 0:
            raise HarnessError(f"cme {' '.join(args)} failed: {done.stderr.strip()[-2000:]}")
        return done.stdout

    def _cme_run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - fixed argv, no shell
            [str(self.cme), *args],
            env=self.service.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def probe_unsafe_option(self) -> bool:
        """Does the service refuse connections with synchronous_commit off (at startup)?"""
        env = {
            **self.service.env,
            "CME_DATABASE_URL": self.cluster.url(options="-c synchronous_commit=off"),
        }
        self.service.spawn(env)
        try:
            code = self.service.wait_exit(_READY_SECONDS)
        finally:
            self.service.kill()
        if code is None:
            self.log("the service STARTED with synchronous_commit=off on its connections")
            return False
        refused = "synchronous_commit" in self.service.log_tail(60)
        self.log(f"service refused synchronous_commit=off on its connections: exit {code}")
        return refused

    def make_commit_asynchronous(self) -> None:
        with psycopg.connect(self.cluster.conninfo(), autocommit=True) as connection:
            connection.execute("ALTER SYSTEM SET synchronous_commit = off")
            connection.execute("SELECT pg_reload_conf()")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with psycopg.connect(self.cluster.conninfo(), autocommit=True) as connection:
                row = connection.execute("SHOW synchronous_commit").fetchone()
            if row is not None and row[0] == "off":
                return
            time.sleep(_POLL)
        raise HarnessError("synchronous_commit did not turn off after pg_reload_conf()")

    # rounds

    def plan(self, round_index: int) -> KillPlan:
        mode = self.config.kill_mode(round_index)
        n = self.config.submissions
        if self.config.negative_control:
            return KillPlan(mode, after_acks=n, jitter=0.0)
        return KillPlan(
            mode, after_acks=self.rng.randint(0, (4 * n) // 5), jitter=self.rng.uniform(0, 0.03)
        )

    def round(self, round_index: int) -> RoundRow:
        assert self.board is not None
        started = time.monotonic()
        batch = prepare_round(self.board, self.rng, round_index, self.config)
        self.sent.extend(batch)
        plan = self.plan(round_index)
        in_flight = self.fire(batch, plan)
        acknowledged = sum(1 for item in batch if item.receipt is not None)
        for item in batch:
            item.acked_before_kill = item.receipt is not None
        self.restart(plan.mode)
        pending = [item for item in batch if item.receipt is None and item.problem is None]
        self.resend(pending)
        findings = check(batch, read_database(self.cluster.conninfo()), whole_run=False)
        return RoundRow(
            label=str(round_index + 1),
            kill=plan.mode,
            sent=len(batch),
            acknowledged=acknowledged,
            in_flight=in_flight,
            resent=sum(1 for item in batch if item.resent),
            replayed=sum(1 for item in batch if item.resent and item.replayed),
            findings=findings,
            seconds=time.monotonic() - started,
        )

    def fire(self, batch: Sequence[Sent], plan: KillPlan) -> int:
        """Send the whole batch at once, kill per `plan`; return requests unanswered then."""
        assert self.board is not None
        condition = threading.Condition()
        counts = {"done": 0, "acked": 0}
        go = threading.Event()
        limits = httpx.Limits(max_connections=len(batch), max_keepalive_connections=len(batch))
        with httpx.Client(
            base_url=self.service.base, timeout=_REQUEST_SECONDS, limits=limits
        ) as http:
            token = self.board.token(http, self.service.base)

            def one(item: Sent) -> None:
                go.wait()
                answer = send(http, token, item)
                with condition:
                    counts["done"] += 1
                    counts["acked"] += answer == "acked"
                    condition.notify_all()

            with ThreadPoolExecutor(max_workers=len(batch)) as pool:
                futures = [pool.submit(one, item) for item in batch]
                go.set()
                with condition:
                    condition.wait_for(
                        lambda: counts["acked"] >= plan.after_acks or counts["done"] == len(batch),
                        timeout=_REQUEST_SECONDS,
                    )
                if plan.jitter:
                    time.sleep(plan.jitter)
                with condition:
                    in_flight = len(batch) - counts["done"]
                self.kill(plan.mode)
                for future in futures:
                    future.result(timeout=_REQUEST_SECONDS * 2)
        return in_flight

    def kill(self, mode: KillMode) -> None:
        if mode in ("service", "both"):
            self.service.kill()
        if mode in ("postgres", "both"):
            self.cluster.stop_immediate()

    def restart(self, mode: KillMode) -> None:
        if mode in ("postgres", "both"):
            self.cluster.start()
        if mode in ("service", "both"):
            self.service.start()
        else:
            self.service.wait_ready()

    def resend(self, pending: list[Sent]) -> None:
        """Each client resends what was not acknowledged, until it is (bounded passes)."""
        assert self.board is not None
        for attempt in range(_RESEND_PASSES):
            pending = [item for item in pending if item.receipt is None and item.problem is None]
            if not pending:
                return
            if attempt:
                # Back off a little, or as long as a 429's Retry-After asked (capped).
                wait = max(_POLL * attempt, *(item.retry_after for item in pending))
                time.sleep(min(wait, _MAX_RETRY_AFTER))
            self.service.wait_ready()
            with httpx.Client(base_url=self.service.base, timeout=_REQUEST_SECONDS) as http:
                token = self.board.token(http, self.service.base)
                for item in pending:
                    item.resent = True
                    item.retry_after = 0.0

                def again(item: Sent, token: str = token, http: httpx.Client = http) -> None:
                    send(http, token, item)

                with ThreadPoolExecutor(max_workers=min(len(pending), 50)) as pool:
                    list(pool.map(again, pending))

    def run(self) -> Report:
        report = Report(self.config)
        started = time.monotonic()
        self.setup()
        if self.config.negative_control:
            report.unsafe_option_refused = self.probe_unsafe_option()
        self.service.start()
        if self.config.negative_control:
            self.make_commit_asynchronous()
        for round_index in range(self.config.rounds):
            if time.monotonic() - started > self.config.time_cap_seconds:
                raise HarnessError(
                    f"time cap of {self.config.time_cap_seconds:.0f} s reached "
                    f"after {round_index} rounds"
                )
            row = self.round(round_index)
            report.rows.append(row)
            f = row.findings
            self.log(
                f"round {row.label}: kill {row.kill}, {row.acknowledged}/{row.sent} acked, "
                f"{row.in_flight} in flight, lost {f.lost}, partial {f.partial}, "
                f"duplicated {f.duplicated}, resent {row.resent}, unresolved {f.unresolved}"
            )
        report.final = check(self.sent, read_database(self.cluster.conninfo()), whole_run=True)
        # The audit event is written in the submission's transaction: the hash chain must
        # have survived every kill too.
        verified = self._cme_run("audit", "verify")
        report.audit_intact = verified.returncode == 0
        report.audit_chain = (verified.stderr.strip().splitlines() or [""])[-1]
        report.seconds = time.monotonic() - started
        return report

    def cleanup(self) -> None:
        try:
            self.service.kill()
        finally:
            self.cluster.cleanup()


@contextlib.contextmanager
def workspace() -> Iterator[Path]:
    """A temp dir the postgres user can use (owned by it when we run as root)."""
    root = Path(tempfile.mkdtemp(prefix="cme-crash-"))
    try:
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(config: Config, log: Callable[[str], None] = lambda _line: None) -> Report:
    """Run the whole harness; every process it starts is gone and its directory removed."""
    if config.rounds < 1 or config.submissions < 1:
        raise HarnessError("rounds and submissions must be at least 1")
    bindir = postgres_bindir()
    with workspace() as root:
        harness = Harness(config, root, bindir, log)
        try:
            return harness.run()
        except BaseException:
            log(f"service log:\n{harness.service.log_tail()}")
            log(f"postgres log:\n{harness.cluster.log_tail()}")
            raise
        finally:
            harness.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Kill the service and PostgreSQL under load; prove nothing is lost."
    )
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--kill", choices=KILL_CHOICES, default="mixed")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--submissions", type=int, default=50, help="concurrent, per round")
    parser.add_argument("--negative-control", action="store_true")
    parser.add_argument("--time-cap", type=float, default=1800.0, help="seconds")
    args = parser.parse_args(argv)
    config = Config(
        rounds=args.rounds,
        kill=args.kill,
        seed=args.seed,
        submissions=args.submissions,
        negative_control=args.negative_control,
        time_cap_seconds=args.time_cap,
    )

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    # A SIGTERM unwinds like Ctrl-C, so the cluster and the service are stopped.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    report = run(config, log)
    print(report.table())
    print(f"audit: {report.audit_chain}")
    for line in report.final.details[:20]:
        print(f"  {line}")
    if config.negative_control:
        print(f"service refused synchronous_commit=off at startup: {report.unsafe_option_refused}")
        caught = report.lost > 0
        print(
            f"negative control: {report.lost} acknowledged submissions lost under "
            f"asynchronous commit -> harness {'CAUGHT the loss' if caught else 'MISSED the loss'}"
        )
        return 0 if caught else 1
    ok = report.violations == 0
    print(
        f"{report.sent} sent, {report.acknowledged} acknowledged before a kill, "
        f"{report.final.lost} lost, {report.final.partial} partial, "
        f"{report.final.duplicated} duplicated, {report.final.unresolved} unresolved: "
        f"{'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
