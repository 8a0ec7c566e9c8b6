"""`gridcare gps-listen`: a small HTTP/1.1 server on its own port (default 5055) speaking the OsmAnd protocol.

Built on asyncio streams so one process holds thousands of device connections with keep-alive. Parsing runs
in the event loop; everything that touches the database runs in other threads (Django's ORM refuses to run
inside an event loop): device misses in a one-thread executor, writes in the `BatchWriter`. A request is
answered 200 once its fix is committed; 503 if the database failed (the client will retry).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.utils import timezone

from gridcare.gps.config import GpsConfig
from gridcare.gps.ingest import refusal, unknown_device_answer
from gridcare.gps.parsing import GpsRejected, parse_http, skipped_note
from gridcare.gps.writer import BatchWriter, DeviceDirectory

log = logging.getLogger("gridcare.gps")

MAX_HEAD_BYTES = 16 * 1024
# Descriptors kept free for the database, logs and the listening socket itself.
RESERVED_DESCRIPTORS = 64
REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Payload Too Large",
    431: "Request Header Fields Too Large",
    408: "Request Timeout",
    503: "Service Unavailable",
}


@dataclass
class ListenerStats:
    accepted: int = 0
    rejected: int = 0
    unknown_device: int = 0
    failed: int = 0
    timed_out: int = 0
    refused_connections: int = 0


class _BadRequestError(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _connection_ceiling(configured: int) -> int:
    """The configured connection limit, but never more than the process may open: past the descriptor limit
    accept() fails for everyone, the database connection included."""
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):  # pragma: no cover - not on Linux
        return configured
    if soft == resource.RLIM_INFINITY:
        return configured
    return max(1, min(configured, soft - RESERVED_DESCRIPTORS))


def _response(status: int, body: str = "", *, keep_alive: bool) -> bytes:
    payload = body.encode("utf-8")
    head = (
        f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n"
        f"Content-Length: {len(payload)}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    return head.encode("ascii") + payload


class IngestServer:
    def __init__(self, config: GpsConfig, *, discard: bool = False):
        self.config = config
        self.discard = discard
        self.options = config.parse_options()
        self.stats = ListenerStats()
        self.directory = DeviceDirectory()
        self.writer: BatchWriter | None = None if discard else BatchWriter(config)
        # One thread for device look-ups: they are rare (the directory is in memory) and must not use the loop.
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gps-lookup")
        self._server: asyncio.Server | None = None
        self._refreshing = False
        self._connections: set[asyncio.Task[None]] = set()
        self._per_address: dict[str, int] = {}
        self._open = 0
        self._max_connections = _connection_ceiling(config.max_connections)

    async def start(self, host: str, port: int, *, reuse_port: bool = False) -> asyncio.Server:
        loop = asyncio.get_running_loop()
        if not self.discard:
            await loop.run_in_executor(self._db, self.directory.load)
        if self.writer is not None:
            self.writer.start()
        self._server = await asyncio.start_server(
            self._connection, host, port, limit=MAX_HEAD_BYTES, reuse_port=reuse_port or None
        )
        return self._server

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the listener has not started")
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        # Idle keep-alive connections would otherwise outlive the loop.
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        if self.writer is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.writer.stop)
        self._db.shutdown(wait=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        address = self._address(writer)
        if not self._admit(address):
            # Over the cap: answered at once and closed, so the stalled connections of one address cannot
            # take the descriptors every other device needs.
            self.stats.refused_connections += 1
            writer.write(_response(503, "连接过多，请稍后重试 (too many connections)", keep_alive=False))
            writer.close()
            with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
                await writer.wait_closed()
            return
        if task is not None:
            self._connections.add(task)
        config = self.config
        first_request = True
        try:
            while True:
                # Timers, not wait_for: wait_for costs a task per request, which shows at thousands per second.
                # Between requests a keep-alive connection may stay quiet for the idle timeout; once a request
                # has begun, its head and then its body must arrive within their own timeouts, so a client
                # sending a byte now and then cannot hold the connection for ever.
                start = b""
                if not first_request:
                    idle = loop.call_later(config.idle_timeout_s, writer.close)
                    try:
                        start = await reader.read(1)
                    except ConnectionError:
                        return
                    finally:
                        idle.cancel()
                    if not start:
                        return
                first_request = False
                timer = loop.call_later(config.header_timeout_s, self._time_out, writer, "请求头")
                try:
                    head = start + await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                except asyncio.LimitOverrunError:
                    writer.write(_response(431, "请求头过大 (headers too large)", keep_alive=False))
                    await writer.drain()
                    return
                finally:
                    timer.cancel()
                try:
                    method, target, headers, keep_alive = self._head(head)
                    length = self._content_length(headers)
                except _BadRequestError as exc:
                    writer.write(_response(exc.status, exc.reason, keep_alive=False))
                    await writer.drain()
                    return
                body = b""
                if length:
                    timer = loop.call_later(config.body_timeout_s, self._time_out, writer, "请求体")
                    try:
                        body = await reader.readexactly(length)
                    except (asyncio.IncompleteReadError, ConnectionError):
                        return
                    finally:
                        timer.cancel()
                status, text = await self.handle(method, target, headers, body)
                writer.write(_response(status, text, keep_alive=keep_alive))
                if writer.transport.get_write_buffer_size():
                    # A client that sends requests but does not read the answers would hold the connection
                    # in drain() for ever; abort, as close() would wait for the unread answers.
                    timer = loop.call_later(config.body_timeout_s, writer.transport.abort)
                    try:
                        await writer.drain()
                    finally:
                        timer.cancel()
                if not keep_alive:
                    return
        except ConnectionError:
            return
        finally:
            self._release(address)
            if task is not None:
                self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
                await writer.wait_closed()

    @staticmethod
    def _address(writer: asyncio.StreamWriter) -> str:
        peer = writer.get_extra_info("peername")
        return str(peer[0]) if isinstance(peer, tuple) and peer else "?"

    def _admit(self, address: str) -> bool:
        count = self._per_address.get(address, 0)
        if count >= self.config.max_connections_per_address or self._open >= self._max_connections:
            return False
        self._per_address[address] = count + 1
        self._open += 1
        return True

    def _release(self, address: str) -> None:
        self._open -= 1
        count = self._per_address.get(address, 0) - 1
        if count > 0:
            self._per_address[address] = count
        else:
            self._per_address.pop(address, None)

    def _time_out(self, writer: asyncio.StreamWriter, part: str) -> None:
        """A request whose head or body did not arrive in time: answered 408 and closed (the pending read
        then ends, and the connection's descriptor is freed)."""
        self.stats.timed_out += 1
        if not writer.is_closing():
            writer.write(_response(408, f"{part}超时 (request timeout)", keep_alive=False))
            writer.close()

    @staticmethod
    def _head(head: bytes) -> tuple[str, str, dict[str, str], bool]:
        try:
            text = head.decode("latin-1")
        except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes any byte
            raise _BadRequestError(400, "bad request") from None
        lines = text.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _BadRequestError(400, "请求行无法识别 (bad request line)")
        method, target, version = parts
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise _BadRequestError(400, "请求头无法识别 (bad header line)")
            headers[name.strip().lower()] = value.strip()
        connection_header = headers.get("connection", "").lower()
        keep_alive = connection_header != "close" and (version == "HTTP/1.1" or connection_header == "keep-alive")
        return method, target, headers, keep_alive

    def _content_length(self, headers: dict[str, str]) -> int:
        if "transfer-encoding" in headers:
            raise _BadRequestError(411, "请发送 Content-Length，不支持分块传输 (chunked bodies are not accepted)")
        raw = headers.get("content-length", "0")
        if not (raw.isascii() and raw.isdigit()):  # str.isdigit() also accepts '²' and other digits int() refuses
            raise _BadRequestError(400, "Content-Length 无效 (bad Content-Length)")
        length = int(raw)
        if length > self.config.max_body_bytes:
            raise _BadRequestError(413, f"请求体超过 {self.config.max_body_bytes} 字节 (body too large)")
        return length

    async def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        if method not in ("GET", "POST"):
            return 405, "只接受 GET 或 POST (use GET or POST)"
        _, _, query = target.partition("?")
        refused = refusal(self.config, query=query, header=headers.get("x-gridcare-token"))
        if refused is not None:
            self.stats.rejected += 1
            return refused
        try:
            parsed = parse_http(
                query=query,
                body=body,
                content_type=headers.get("content-type", ""),
                now=timezone.now(),
                options=self.options,
            )
        except GpsRejected as exc:
            self.stats.rejected += 1
            return exc.status, exc.reason
        if self.writer is None:  # --discard: the baseline stops here
            self.stats.accepted += len(parsed.fixes)
            return 200, ""
        try:
            device_pk = await self._device_pk(parsed.device_id)
        except Exception:
            log.exception("device look-up failed")
            self.stats.failed += 1
            return 503, "暂时无法保存，请稍后重试 (storage unavailable, retry later)"
        if device_pk is None:
            self.stats.unknown_device += 1
            return unknown_device_answer(parsed)
        future = self.writer.submit([(device_pk, fix) for fix in parsed.fixes])
        try:
            await asyncio.wrap_future(future)
        except Exception:
            self.stats.failed += 1
            return 503, "暂时无法保存，请稍后重试 (storage unavailable, retry later)"
        self.stats.accepted += len(parsed.fixes)
        return 200, skipped_note(parsed)

    async def _device_pk(self, device_id: str) -> int | None:
        loop = asyncio.get_running_loop()
        if self.directory.due_for_refresh() and not self._refreshing:
            self._refreshing = True
            refresh = loop.run_in_executor(self._db, self.directory.load)
            refresh.add_done_callback(self._refreshed)
        answered, pk = self.directory.cached(device_id)
        if answered:
            return pk
        return await loop.run_in_executor(self._db, self.directory.lookup, device_id)

    def _refreshed(self, future: asyncio.Future[None]) -> None:
        self._refreshing = False
        if not future.cancelled() and future.exception() is not None:
            log.warning("device directory refresh failed: %s", future.exception())


class ListenerThread:
    """The listener on its own event loop in a background thread (tests, benchmarks, embedding)."""

    def __init__(self, config: GpsConfig, *, host: str = "127.0.0.1", port: int = 0, discard: bool = False):
        self.server = IngestServer(config, discard=discard)
        self.host = host
        self._port = port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="gps-listener", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self.server.start(self.host, self._port))
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self.server.close())
        self._loop.close()

    def start(self) -> ListenerThread:
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        return self

    @property
    def port(self) -> int:
        return self.server.port

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(15)
