"""Real delivery endpoints for the notices tests: an aiosmtpd SMTP server and an HTTP SMS gateway on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message as EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from gridcare.notices import config as notice_config
from gridcare.notices.config import NoticeConfig


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SmtpSink:
    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=default_policy)
        msg["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        self.messages.append(msg)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    sink = SmtpSink("127.0.0.1", free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@dataclass
class Gateway:
    url: str
    calls: list[dict[str, Any]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)  # HTTP statuses to answer with, one per call
    dedupe: bool = False
    delay: float = 0.0  # seconds each call takes, so a worker can be caught in the middle of a batch
    lock: threading.Lock = field(default_factory=threading.Lock)

    def refs(self) -> list[str]:
        return [c["ref"] for c in self.calls]


def _handler(gw: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            return None

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            payload = json.loads(self.rfile.read(length).decode("utf-8"))
            if gw.delay:
                time.sleep(gw.delay)
            with gw.lock:
                status = gw.fail_next.pop(0) if gw.fail_next else 200
                duplicate = gw.dedupe and any(c["ref"] == payload.get("ref") for c in gw.calls)
                if status == 200 and not duplicate:
                    gw.calls.append({**payload, "auth": self.headers.get("X-Api-Key", "")})
                number = len(gw.calls)
            body = json.dumps({"id": f"gw-{number}", "ok": status == 200, "dup": duplicate}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def sms_gateway() -> Iterator[Gateway]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(Gateway("")))
    gw = Gateway(f"http://127.0.0.1:{server.server_address[1]}/send")
    server.RequestHandlerClass = _handler(gw)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gw
    finally:
        server.shutdown()
        server.server_close()


def make_config(
    tmp_path: Path, *, smtp: SmtpSink | None = None, gateway: Gateway | None = None, **env: str
) -> NoticeConfig:
    environ = {
        "GRIDCARE_OUTBOX_DIR": str(tmp_path / "outbox"),
        "GRIDCARE_SMS_RATE_PER_MINUTE": "0",
        "GRIDCARE_EMAIL_RATE_PER_MINUTE": "0",
        "GRIDCARE_NOTICE_CHANNELS": "inapp",
        **env,
    }
    if smtp is not None:
        environ |= {"GRIDCARE_SMTP_HOST": smtp.host, "GRIDCARE_SMTP_PORT": str(smtp.port)}
    if gateway is not None:
        environ |= {"GRIDCARE_SMS_URL": gateway.url, "GRIDCARE_SMS_AUTH_HEADER": "X-Api-Key: test-key"}
    return notice_config.load_config(environ)


@pytest.fixture
def use_config() -> Iterator[Any]:
    """Install a notices configuration for one test; the environment's comes back afterwards."""

    def install(config: NoticeConfig) -> NoticeConfig:
        notice_config.override(config)
        return config

    yield install
    notice_config.override(None)


@pytest.fixture(autouse=True)
def _inapp_only(tmp_path: Path) -> Iterator[None]:
    """Every test starts from a known configuration (in-app only) rather than the developer's environment."""
    notice_config.override(make_config(tmp_path))
    yield
    notice_config.override(None)
