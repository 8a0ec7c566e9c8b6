"""Benchmark: a feeder outage affecting 100,000 customers, queued within 5 s; delivery throughput per channel.

Run alone: `.venv/bin/python bench/bench_notices.py [--db sqlite,postgres] [--customers N] [--deliver N]`.
Each database is measured in its own child process against a fresh database: SQLite in a temporary directory,
PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth; a database created for the run and dropped after it).
Measured for each:
  publish    outage_publish on one feeder: audience from the topology, affected set kept, messages queued
             on two channels (sms + inapp) — target ≤ 5 s for 100,000 customers;
  baseline   the same rows written the ordinary way: ids read into Python, Message objects bulk_created;
  delivery   messages/s per channel through the worker (claim, CAS, send, log) against local endpoints
             (an HTTP SMS gateway and an aiosmtpd SMTP server on 127.0.0.1, the in-app table, the outbox),
             one call at a time and at --concurrency calls in flight (target: SMS ≥ 80 % of its baseline);
  baseline   the channel alone at the same concurrency (the same sends, no database bookkeeping).
Results go to bench/results/notices.txt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 5.0
PG_ADMIN = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c"]
PG_URL = "postgres://postgres@127.0.0.1:5432/"
NOW = dt.datetime(2026, 10, 8, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai, outside quiet hours


class Gateway(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    count = 0

    def log_message(self, *args: Any) -> None:
        return None

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Gateway.count += 1
        body = json.dumps({"id": f"gw-{Gateway.count}"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_city(n: int) -> Any:
    """One company, one feeder with 200 台区 and n customers (bulk inserts: setup is not what we measure)."""
    from gridcare.customers.models import Contact, Customer
    from gridcare.grid.models import District, Feeder, ServicePoint, Substation, TransformerArea
    from gridcare.org.models import OrgUnit, Site

    site = Site.objects.create(code="S1", name="基地")
    unit = OrgUnit.objects.create(
        code="U1", name="城北报修中心", kind="repair_center", site=site, duty_phone="1", path="/1/"
    )
    district = District.objects.create(code="D1", name="临江区", area_class="urban")
    sub = Substation.objects.create(code="SUB1", name="1号变", lat=30.2, lon=120.1, unit=unit)
    feeder = Feeder.objects.create(code="F1", name="城北一线", substation=sub, unit=unit)
    other = Feeder.objects.create(code="F2", name="城北二线", substation=sub, unit=unit)
    areas = TransformerArea.objects.bulk_create(
        [
            TransformerArea(
                code=f"TA{i}",
                name=f"{i}号台区",
                feeder=feeder if i < 200 else other,
                rated_kva=400,
                lat=30.2,
                lon=120.1,
                district=district,
                unit=unit,
            )
            for i in range(210)
        ]
    )
    total = n + 5000  # 5,000 customers on the other feeder must not be told
    batch = 20000
    for lo in range(0, total, batch):
        hi = min(lo + batch, total)
        sps = ServicePoint.objects.bulk_create(
            [
                ServicePoint(
                    code=f"SP{i}",
                    transformer_area=areas[i % 200] if i < n else areas[200 + i % 10],
                    lat=30.2,
                    lon=120.1,
                )
                for i in range(lo, hi)
            ]
        )
        customers = Customer.objects.bulk_create(
            [
                Customer(
                    account_no=str(3300000000 + i),
                    name=f"客户{i}",
                    customer_type="lv_resident",
                    category="resident",
                    voltage_level="220V",
                    contract_kva=Decimal("8.0"),
                    address=f"滨江路{i}号",
                    district=district,
                    area_class="urban",
                    service_point=sp,
                    service_unit=unit,
                    opened_on=dt.date(2015, 1, 1),
                    important_level="first" if i % 2000 == 0 else "",
                )
                for i, sp in zip(range(lo, hi), sps, strict=True)
            ]
        )
        Contact.objects.bulk_create(
            [
                Contact(customer=c, name=c.name, phone=f"138{i:08d}", is_primary=True)
                for i, c in zip(range(lo, hi), customers, strict=True)
            ]
        )
    return unit, feeder


def channel_alone(channels: Any, ch: str, cfg: Any, ids: list[int], concurrency: int) -> float:
    """The baseline: the same number of sends straight through the channel, `concurrency` threads each with its
    own sender (as the worker does), no database. Returns sends per second."""
    from concurrent.futures import ThreadPoolExecutor

    impl = channels.build_channel(ch, cfg)
    local = threading.local()
    opened: list[Any] = []

    def send(i: int) -> None:
        sender = getattr(local, "sender", None)
        if sender is None:
            sender = local.sender = impl.open()
            opened.append(sender)
        cid = ids[i]
        sender.send(
            channels.Envelope(
                message_id=10**9 + i,
                key=f"base-{ch}-{concurrency}-{i}",
                to=f"c{cid}@example.cn" if ch == "email" else f"138{i:08d}",
                subject="基线",
                body="基线测试短信内容",
                customer_id=cid,
                account_no=str(cid),
                sent_at=NOW,
            )
        )

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(send, range(len(ids))))
    elapsed = time.perf_counter() - t0
    for sender in opened:
        sender.close()
    return len(ids) / elapsed


def run_one(args: argparse.Namespace) -> int:
    """One database (DATABASE_URL, set by the parent): prints the report lines; exit status 0 = targets met."""
    tmp = Path(tempfile.mkdtemp(prefix="gridcare-bench-notices-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "gridcare.settings"
    os.environ["DEBUG"] = "1"
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp / 'gridcare.sqlite3'}")
    os.environ["GRIDCARE_VAR_DIR"] = str(tmp / "var")
    os.environ["LOG_LEVEL"] = "WARNING"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from aiosmtpd.controller import Controller
    from django.core.management import call_command
    from django.db import connection, transaction

    from gridcare.customers.selectors import customer_ids_under
    from gridcare.notices import channels, config, delivery, services
    from gridcare.notices.models import Message, MessageStatus, Notice

    def say(text: str) -> None:
        print(text, flush=True)  # the parent collects the lines

    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sink = Sink()
    smtp_port = free_port()
    smtp = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    cfg = config.load_config(
        {
            "GRIDCARE_SMS_URL": f"http://127.0.0.1:{server.server_address[1]}/send",
            "GRIDCARE_SMTP_HOST": "127.0.0.1",
            "GRIDCARE_SMTP_PORT": str(smtp_port),
            "GRIDCARE_SMS_RATE_PER_MINUTE": "0",
            "GRIDCARE_EMAIL_RATE_PER_MINUTE": "0",
            "GRIDCARE_OUTBOX_DIR": str(tmp / "outbox"),
            "GRIDCARE_NOTICE_BATCH": "500",
        }
    )
    config.override(cfg)
    try:
        server_version = ""
        call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SHOW server_version")
                server_version = f" {cursor.fetchone()[0]}"
            else:
                cursor.execute("SELECT sqlite_version()")
                server_version = f" {cursor.fetchone()[0]} (file in a temporary directory)"
        say(f"== {connection.vendor}{server_version}")
        t0 = time.perf_counter()
        unit, feeder = build_city(args.customers)
        analyzed = ""
        if connection.vendor == "postgresql":
            # What autovacuum would do minutes after a bulk load; without it the planner guesses on empty tables.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            analyzed = ", then ANALYZE"
        say(
            f"setup: {args.customers:,} customers under one feeder (+5,000 elsewhere) "
            f"in {time.perf_counter() - t0:,.1f} s{analyzed}"
        )

        from gridcare.notices.models import Outage

        load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
        # Three publications of the same feeder (three outages on different days), each a full audience and
        # queue: the median is reported, so one hiccup of a shared machine does not decide the figure.
        times: list[float] = []
        ok = True
        queued = affected = expected = 0
        for day in (8, 9, 10):
            outage = services.outage_create(
                kind="planned",
                title="城北一线停电检修",
                cause="线路改造",
                unit=unit,
                starts_at=NOW + dt.timedelta(days=day),
                ends_at=NOW + dt.timedelta(days=day, hours=8),
                feeders=[feeder],
                actor="bench",
                now=NOW,
            )
            t0 = time.perf_counter()
            notice = services.outage_publish(outage=outage, actor="bench", channels=["sms", "inapp"], now=NOW)
            times.append(time.perf_counter() - t0)
            queued = Message.objects.filter(notice=notice).count()
            affected = Outage.objects.get(pk=outage.pk).affected_count
            expected = customer_ids_under(feeder_ids=[feeder.pk]).count()
            ok = ok and affected == expected == args.customers and queued == 2 * expected
        publish_s = sorted(times)[1]
        say("")
        say(
            f"publish (audience + affected set + {queued:,} messages on sms+inapp): {publish_s:.2f} s median of 3 "
            f"({', '.join(f'{t:.2f}' for t in times)}; load average before: {load_before}) "
            f"(target ≤ {TARGET_SECONDS:.0f} s for 100,000) — {'OK' if publish_s <= TARGET_SECONDS else 'MISSED'}"
        )
        say(f"  affected {affected:,} = topology {expected:,}, each time: {'yes' if ok else 'NO'}")

        # Baseline: the ordinary ORM way for the same rows (ids into Python, bulk_create objects).
        with transaction.atomic():
            base_notice = Notice.objects.create(
                kind="announcement", title="baseline", created_at=NOW, created_by="bench"
            )
            t0 = time.perf_counter()
            ids = list(customer_ids_under(feeder_ids=[feeder.pk]).values_list("id", flat=True))
            Message.objects.bulk_create(
                [
                    Message(notice=base_notice, customer_id=cid, channel=ch, next_attempt_at=NOW, queued_at=NOW)
                    for ch in ("sms", "inapp")
                    for cid in ids
                ],
                batch_size=2000,
            )
            base_s = time.perf_counter() - t0
            transaction.set_rollback(True)
        say(f"  baseline (ids into Python + ORM bulk_create of the same {2 * len(ids):,} rows): {base_s:.2f} s")

        # Delivery throughput: keep only `deliver` due messages per channel. Each channel is run by the worker
        # one call at a time (concurrency 1, the default) and at --concurrency calls in flight; the baselines are
        # the channel alone (the same sends, no database bookkeeping) one at a time and at the same concurrency,
        # measured right after, so the ratio compares like with like.
        say("")
        say(f"delivery throughput, {args.deliver:,} messages per channel, one worker, local endpoints:")
        Message.objects.update(status=MessageStatus.SUPPRESSED)  # the published outages' messages stay put
        ids = ids[: args.deliver]
        from gridcare.notices.models import ChannelPreference

        ChannelPreference.objects.bulk_create(
            [
                ChannelPreference(customer_id=cid, channel="email", address=f"c{cid}@example.cn", updated_at=NOW)
                for cid in ids
            ],
            ignore_conflicts=True,
        )
        results: dict[str, float] = {}
        for ch in ("sms", "email", "inapp", "outbox"):
            # In-app writes a database row per send: it stays on the worker's connection (concurrency 1).
            levels = (1,) if ch == "inapp" else (1, args.concurrency)
            for level in levels:
                run_cfg = replace(cfg, concurrency={**cfg.concurrency, ch: level})
                config.override(run_cfg)
                n = Notice.objects.create(
                    kind="announcement",
                    title=f"bench {ch} x{level}",
                    context={"text": "电价调整说明"},
                    channels=[ch],
                    created_at=NOW,
                    created_by="bench",
                )
                Message.objects.bulk_create(
                    [Message(notice=n, customer_id=cid, channel=ch, next_attempt_at=NOW, queued_at=NOW) for cid in ids]
                )
                t0 = time.perf_counter()
                done = 0
                while True:
                    k = delivery.deliver_batch(channel=ch, now=NOW, config=run_cfg)
                    if not k:
                        break
                    done += k
                worker_rate = done / (time.perf_counter() - t0)
                sent = Message.objects.filter(
                    notice=n, status__in=[MessageStatus.SENT, MessageStatus.DELIVERED]
                ).count()
                if ch == "inapp":
                    say(f"  {ch:7s} x{level}: worker {worker_rate:8,.0f} msg/s ({sent:,} sent; no channel baseline)")
                    continue
                alone = channel_alone(channels, ch, run_cfg, ids, level)
                results[f"{ch} x{level}"] = worker_rate / alone
                say(
                    f"  {ch:7s} x{level}: worker {worker_rate:8,.0f} msg/s ({sent:,} sent)   "
                    f"channel alone x{level} {alone:8,.0f} msg/s   ratio {worker_rate / alone:5.0%}"
                )
        config.override(cfg)
        sms_ratio = results.get(f"sms x{args.concurrency}", 0.0)
        say(
            f"  SMS worker at concurrency {args.concurrency} reaches {sms_ratio:.0%} of the channel alone at the same "
            f"concurrency (target ≥ 80 %) — {'OK' if sms_ratio >= 0.8 else 'MISSED'}"
        )
        say("")
        say(f"SMS gateway received {Gateway.count:,} calls; SMTP server accepted {sink.count:,} messages")
        fast_enough = publish_s <= TARGET_SECONDS * args.customers / 100_000 and sms_ratio >= 0.8
        return 0 if ok and fast_enough else 1
    finally:
        smtp.stop()
        server.shutdown()
        config.override(None)
        shutil.rmtree(tmp, ignore_errors=True)


def _psql(sql: str) -> None:
    done = subprocess.run([*PG_ADMIN, sql], capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"psql failed ({done.returncode}): {done.stderr.strip()[-1000:]}")


def run_database(kind: str, args: argparse.Namespace) -> tuple[list[str], int]:
    """Run one database in a child process (a fresh Django, a fresh database); returns its lines and status."""
    tmp = Path(tempfile.mkdtemp(prefix=f"gridcare-bench-notices-{kind}-"))
    name = f"gridcare_bench_notices_{os.getpid()}"
    url = f"sqlite:///{tmp / 'gridcare.sqlite3'}" if kind == "sqlite" else PG_URL + name
    if kind == "postgres":
        _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        _psql(f"CREATE DATABASE {name}")
    try:
        cmd = [
            sys.executable,
            __file__,
            "--child",
            "--customers",
            str(args.customers),
            "--deliver",
            str(args.deliver),
            "--concurrency",
            str(args.concurrency),
        ]
        child = subprocess.Popen(cmd, env={**os.environ, "DATABASE_URL": url}, stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        lines = []
        for line in child.stdout:
            print(line, end="", flush=True)
            lines.append(line.rstrip("\n"))
        status = child.wait()
        if status not in (0, 1):
            lines.append(f"({kind} run failed with exit status {status}; see the output above)")
        return lines, status
    finally:
        if kind == "postgres":
            _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--deliver", type=int, default=2000, help="messages per channel in the throughput runs")
    parser.add_argument("--concurrency", type=int, default=8, help="provider calls in flight per channel")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return run_one(args)
    kinds = [k.strip() for k in args.db.split(",") if k.strip()]
    if not kinds or set(kinds) - {"sqlite", "postgres"}:
        parser.error("--db takes sqlite, postgres or both")
    lines = [
        f"GridCare notices benchmark — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "each database in its own process, one after the other, against a fresh database",
    ]
    worst = 0
    for kind in kinds:
        lines.append("")
        out, status = run_database(kind, args)
        lines += out
        worst = max(worst, status)
    (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
    suffix = "" if args.customers == 100_000 else f"-{args.customers}"
    (ROOT / "bench" / "results" / f"notices{suffix}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return worst


if __name__ == "__main__":
    sys.exit(main())
