"""Benchmark: work-order intake through the HTTP API, with the server run as in production.

Run alone: `.venv/bin/python bench/bench_intake.py [--db postgres,sqlite] [--duration 20] [--clients 16]
[--rate 100] [--workers 2] [--threads 2]`.
For each database: a fresh database (PostgreSQL on 127.0.0.1:5432, created and
dropped here; SQLite in a temporary directory), migrated, the demo city loaded with 2,000 customers, a bearer
token for the 95598 agent, then `gridcare serve --workers 2` (gunicorn gthread workers, DEBUG=0) on a free
loopback port. Measured, after a warm-up:
  closed loop   N clients sending back to back for the duration → sustained requests/s and latency;
  open loop     a fixed rate (100/s): latency from each request's *scheduled* send time, so a slow server
                cannot hide its queueing (no coordinated omission);
  baseline      the same two loads against GET /healthz (one `SELECT 1`), the ceiling of the server and
                framework on this machine, measured in the same run. Fair because it is the same server
                process, clients, token handling and database, a moment apart: intake can only be slower,
                and the gap is what intake's own work (reads, the one-query write set) costs.
Intake requests: 60 % a customer's request (complaint/query/service/opinion on one of the 2,000 accounts),
40 % a non-customer consultation; every other request carries an Idempotency-Key. Afterwards the database
must hold exactly the orders whose numbers came back in 201 responses (none lost, none doubled), there must be
no 5xx, and 20 retried requests must get 200 with their first order. CPU time of the server, PostgreSQL, this
load generator and everything else on the machine is read from /proc for each phase, because on a small,
shared machine the figures only mean something next to who used the CPUs. Results go to
bench/results/intake.txt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import queue
import random
import secrets
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GRIDCARE = str(ROOT / ".venv" / "bin" / "gridcare")
RESULTS = ROOT / "bench" / "results" / "intake.txt"
PG_ADMIN = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c"]
PG_URL = "postgres://postgres@127.0.0.1:5432/"
CLK_TCK = os.sysconf("SC_CLK_TCK")
TARGET_RATE = 300.0
TARGET_P99_MS = 100.0
CUSTOMER_CATEGORIES = ["complaint_service", "complaint_business", "query_bill", "service_meter_check", "opinion"]
DESCRIPTIONS = [
    "客户反映近期电费异常偏高，要求核查。",
    "营业厅工作人员态度不好。",
    "申请校验电能表。",
    "建议延长营业时间。",
]
RETRY_SAMPLES = 20
REQUEST_TIMEOUT = 30.0


# ---- CPU accounting from /proc ---------------------------------------------------------------------------


def _proc_stat(pid: int) -> tuple[str, int, float] | None:
    """(command, parent pid, CPU seconds) of one process, or None when it has gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    rest = raw[raw.rindex(")") + 2 :].split()
    return comm, int(rest[1]), (int(rest[11]) + int(rest[12])) / CLK_TCK


def _all_procs() -> dict[int, tuple[str, int, float]]:
    procs = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _proc_stat(int(entry))
            if stat is not None:
                procs[int(entry)] = stat
    return procs


def _machine_busy() -> float:
    """CPU seconds spent not idle by the whole machine since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / CLK_TCK


@dataclass
class CpuSnapshot:
    server: dict[int, float]
    postgres: dict[int, float]
    generator: float
    machine: float
    at: float


def cpu_snapshot(server_pid: int | None) -> CpuSnapshot:
    procs = _all_procs()
    server = {}
    if server_pid is not None:
        server = {pid: cpu for pid, (_, ppid, cpu) in procs.items() if pid == server_pid or ppid == server_pid}
    postgres = {pid: cpu for pid, (comm, _, cpu) in procs.items() if comm.startswith("postgres")}
    return CpuSnapshot(server, postgres, time.process_time(), _machine_busy(), time.monotonic())


def _delta(after: dict[int, float], before: dict[int, float]) -> float:
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


@dataclass
class CpuUse:
    server: float
    postgres: float
    generator: float
    others: float
    wall: float


def cpu_use(before: CpuSnapshot, after: CpuSnapshot) -> CpuUse:
    server = _delta(after.server, before.server)
    postgres = _delta(after.postgres, before.postgres)
    generator = after.generator - before.generator
    machine = after.machine - before.machine
    return CpuUse(server, postgres, generator, max(0.0, machine - server - postgres - generator), after.at - before.at)


# ---- the load generator ----------------------------------------------------------------------------------


@dataclass
class Target:
    host: str
    port: int
    token: str
    accounts: list[str]


@dataclass
class Outcome:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    numbers: list[str] = field(default_factory=list)
    samples: list[tuple[dict[str, str], bytes, str]] = field(default_factory=list)
    dropped: int = 0

    def merge(self, other: Outcome) -> None:
        self.latencies_ms += other.latencies_ms
        self.statuses.update(other.statuses)
        self.errors.update(other.errors)
        self.numbers += other.numbers
        self.samples += other.samples
        self.dropped += other.dropped


Request = tuple[str, str, bytes, dict[str, str]]


def intake_request(target: Target, rng: random.Random, seq: int) -> Request:
    if rng.random() < 0.6:
        payload: dict[str, Any] = {
            "category": rng.choice(CUSTOMER_CATEGORIES),
            "account_no": rng.choice(target.accounts),
            "description": rng.choice(DESCRIPTIONS),
        }
    else:
        payload = {
            "category": "consult",
            "caller_name": "王先生",
            "caller_phone": f"139{rng.randrange(10**8):08d}",
            "description": "咨询新装居民用电需要准备哪些材料。",
        }
    headers = {"Authorization": f"Bearer {target.token}", "Content-Type": "application/json"}
    if seq % 2 == 0:
        headers["Idempotency-Key"] = uuid.uuid4().hex
    return "POST", "/api/v1/workorders", json.dumps(payload).encode(), headers


def healthz_request(target: Target, rng: random.Random, seq: int) -> Request:
    return "GET", "/healthz", b"", {}


MakeRequest = Callable[[Target, random.Random, int], Request]
NUMBER_KEY = b'"number": "'


class Client:
    """One thread's connection: kept alive by gthread workers; http.client reconnects when a server closes it."""

    def __init__(self, target: Target) -> None:
        self.conn = http.client.HTTPConnection(target.host, target.port, timeout=REQUEST_TIMEOUT)

    def send(self, req: Request, out: Outcome, started: float) -> None:
        method, path, body, headers = req
        try:
            self.conn.request(method, path, body=body or None, headers=headers)
            resp = self.conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            out.errors[type(exc).__name__] += 1
            self.conn.close()
            return
        out.latencies_ms.append((time.monotonic() - started) * 1000)
        out.statuses[resp.status] += 1
        if resp.status == 201:
            at = data.find(NUMBER_KEY) + len(NUMBER_KEY)
            number = data[at : data.index(b'"', at)].decode()
            out.numbers.append(number)
            if "Idempotency-Key" in headers and len(out.samples) < RETRY_SAMPLES:
                out.samples.append((headers, body, number))
        elif resp.status >= 400 and not out.errors.get(f"first {resp.status}"):
            out.errors[f"first {resp.status}"] = 1
            print(f"  {method} {path} → {resp.status}: {data[:300].decode(errors='replace')}", file=sys.stderr)

    def close(self) -> None:
        self.conn.close()


def closed_loop(target: Target, make: MakeRequest, clients: int, seconds: float) -> Outcome:
    """`clients` threads each sending the next request as soon as the last one is answered."""
    deadline = time.monotonic() + seconds
    outcomes = [Outcome() for _ in range(clients)]

    def run(i: int) -> None:
        rng, client, seq = random.Random(i), Client(target), i
        while time.monotonic() < deadline:
            seq += clients
            client.send(make(target, rng, seq), outcomes[i], time.monotonic())
        client.close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + REQUEST_TIMEOUT + 5)
    total = Outcome()
    for o in outcomes:
        total.merge(o)
    return total


def open_loop(target: Target, make: MakeRequest, rate: float, seconds: float, drain: float, pool: int) -> Outcome:
    """Requests scheduled at a fixed rate; latency counts from the scheduled time, queueing included.

    A request not sent by `drain` seconds after the schedule ends is counted as dropped.
    """
    count = int(rate * seconds)
    start = time.monotonic() + 0.1
    hard_stop = start + seconds + drain
    todo: queue.Queue[tuple[int, float] | None] = queue.Queue()
    outcomes = [Outcome() for _ in range(pool)]

    def dispatch() -> None:
        for i in range(count):
            scheduled = start + i / rate
            pause = scheduled - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            todo.put((i, scheduled))
        for _ in range(pool):
            todo.put(None)

    def work(w: int) -> None:
        rng, client, out = random.Random(1000 + w), Client(target), outcomes[w]
        while (item := todo.get()) is not None:
            i, scheduled = item
            if time.monotonic() > hard_stop:
                out.dropped += 1
                continue
            client.send(make(target, rng, i), out, scheduled)
        client.close()

    threads = [threading.Thread(target=dispatch, daemon=True)]
    threads += [threading.Thread(target=work, args=(w,), daemon=True) for w in range(pool)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + drain + REQUEST_TIMEOUT + 5)
    total = Outcome()
    for o in outcomes:
        total.merge(o)
    return total


# ---- results --------------------------------------------------------------------------------------------


@dataclass
class Phase:
    db: str
    endpoint: str
    load: str
    out: Outcome
    cpu: CpuUse


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))] if ordered else 0.0


def ok_count(out: Outcome) -> int:
    return sum(n for status, n in out.statuses.items() if 200 <= status < 300)


def fmt_ms(values: list[float], p: float | None, dropped: int) -> str:
    if not values:
        return "-"
    if dropped and (p is None or p >= 100 * len(values) / (len(values) + dropped)):
        return "> drain"  # the dropped requests are slower than any answered one
    return f"{(max(values) if p is None else percentile(values, p)):.0f}"


def per_request_ms(cpu_seconds: float, n: int) -> str:
    return f"{1000 * cpu_seconds / n:.1f}" if n else "-"


HEADER = (
    f"{'db':9} {'endpoint':18} {'load':18} {'ok/s':>7} {'ok':>6} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7} "
    f"{'5xx':>4} {'4xx':>4} {'err':>4} {'drop':>5} {'srv':>6} {'pg':>6} {'gen':>6} {'others':>7}"
)


def row(ph: Phase) -> str:
    out, n = ph.out, ok_count(ph.out)
    lat = out.latencies_ms
    five = sum(v for k, v in out.statuses.items() if k >= 500)
    four = sum(v for k, v in out.statuses.items() if 400 <= k < 500)
    errs = sum(v for k, v in out.errors.items() if not k.startswith("first "))
    return (
        f"{ph.db:9} {ph.endpoint:18} {ph.load:18} {n / ph.cpu.wall:7.1f} {n:6d} "
        f"{fmt_ms(lat, 50, out.dropped):>7} {fmt_ms(lat, 95, out.dropped):>7} {fmt_ms(lat, 99, out.dropped):>7} "
        f"{fmt_ms(lat, None, out.dropped):>7} {five:4d} {four:4d} {errs:4d} {out.dropped:5d} "
        f"{per_request_ms(ph.cpu.server, n):>6} {per_request_ms(ph.cpu.postgres, n):>6} "
        f"{per_request_ms(ph.cpu.generator, n):>6} {ph.cpu.others / ph.cpu.wall:7.2f}"
    )


# ---- setting up and tearing down -------------------------------------------------------------------------


def run_cmd(args: list[str], env: dict[str, str], timeout: float = 900) -> str:
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def shell(env: dict[str, str], code: str) -> Any:
    """Run Django code through `gridcare shell -c`; it prints one line `RESULT <json>`."""
    stdout = run_cmd([GRIDCARE, "shell", "-c", code], env)
    line = next(x for x in stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


ACCOUNTS_CODE = """
import json
from gridcare.customers.models import Customer
print("RESULT " + json.dumps(list(Customer.objects.order_by("id").values_list("account_no", flat=True))))
"""

VERIFY_CODE = """
import json
from gridcare.core.models import Event
from gridcare.workorders.models import IdempotencyKey, WorkOrder
print("RESULT " + json.dumps({
    "numbers": list(WorkOrder.objects.values_list("number", flat=True)),
    "keys": IdempotencyKey.objects.count(),
    "create_events": Event.objects.filter(action="workorder.create").count(),
}))
"""

PROFILE_CODE = """
import functools, json, os, random, re, time, uuid
from collections import defaultdict
from django.db import connection
from django.test import Client
import gridcare.api as root_api
import gridcare.org.services as org_services
import gridcare.workorders.api as wapi
import gridcare.workorders.services as ws
from gridcare.customers.models import Customer
from gridcare.org.models import User

n = int(os.environ["BENCH_PROFILE_N"])
sections = defaultdict(lambda: [0, 0.0, 0])

def wrap(module, name, label):
    # Inclusive wall time and statements of one function; skipped when the code has moved on.
    f = getattr(module, name, None)
    if f is None:
        return
    @functools.wraps(f)
    def timed(*a, **k):
        q0, t = len(connection.queries_log), time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            s = sections[label]
            s[0] += 1
            s[1] += time.perf_counter() - t
            s[2] += len(connection.queries_log) - q0
    setattr(module, name, timed)

wrap(org_services, "token_authenticate", "auth: token_authenticate")
root_api.token_authenticate = org_services.token_authenticate
wrap(wapi, "customer_for_intake", "api: customer_for_intake")
wrap(ws, "workorder_create_idempotent", "services.workorder_create_idempotent")
wrap(wapi.services, "workorder_create", "services.workorder_create (all of it)")
wrap(ws, "_reserve", "  _reserve (the new id, the repeat lookup)")
wrap(ws, "_intake_deadlines", "  _intake_deadlines (policy, targets, calendar)")
wrap(ws, "route", "  route (rules, units)")
wrap(ws.WriteSet, "write", "  WriteSet.write (order, events, deadlines, key)")
wrap(ws, "workorder_dispatch", "  workorder_dispatch (all of it)")
wrap(ws, "_fresh", "    _fresh (re-read the new order)")
wrap(ws, "_transition", "    _transition (CAS update, event, refresh_from_db)")
wrap(ws, "record_event", "  record_event (every call)")
wrap(wapi.selectors, "order_get", "api: selectors.order_get (re-read for the response)")
wrap(wapi, "detail", "api: detail() (visits, deadlines, steps)")

accounts = list(Customer.objects.values_list("account_no", flat=True))
_, raw = org_services.token_create(user=User.objects.get(username="agent"), name="profile", actor="bench")
client, auth, rng = Client(), {"HTTP_AUTHORIZATION": "Bearer " + raw}, random.Random(7)

def body(i):
    if i % 5 >= 3:
        return {"category": "consult", "caller_name": "王先生", "caller_phone": "13900000000", "description": "咨询"}
    cat = rng.choice(["complaint_service", "opinion", "query_bill"])
    return {"category": cat, "account_no": rng.choice(accounts), "description": "投诉"}

def post(i):
    headers = dict(auth)
    if i % 2:
        headers["HTTP_IDEMPOTENCY_KEY"] = uuid.uuid4().hex
    r = client.post("/api/v1/workorders", json.dumps(body(i)), content_type="application/json", **headers)
    assert r.status_code == 201, r.content

for i in range(4):
    post(i)
sections.clear()
connection.force_debug_cursor = True
connection.queries_log.clear()
statements = defaultdict(lambda: [0, 0.0])
wall = 0.0
for i in range(n):
    t = time.perf_counter()
    post(i)
    wall += time.perf_counter() - t
    for q in connection.queries_log:
        sql = q["sql"].strip()
        m = re.search(r'(?:FROM|INTO|UPDATE)\\s+"(\\w+)"', sql)
        s = statements[sql.split()[0].upper() + " " + (m.group(1) if m else "")]
        s[0] += 1
        s[1] += float(q["time"])
    connection.queries_log.clear()
sql_ms = 1000 * sum(t for _, t in statements.values()) / n
lines = [
    f"in-process, one request at a time, N={n} (60 % customer / 40 % consult, half with Idempotency-Key):",
    f"wall {1000 * wall / n:.1f} ms per request; SQL statements {sum(c for c, _ in statements.values()) / n:.1f} "
    f"per request taking {sql_ms:.1f} ms (execute round trips incl. planning); the rest is Python",
    f"{'section (inclusive)':56} {'calls/req':>9} {'ms/req':>8} {'SQL/req':>8}",
]
lines += [f"{k:56} {c / n:9.2f} {1000 * t / n:8.1f} {q / n:8.1f}" for k, (c, t, q) in sections.items()]
lines.append(f"{'statement':42} {'per req':>8} {'ms/req':>8}")
for k, (c, t) in sorted(statements.items(), key=lambda kv: -kv[1][1]):
    lines.append(f"{k:42} {c / n:8.2f} {1000 * t / n:8.2f}")
print("RESULT " + json.dumps(lines))
"""

MINIMAL_CITY_CODE = """
import json, os
from django.db import transaction
from gridcare.org.models import OrgUnit
from gridcare.org.roles import Role
from tests import factories as f

# The same shape as the tests' `city`: a company, its 95598 centre, two repair centres, the marketing
# department, the 95598 agent, and customers spread over two districts. Everything through the services.
n = int(os.environ["BENCH_CUSTOMERS"])
with transaction.atomic():
    company = f.make_unit(OrgUnit.Kind.COMPANY, name="青川供电公司")
    center = f.make_unit(OrgUnit.Kind.CENTER_95598, parent=company, scope_unit=company, name="95598 中心")
    north = f.make_unit(OrgUnit.Kind.REPAIR_CENTER, parent=company, site=f.make_site("N"), name="城北报修中心")
    south = f.make_unit(OrgUnit.Kind.REPAIR_CENTER, parent=company, site=f.make_site("S"), name="城南报修中心")
    f.make_unit(OrgUnit.Kind.DEPARTMENT, parent=company, scope_unit=company, name="营销部")
    f.make_user(Role.AGENT, center, "agent")
    nets = [f.make_network(north, areas=10, district=f.make_district("urban")),
            f.make_network(south, areas=10, district=f.make_district("rural"))]
    for i in range(n):
        net = nets[i % 2]
        f.make_customer(net.feeder.unit, net.areas[i % len(net.areas)])
print("RESULT " + json.dumps(n))
"""


def reset_database(url: str) -> None:
    """Start again from an empty database after a failed setup step."""
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url[len("sqlite:///") :] + suffix).unlink(missing_ok=True)
        return
    name = url.rsplit("/", 1)[1]
    env = {**os.environ}
    run_cmd([*PG_ADMIN, f"drop database if exists {name} with (force)"], env)
    run_cmd([*PG_ADMIN, f"create database {name}"], env)


@contextmanager
def database(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'bench.sqlite3'}"
        return
    name = f"gridcare_bench_intake_{os.getpid()}"
    env = {**os.environ}
    run_cmd([*PG_ADMIN, f"drop database if exists {name} with (force)"], env)
    run_cmd([*PG_ADMIN, f"create database {name}"], env)
    try:
        yield PG_URL + name
    finally:
        run_cmd([*PG_ADMIN, f"drop database if exists {name} with (force)"], env)


@contextmanager
def server(env: dict[str, str], port: int, workers: int, threads: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`gridcare serve` as production runs it; the whole process group is stopped afterwards."""
    with log.open("wb") as log_file:
        proc = subprocess.Popen(
            [GRIDCARE, "serve", "--host", "127.0.0.1", "--port", str(port)]  # noqa: RUF005 - one line each
            + ["--workers", str(workers), "--threads", str(threads)],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited ({proc.returncode}): {log.read_text()[-2000:]}")
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    conn.request("GET", "/healthz")
                    if conn.getresponse().status == 200:
                        conn.close()
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server did not answer /healthz within 120 s: {log.read_text()[-2000:]}")
                time.sleep(0.2)
            yield proc
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    except ProcessLookupError:
        pass


def calibrate() -> float:
    """CPU milliseconds for a million turns of a trivial Python loop (best of 3): the speed of one core here.

    CPU time rather than wall time, so the figure is about the core, not about our share of it.
    """
    best = float("inf")
    for _ in range(3):
        t = time.thread_time()
        s = 0
        for i in range(1_000_000):
            s += i
        best = min(best, time.thread_time() - t)
    return best * 1000


# ---- one database ------------------------------------------------------------------------------------------


@dataclass
class DbRun:
    db: str
    phases: list[Phase]
    checks: list[str]
    failures: list[str]
    setup_seconds: float
    calibration_ms: float
    load_before: tuple[float, float, float]
    profile: list[str]
    setup: str


def measure(
    db: str, endpoint: str, load: str, server_pid: int, run: Callable[[], Outcome], phases: list[Phase]
) -> Outcome:
    before = cpu_snapshot(server_pid)
    out = run()
    phase = Phase(db, endpoint, load, out, cpu_use(before, cpu_snapshot(server_pid)))
    phases.append(phase)
    print(row(phase), flush=True)
    return out


def bench_db(kind: str, args: argparse.Namespace) -> DbRun:
    tmp = Path(tempfile.mkdtemp(prefix=f"bench_intake_{kind}_"))
    (tmp / "static").mkdir()  # STATIC_ROOT: whitenoise warns when it is missing
    phases: list[Phase] = []
    profile: list[str] = []
    checks: list[str] = []
    failures: list[str] = []
    try:
        with database(kind, tmp) as url:
            env = {
                **os.environ,
                "DEBUG": "0",
                "SECRET_KEY": secrets.token_urlsafe(50),
                "DATABASE_URL": url,
                "GRIDCARE_VAR_DIR": str(tmp),
                "ALLOWED_HOSTS": "127.0.0.1",
                "LOG_LEVEL": "WARNING",
            }
            t0 = time.monotonic()
            print(f"[{kind}] migrate, demo city ({args.customers} customers), token …", flush=True)
            run_cmd([GRIDCARE, "migrate", "-v0"], env)
            try:
                run_cmd([GRIDCARE, "demo", "--customers", str(args.customers), "--seed", "1", "--no-progress"], env)
                setup = f"`gridcare demo --customers {args.customers} --seed 1` (the demo city)"
            except RuntimeError as exc:
                # The demo generator spans every app; when it is broken, build the minimum through the services.
                reason = str(exc).strip().splitlines()[-1][:160]
                print(f"[{kind}] gridcare demo failed ({reason}); building a minimal city instead", flush=True)
                reset_database(url)
                run_cmd([GRIDCARE, "migrate", "-v0"], env)
                city_env = {**env, "PYTHONPATH": str(ROOT), "BENCH_CUSTOMERS": str(args.customers)}
                shell(city_env, MINIMAL_CITY_CODE)
                setup = (
                    f"minimal city through the services (tests/factories.py, {args.customers} customers) "
                    f"because `gridcare demo` failed: {reason}"
                )
            token = run_cmd([GRIDCARE, "token", "create", "--user", "agent"], env).strip().splitlines()[-1]
            accounts = shell(env, ACCOUNTS_CODE)
            setup_seconds = time.monotonic() - t0
            port = free_port()
            load_before = os.getloadavg()
            calibration = calibrate()
            with server(env, port, args.workers, args.threads, tmp / "server.log") as proc:
                target = Target("127.0.0.1", port, token, accounts)
                warm = closed_loop(target, intake_request, 4, args.warmup)
                warm.merge(closed_loop(target, healthz_request, 4, 1.0))
                if set(warm.statuses) - {200, 201} or warm.errors:
                    raise RuntimeError(f"warm-up failed: statuses {dict(warm.statuses)}, errors {dict(warm.errors)}")
                print(HEADER, flush=True)
                c, d, rate = args.clients, args.duration, args.rate
                loads = [f"closed {c} clients", f"open {rate:g}/s"]
                pool = args.open_pool
                sid = proc.pid
                intake = [warm]
                measure(kind, "GET /healthz", loads[0], sid, lambda: closed_loop(target, healthz_request, c, d), phases)
                intake.append(
                    measure(
                        kind,
                        "POST /workorders",
                        loads[0],
                        sid,
                        lambda: closed_loop(target, intake_request, c, d),
                        phases,
                    )
                )
                measure(
                    kind,
                    "GET /healthz",
                    loads[1],
                    sid,
                    lambda: open_loop(target, healthz_request, rate, d, args.drain, pool),
                    phases,
                )
                intake.append(
                    measure(
                        kind,
                        "POST /workorders",
                        loads[1],
                        sid,
                        lambda: open_loop(target, intake_request, rate, d, args.drain, pool),
                        phases,
                    )
                )
                retried = retry_check(target, [s for o in intake for s in o.samples])
            log = (tmp / "server.log").read_text(errors="replace")
            verify(env, intake, retried, log, checks, failures)
            if args.profile:
                print(f"[{kind}] profiling {args.profile} requests in one process …", flush=True)
                penv = {**env, "ALLOWED_HOSTS": "127.0.0.1,testserver", "BENCH_PROFILE_N": str(args.profile)}
                profile = shell(penv, PROFILE_CODE)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return DbRun(kind, phases, checks, failures, setup_seconds, calibration, load_before, profile, setup)


def retry_check(target: Target, samples: list[tuple[dict[str, str], bytes, str]]) -> tuple[int, int]:
    """Resend requests with their Idempotency-Key: each must answer 200 with the order first created."""
    good = 0
    samples = samples[:RETRY_SAMPLES]
    for headers, body, number in samples:
        conn = http.client.HTTPConnection(target.host, target.port, timeout=REQUEST_TIMEOUT)
        conn.request("POST", "/api/v1/workorders", body=body, headers=headers)
        resp = conn.getresponse()
        data = json.loads(resp.read())
        conn.close()
        good += resp.status == 200 and data.get("number") == number
    return good, len(samples)


def verify(
    env: dict[str, str],
    intake: list[Outcome],
    retried: tuple[int, int],
    log: str,
    checks: list[str],
    failures: list[str],
) -> None:
    db = shell(env, VERIFY_CODE)
    answered = [n for o in intake for n in o.numbers]
    created = sum(o.statuses[201] for o in intake)
    in_db = set(db["numbers"])

    def check(ok: bool, text: str) -> None:
        (checks if ok else failures).append(("ok    " if ok else "FAIL  ") + text)

    check(
        len(answered) == created == len(set(answered)) == len(db["numbers"]) and set(answered) == in_db,
        f"201 responses {created:,}, distinct order numbers in them {len(set(answered)):,}, "
        f"orders in the database {len(db['numbers']):,}, same set: {set(answered) == in_db}",
    )
    check(db["create_events"] == len(db["numbers"]), f"workorder.create audit events {db['create_events']:,}")
    check(not any(n.startswith("tmp-") for n in in_db), "no order left with a temporary number")
    check(
        retried[0] == retried[1] > 0,
        f"Idempotency-Key retries answered 200 with the first order: {retried[0]}/{retried[1]}",
    )
    five = sum(v for o in intake for k, v in o.statuses.items() if k >= 500)
    check(five == 0, f"5xx responses to intake: {five}")
    crashes = log.count("Traceback") + log.count("WORKER TIMEOUT")
    check(crashes == 0, f"tracebacks / worker timeouts in the server log: {crashes}")


# ---- report ------------------------------------------------------------------------------------------------


def code_version() -> str:
    def git(*a: str) -> str:
        done = subprocess.run(["git", "-C", str(ROOT), *a], capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else "?"

    changed = len(git("status", "--porcelain", "gridcare").splitlines())
    return f"git {git('rev-parse', '--short', 'HEAD')}, {changed} uncommitted paths under gridcare/"


def report(runs: list[DbRun], args: argparse.Namespace, started: dt.datetime) -> str:
    lines = [
        f"GridCare intake benchmark — {started:%Y-%m-%d %H:%M} UTC, {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs ({platform.processor() or platform.machine()})",
        f"command: .venv/bin/python bench/bench_intake.py --db {args.db} --duration {args.duration:g} "
        f"--clients {args.clients} --rate {args.rate:g} --workers {args.workers} --threads {args.threads}"
        f" --profile {args.profile}",
        f"code: {code_version()}",
        f"server: gridcare serve --workers {args.workers} --threads {args.threads} (gunicorn gthread workers, DEBUG=0,"
        " access log on) on 127.0.0.1; each client thread keeps its connection alive",
        "load generator: this process, http.client in threads; open loop measures from the scheduled send time",
        "intake mix: 60 % customer requests (5 categories, 2,000 demo accounts), 40 % non-customer consultations;"
        " half with an Idempotency-Key",
        "",
        "columns: ok/s = 2xx answered per second; latencies in ms; drop = not sent within "
        f"{args.drain:g} s after an open-loop schedule ended (server saturated);",
        "         srv/pg/gen = CPU ms per answered request in the gunicorn processes / all PostgreSQL processes /"
        " this load generator;",
        "         others = CPU cores used meanwhile by everything else on the machine (other people's jobs).",
        "",
    ]
    for run in runs:
        lines.append(
            f"[{run.db}] load average before: {' '.join(f'{x:.1f}' for x in run.load_before)}; "
            f"1M-turn Python loop: {run.calibration_ms:.0f} CPU ms (a current desktop core: ~30–60 ms); "
            f"setup {run.setup_seconds:.0f} s"
        )
        lines.append(f"[{run.db}] data: {run.setup}")
    lines += ["", HEADER]
    lines += [row(ph) for run in runs for ph in run.phases]
    lines.append("")
    for run in runs:
        for ph in run.phases:
            if ph.endpoint.startswith("POST") and ph.load.startswith("closed"):
                n = ok_count(ph.out)
                per = (ph.cpu.server + ph.cpu.postgres + ph.cpu.generator) / n if n else 0.0
                lines.append(
                    f"[{run.db}] intake CPU per order {1000 * per:.1f} ms (server+db+generator) → with the "
                    f"{os.cpu_count()} CPUs to ourselves the ceiling would be ≈ {(os.cpu_count() or 1) / per:.0f} "
                    "orders/s"
                    if per
                    else f"[{run.db}] no order answered"
                )
    lines.append("")
    for run in runs:
        lines += [f"[{run.db}] {c}" for c in run.checks + run.failures]
    for run in runs:
        if run.profile:
            lines += ["", f"[{run.db}] where the time goes per intake request", *run.profile]
    pg = next((r for r in runs if r.db == "postgres"), None)
    if pg is not None:
        closed = next(p for p in pg.phases if p.endpoint.startswith("POST") and p.load.startswith("closed"))
        opened = next(p for p in pg.phases if p.endpoint.startswith("POST") and p.load.startswith("open"))
        rate = ok_count(closed.out) / closed.cpu.wall
        p99 = fmt_ms(opened.out.latencies_ms, 99, opened.out.dropped)
        p99_ok = p99 != "> drain" and p99 != "-" and float(p99) <= TARGET_P99_MS
        lines += [
            "",
            f"target, PostgreSQL: ≥ {TARGET_RATE:.0f} new orders/s sustained — measured {rate:.1f}/s: "
            + ("MET" if rate >= TARGET_RATE else "MISSED"),
            f"target, PostgreSQL: p99 ≤ {TARGET_P99_MS:.0f} ms at {args.rate:g} orders/s — measured {p99} ms: "
            + ("MET" if p99_ok else "MISSED"),
        ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", default="postgres,sqlite", help="comma-separated: postgres, sqlite")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per measured phase")
    parser.add_argument("--clients", type=int, default=16, help="closed-loop concurrent clients")
    parser.add_argument("--rate", type=float, default=100.0, help="open-loop requests per second")
    parser.add_argument("--drain", type=float, default=15.0, help="open loop: seconds allowed after the schedule")
    parser.add_argument("--open-pool", type=int, default=64, help="open loop: sender threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of warm-up intake")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--profile", type=int, default=40, help="requests to break down in one process (0: none)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    kinds = [k.strip() for k in args.db.split(",") if k.strip()]
    if not kinds or set(kinds) - {"postgres", "sqlite"}:
        parser.error("--db takes postgres, sqlite or both")
    if args.duration <= 0 or args.clients <= 0 or args.rate <= 0 or not 0 < args.duration * args.rate <= 1_000_000:
        parser.error("--duration, --clients and --rate must be positive (and duration × rate ≤ 1,000,000)")

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)  # so the finally blocks stop the server and drop the database

    signal.signal(signal.SIGTERM, on_term)
    started = dt.datetime.now(dt.UTC)
    runs = [bench_db(kind, args) for kind in kinds]
    text = report(runs, args, started)
    print("\n" + text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"written to {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}")
    return 1 if any(r.failures for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
