"""Education upload benchmark: an authority's records, JSON and CSV, against a running service
on PostgreSQL, each with its floor measured in the same run, and the server's memory against
the body's size.

    .venv/bin/python bench/education_upload.py [--sizes 10000,60000,200000] [--postgres URL]
    .venv/bin/python bench/education_upload.py --sizes 10000 --kinds csv    # a quick run

For each size and kind: floor = pydantic validation of the same records (the JSON document)
+ a PostgreSQL COPY of the same rows into a real table; the service = the PUT (plain body)
until its receipt, on a freshly started server on a throwaway database, whose peak memory
(VmHWM) over its idle size is its growth. Prints seconds, records/s, the ratio to the floor
and the growth against the body's size.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ingest import _free_port, _load, _peak_rss, migrated, served, throwaway_database
from cli.client import fetch_token
from schemas.education import EducationRecordsIn
from services.access.keys import generate_key_pair, load_private_key
from services.intake.records import education_record_row
from services.store.bulk import copy_rows
from services.store.tables import EducationRecord
from services.synthetic import generate_health_records

LA = "W06000015"
_MOST_FORMER_NAMES = 10


@dataclass(frozen=True)
class Measured:
    """One upload of one kind: its time against the floor's, its growth against the body."""

    kind: str
    records: int
    body_bytes: int
    floor: float
    service: float
    idle_rss: int
    peak_rss: int

    @property
    def ratio(self) -> float:
        return self.service / self.floor

    @property
    def growth(self) -> float:
        return (self.peak_rss - self.idle_rss) / self.body_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,60000,200000", help="record counts")
    parser.add_argument("--kinds", default="json,csv", help="json, csv or both")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "CME_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--prefix", default="cme_bench_edu_", help="throwaway databases' prefix")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    kinds = [kind.strip() for kind in args.kinds.split(",") if kind.strip()]

    print(f"load average before: {_load()}", flush=True)
    results = []
    for count in sizes:
        records = education_records(count)
        document = {"as_of": date.today().isoformat(), "records": records}
        json_body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        bodies = {"json": json_body, "csv": csv_body(records)}
        del records, document
        for kind in kinds:
            print(f"{count:,} records, {kind}: body {len(bodies[kind]) / 1e6:.1f} MB", flush=True)
            results.append(measure(args.postgres, args.prefix, kind, json_body, bodies[kind]))
    report(results)
    print(f"load average after: {_load()} (2 cores: above 2, other work competed)")


def education_records(count: int) -> list[dict[str, Any]]:
    """Synthetic children as an authority's records of them (at a maintained school)."""
    health = generate_health_records(
        count=count, la_codes=[LA], reference_date=date.today(), seed=2026, sensitive_share=0
    )
    return [
        {
            "record_id": record["record_id"],
            "given_name": record["given_name"],
            "middle_names": record["middle_names"],
            "family_name": record["family_name"],
            "former_names": record["former_names"][:_MOST_FORMER_NAMES],
            "date_of_birth": record["date_of_birth"],
            "sex": record["sex"],
            "address": {
                "lines": record["address"]["lines"],
                "postcode": record["address"]["postcode"],
            },
            "upn": None,
            "nhs_number": record["nhs_number"],
            "provision": "maintained_school",
            "provider_name": "Ysgol Gynradd Treganna",
            "provider_code": "6812345",
            "ehe_suitability": None,
        }
        for record in health
    ]


def csv_body(records: list[dict[str, Any]]) -> bytes:
    """The same records as CSV, flattened as the route documents."""
    plain = ["record_id", "given_name", "middle_names", "family_name", "date_of_birth", "sex"]
    plain += ["upn", "nhs_number", "provision", "provider_name", "provider_code"]
    lines = [f"address_line_{n}" for n in range(1, 7)]
    former = [
        f"former_{part}_name_{n}"
        for n in range(1, _MOST_FORMER_NAMES + 1)
        for part in ("given", "family")
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["as_of", *plain, *lines, "postcode", *former])
    today = date.today().isoformat()
    for record in records:
        address = record["address"]
        names = [
            name.get(f"{part}_name")
            for name in record["former_names"]
            for part in ("given", "family")
        ]
        cells = [today, *(record[name] for name in plain)]
        cells += [*address["lines"], *[""] * (6 - len(address["lines"])), address["postcode"]]
        cells += names + [""] * (len(former) - len(names))
        writer.writerow(["" if cell is None else cell for cell in cells])
    return out.getvalue().encode()


def measure(postgres: str, prefix: str, kind: str, json_body: bytes, body: bytes) -> Measured:
    """One upload on its own database and its own server, so each peak is that upload's."""
    with throwaway_database(postgres, prefix) as url:
        return run(url, Path(tempfile.mkdtemp(prefix="cme-bench-edu-")), kind, json_body, body)


def run(url: str, workdir: Path, kind: str, json_body: bytes, body: bytes) -> Measured:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env, cme = migrated(url, workdir, port)
    private_pem, public = generate_key_pair("ec")
    (workdir / "la.jwk").write_text(json.dumps(public.as_dict()))
    add = [cme, "clients", "add", "--org", LA, "--name", "bench", "--scope", "education:write"]
    add += ["--public-key", str(workdir / "la.jwk"), "--json"]
    registered = subprocess.run(add, env=env, check=True, capture_output=True, text=True)
    client_id = json.loads(registered.stdout)["client_id"]

    floor, count = measure_floor(url, json_body)

    with served(cme, env, port) as server:
        key, alg = load_private_key(private_pem)
        with httpx.Client(base_url=base, timeout=900) as http:
            token = fetch_token(http, private_key=key, alg=alg, client_id=client_id, base_url=base)
            idle = _peak_rss(server.pid)
            started = time.perf_counter()
            response = http.put(
                f"/v1/local-authorities/{LA}/education-records",
                content=body,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/json" if kind == "json" else "text/csv",
                },
            )
            elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.text[:500]
        assert response.json()["record_count"] == count
        peak = _peak_rss(server.pid)
    return Measured(kind, count, len(body), floor, elapsed, idle, peak)


def measure_floor(url: str, json_body: bytes) -> tuple[float, int]:
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(False)
    started = time.perf_counter()
    upload = EducationRecordsIn.model_validate_json(json_body)
    rows = (education_record_row(LA, record) for record in upload.records)
    with psycopg.connect(conninfo) as connection:
        # A regular table, committed: like the service's rows it is written to the WAL.
        connection.execute("CREATE TABLE floor_copy (LIKE education_records INCLUDING ALL)")
        copy_rows(connection, rows, EducationRecord, into="floor_copy")
    return time.perf_counter() - started, len(upload.records)


def report(results: list[Measured]) -> None:
    print()
    print(
        f"{'kind':>5}{'records':>9}{'body MB':>9}{'floor s':>9}{'service s':>11}"
        f"{'records/s':>11}{'ratio':>7}{'growth MB':>11}{'x body':>8}"
    )
    for m in results:
        print(
            f"{m.kind:>5}{m.records:>9,}{m.body_bytes / 1e6:>9.1f}{m.floor:>9.2f}"
            f"{m.service:>11.2f}{m.records / m.service:>11,.0f}{m.ratio:>7.2f}"
            f"{(m.peak_rss - m.idle_rss) / 1e6:>11.0f}{m.growth:>8.2f}"
        )
    print("floor: pydantic validation of the same records (JSON) + COPY of the same rows")
    print("service: PUT of the plain body until the receipt; growth: server VmHWM over idle")


if __name__ == "__main__":
    main()
