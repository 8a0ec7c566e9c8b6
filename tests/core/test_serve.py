"""`gridcare serve` as production runs it (gunicorn, 2 workers × 2 threads): slow clients and the control socket."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READ_TIMEOUT = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(tmp_path: Path, *extra: str, name: str = "a", environ: dict[str, str] | None = None) -> Iterator[int]:
    port = free_port()
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "SECRET_KEY": "serve-test-not-secret",
        "GRIDCARE_VAR_DIR": str(tmp_path / f"var-{name}"),
        "HOME": str(home),
        "XDG_RUNTIME_DIR": str(home / "run"),
        "GRIDCARE_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT),
        "LOG_LEVEL": "WARNING",
        **(environ or {}),
    }
    log = tmp_path / f"serve-{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gridcare.cli",
                "serve",
                "--port",
                str(port),
                "--workers",
                "2",
                "--threads",
                "2",
                *extra,
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=tmp_path,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                if get(port, "/healthz", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        yield port
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        except ProcessLookupError:
            pass


def get(port: int, path: str, *, timeout: float) -> tuple[int, float]:
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        status = conn.getresponse().status
    finally:
        conn.close()
    return status, time.monotonic() - started


def stalled(port: int, payload: bytes) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(payload)
    return s


STALLED_POST = (
    b"POST /api/v1/workorders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: 1000\r\n\r\n"
)
STALLED_HEADERS = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


def test_stalled_posts_and_headers_do_not_starve_healthz_and_are_cut_off(tmp_path: Path) -> None:
    with serve(tmp_path) as port:
        clients = [stalled(port, STALLED_POST) for _ in range(12)]
        clients += [stalled(port, STALLED_HEADERS) for _ in range(4)]
        clients += [stalled(port, STALLED_POST + b'{"partial": ') for _ in range(4)]
        time.sleep(1)  # every stalled request has reached a worker
        for _ in range(3):
            status, _took = get(port, "/healthz", timeout=10)
            assert status == 200
            # Served while every stalled request is still held open: /healthz did not wait for the read timeout to
            # free a worker (no wall-clock bound, which a loaded CI machine would break).
            for client in clients:
                client.setblocking(False)
                try:
                    gone = client.recv(1, socket.MSG_PEEK) == b""
                except BlockingIOError:
                    gone = False
                finally:
                    client.setblocking(True)
                assert not gone, "a stalled client was already cut off: /healthz waited behind it"
        # The stalled connections are closed after the read timeout, not kept for ever.
        started = time.monotonic()
        for client in clients:
            client.settimeout(READ_TIMEOUT * 3)  # a socket.timeout here fails the test: still held open
            try:
                data = client.recv(100)
            except ConnectionResetError:
                data = b""
            assert data == b"" or data.startswith(b"HTTP/1.1 4"), data
            client.close()
        assert time.monotonic() - started < READ_TIMEOUT * 3
        slow_but_live_clients_and_big_bodies_are_still_served(port)


def slow_but_live_clients_and_big_bodies_are_still_served(port: int) -> None:
    """On the same server (one start is enough): what the read-ahead must not break."""
    # A body that arrives in pieces, with pauses shorter than the timeout.
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(b"POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    time.sleep(1)
    body = b"username=a&password=b"
    s.sendall(b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n" % len(body))
    time.sleep(1)
    s.sendall(body[:5])
    time.sleep(1)
    s.sendall(body[5:])
    assert s.recv(100).startswith(b"HTTP/1.1 403")  # answered (CSRF refusal), not dropped
    s.close()
    # A body larger than the event loop reads ahead goes to a thread and is answered.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    conn.request(
        "POST",
        "/api/v1/workorders",
        body=b"{" + b" " * 300_000 + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert 400 <= conn.getresponse().status < 500  # read whole and refused (no token), not cut off
    conn.close()
    # Keep-alive: several requests on one connection.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(3):
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        response.read()
        assert response.status == 200
    conn.close()


def test_no_shared_control_socket_by_default_and_one_per_instance_when_asked(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with serve(tmp_path, name="a"), serve(tmp_path, name="b"):
        shared = [p for p in home.rglob("*") if p.name.endswith(".ctl")] if home.exists() else []
        assert shared == [], f"gunicorn opened a per-user control socket shared by instances: {shared}"
    ctl_a, ctl_b = tmp_path / "a.ctl", tmp_path / "b.ctl"
    with (
        serve(tmp_path, "--control-socket", str(ctl_a), name="a"),
        serve(tmp_path, "--control-socket", str(ctl_b), name="b"),
    ):
        assert ctl_a.is_socket() and ctl_b.is_socket()


def favicon_count(port: int) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/metrics", headers={"Authorization": "Bearer serve-metrics-token-0123"})
        response = conn.getresponse()
        assert response.status == 200
        text = response.read().decode()
    finally:
        conn.close()
    (family,) = [f for f in text_string_to_metric_families(text) if f.name == "gridcare_http_requests"]
    return sum(s.value for s in family.samples if s.labels.get("route") == "/favicon.ico" and s.name.endswith("_total"))


def test_metrics_add_up_every_gunicorn_worker(tmp_path: Path) -> None:
    with serve(tmp_path, environ={"GRIDCARE_METRICS_TOKEN": "serve-metrics-token-0123"}) as port:
        # A route the readiness probe above does not use: a probe answered late cannot count in between.
        before = favicon_count(port)
        for _ in range(20):
            assert get(port, "/favicon.ico", timeout=10)[0] == 301
        # Whichever of the two workers answers the scrape, it reports the requests both of them served.
        assert [favicon_count(port) - before for _ in range(4)] == [20.0] * 4
        assert list((tmp_path / "var-a" / "metrics").glob("*.db"))
