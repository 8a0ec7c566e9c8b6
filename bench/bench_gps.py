"""GPS ingest throughput: OsmAnd/Traccar requests over real HTTP to `gridcare gps-listen`, and MQTT via Mosquitto.

Runs alone: `.venv/bin/python bench/bench_gps.py [--requests N] [--devices D] [--concurrency C]`.
Builds a throwaway database (SQLite in a temp dir, or --database-url postgres://…), registers D devices on D vehicles,
then on loopback only:
  1. baseline: `gps-listen --discard` (parse and answer, store nothing);
  2. `gps-listen` storing every fix (answers 200 only after commit);
  3. `gps-mqtt` fed by a publisher through the local Mosquitto (skipped with a reason when unreachable).
Mixed formats: half GET query strings (speed in knots), a quarter form posts, a quarter Traccar JSON.
Goal (issue 6): >= 2,000 positions/s sustained over HTTP on 2 cores. Writes bench/results/gps.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "gps.txt"
GRIDCARE = [sys.executable, "-m", "gridcare.cli"]
MQTT_BROKER = ("127.0.0.1", 1883)
# Devices authenticate as in production (GPS ingest is closed without a token), so the check is measured too.
TOKEN = "bench-token-0123456789abcdef"  # noqa: S105 - a throwaway token for a loopback benchmark


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_requests(devices: int, total: int, start: dt.datetime) -> list[bytes]:
    """Raw HTTP/1.1 requests, built before timing; each device moves ~10 m per second-apart fix."""
    out: list[bytes] = []
    for i in range(total):
        d, step = i % devices, i // devices
        device = f"bench-{d}"
        at = start + dt.timedelta(seconds=step)
        lat, lon = 30.0 + d * 0.001 + step * 0.0001, 120.0 + d * 0.001
        kind = i % 4
        if kind in (0, 1):
            qs = urlencode(
                {
                    "id": device,
                    "timestamp": int(at.timestamp()),
                    "lat": f"{lat:.6f}",
                    "lon": f"{lon:.6f}",
                    "speed": "12.5",
                    "bearing": "90",
                    "altitude": "10",
                    "accuracy": "5",
                    "batt": "80",
                }
            )
            out.append(f"GET /?{qs} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-GridCare-Token: {TOKEN}\r\n\r\n".encode())
        elif kind == 2:
            body = urlencode(
                {
                    "deviceid": device,
                    "timestamp": at.strftime("%Y-%m-%d %H:%M:%S"),
                    "location": f"{lat:.6f},{lon:.6f}",
                    "speed": "10",
                }
            ).encode()
            out.append(
                b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-GridCare-Token: "
                + TOKEN.encode()
                + b"\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            )
        else:
            body = json.dumps(
                {
                    "device_id": device,
                    "location": {
                        "timestamp": at.isoformat().replace("+00:00", "Z"),
                        "coords": {
                            "latitude": lat,
                            "longitude": lon,
                            "speed": 6.4,
                            "heading": 90,
                            "altitude": 10,
                            "accuracy": 4,
                        },
                        "battery": {"level": 0.8, "is_charging": False},
                        "is_moving": True,
                    },
                }
            ).encode()
            out.append(
                b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-GridCare-Token: "
                + TOKEN.encode()
                + b"\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            )
    return out


async def _client(port: int, requests: list[bytes], latencies: list[float], statuses: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for request in requests:
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


def run_load(port: int, requests: list[bytes], concurrency: int) -> dict[str, float]:
    """Send every request over `concurrency` keep-alive connections; bounded by the request list."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    # Each connection takes every concurrency-th request, so a device's fixes stay roughly in order.
    shares = [requests[i::concurrency] for i in range(concurrency)]

    async def main() -> float:
        t0 = time.perf_counter()
        await asyncio.gather(*(_client(port, share, latencies, statuses) for share in shares))
        return time.perf_counter() - t0

    elapsed = asyncio.run(main())
    latencies.sort()
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "rate": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "ok": statuses.get(200, 0),
        "other": sum(v for k, v in statuses.items() if k != 200),
    }


def start_server(env: dict[str, str], args: list[str], ready_text: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [*GRIDCARE, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if ready_text not in line:
        proc.kill()
        raise SystemExit(f"{args[0]} did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    return proc


def stop_server(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out.strip().splitlines()[-1] if out.strip() else ""


def setup_database(devices: int) -> None:
    """Migrate the throwaway database and register the devices (this process; the servers are children)."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", "--no-input", verbosity=0)
    from gridcare.gps.models import Device
    from gridcare.org.models import OrgUnit, Site
    from gridcare.repair.models import Vehicle

    site = Site.objects.create(code="B", name="bench")
    crew = OrgUnit.objects.create(code="BENCH", name="bench crew", kind="crew", site=site, duty_phone="0")
    trackers = Device.objects.bulk_create([Device(unique_id=f"bench-{i}") for i in range(devices)])
    Vehicle.objects.bulk_create(
        [
            Vehicle(plate=f"B{i:05d}", crew=crew, device=device, home_lat=30, home_lon=120)
            for i, device in enumerate(trackers)
        ]
    )


def count_points() -> int:
    from django.db import connection

    from gridcare.gps.models import TrackPoint

    n = TrackPoint.objects.count()
    connection.close()  # don't hold a read snapshot (or a lock) while the servers write
    return n


def mqtt_phase(env: dict[str, str], devices: int, messages: int, start: dt.datetime) -> dict[str, float] | str:
    try:
        with socket.create_connection(MQTT_BROKER, timeout=1):
            pass
    except OSError:
        return "skipped: no MQTT broker at 127.0.0.1:1883"
    import paho.mqtt.client as mqtt

    topic = f"gridcare-bench-{uuid.uuid4().hex[:8]}/gps"
    before = count_points()
    proc = start_server(env, ["gps-mqtt", "--topic", topic], "gps-mqtt subscribed")
    payloads = []
    for i in range(messages):
        d, step = i % devices, i // devices
        at = start + dt.timedelta(seconds=step)
        payloads.append(
            (
                f"{topic}/bench-{d}",
                json.dumps(
                    {
                        "lat": 31.0 + d * 0.001 + step * 0.0001,
                        "lon": 121.0,
                        "speed": 5,
                        "timestamp": int(at.timestamp()),
                    }
                ),
            )
        )
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:6]}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(*MQTT_BROKER)
    client.loop_start()
    # Mosquitto queues at most max_queued_messages (default 1000) for a subscriber and drops the rest, so
    # the publisher keeps its lead over what is stored below WINDOW, like a fleet of devices would.
    window = 500
    t0 = time.perf_counter()
    deadline = time.monotonic() + 120
    stored = 0
    sent = 0
    while time.monotonic() < deadline and stored < messages:
        while sent < messages and sent - stored < window:
            topic_name, payload = payloads[sent]
            client.publish(topic_name, payload, qos=1)
            sent += 1
        time.sleep(0.02)
        stored = count_points() - before
    published = time.perf_counter() - t0
    elapsed = time.perf_counter() - t0
    client.loop_stop()
    client.disconnect()
    summary = stop_server(proc)
    return {
        "messages": messages,
        "stored": stored,
        "publish_s": published,
        "seconds": elapsed,
        "rate": stored / elapsed,
        "summary": summary,
    }  # type: ignore[dict-item]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--mqtt-messages", type=int, default=10000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--workers", type=int, default=2, help="gps-listen processes (one per core)")
    args = parser.parse_args()
    if not 1 <= args.concurrency <= 2000 or not 1 <= args.requests <= 1_000_000:
        raise SystemExit("--concurrency must be 1..2000 and --requests 1..1,000,000")

    tmp = Path(tempfile.mkdtemp(prefix="gridcare-bench-gps-"))
    env = dict(
        os.environ,
        DEBUG="1",
        DJANGO_SETTINGS_MODULE="gridcare.settings",
        GRIDCARE_VAR_DIR=str(tmp),
        LOG_LEVEL="WARNING",
        GRIDCARE_GPS_TOKEN=TOKEN,
        PYTHONPATH=str(ROOT),
    )
    env["DATABASE_URL"] = args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    engine = "postgresql" if args.database_url.startswith("postgres") else "sqlite"
    lines: list[str] = []

    def report(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    os.environ.update(env)
    try:
        setup_database(args.devices)
        http_steps = args.requests // args.devices + 1
        mqtt_steps = args.mqtt_messages // args.devices + 1
        start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=http_steps + mqtt_steps + 120)
        requests = build_requests(args.devices, args.requests, start)
        report(f"GPS ingest benchmark — {platform.python_version()}, {os.cpu_count()} CPUs, database {engine}")
        report(
            f"{args.requests} requests from {args.devices} devices over {args.concurrency} keep-alive "
            f"connections to {args.workers} gps-listen worker(s), loopback; "
            "formats: 50% GET query, 25% form POST, 25% Traccar JSON"
        )
        report(f"load average before the run: {os.getloadavg()[0]:.1f} (other processes share these cores)")

        port = free_port()
        proc = start_server(
            env, ["gps-listen", "--port", str(port), "--workers", str(args.workers), "--discard"], "gps-listen on"
        )
        run_load(port, requests[: min(2000, len(requests))], args.concurrency)  # warm-up
        base = run_load(port, requests, args.concurrency)
        stop_server(proc)
        report(
            f"baseline  gps-listen --discard : {base['rate']:8.0f} req/s  p50 {base['p50_ms']:.1f} ms  "
            f"p99 {base['p99_ms']:.1f} ms  ({base['ok']:.0f} ok, {base['other']:.0f} other)"
        )

        port = free_port()
        proc = start_server(env, ["gps-listen", "--port", str(port), "--workers", str(args.workers)], "gps-listen on")
        stored = run_load(port, requests, args.concurrency)
        summary = stop_server(proc)
        points = count_points()
        report(
            f"storing   gps-listen           : {stored['rate']:8.0f} positions/s  p50 {stored['p50_ms']:.1f} ms  "
            f"p99 {stored['p99_ms']:.1f} ms  ({stored['ok']:.0f} ok, {stored['other']:.0f} other; "
            f"{points} track points in the database)"
        )
        report(f"          server: {summary}")
        verdict = (
            "PASS" if stored["rate"] >= 2000 and stored["ok"] == args.requests and points == args.requests else "FAIL"
        )
        report(
            f"goal >= 2,000 positions/s over HTTP, all stored: {verdict}; storing costs "
            f"{(1 / stored['rate'] - 1 / base['rate']) * 1e6:.0f} µs per position over the bare endpoint"
        )

        mqtt = mqtt_phase(env, args.devices, args.mqtt_messages, start + dt.timedelta(seconds=http_steps + 10))
        if isinstance(mqtt, str):
            report(f"mqtt      gps-mqtt             : {mqtt}")
        else:
            report(
                f"mqtt      gps-mqtt             : {mqtt['rate']:8.0f} positions/s stored end to end "
                f"({mqtt['stored']:.0f}/{mqtt['messages']:.0f} in {mqtt['seconds']:.1f} s, QoS 1, "
                f"published in {mqtt['publish_s']:.1f} s)"
            )
            report(f"          subscriber: {mqtt['summary']}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
