"""The gunicorn worker `gridcare serve` runs: gthread, except that slow clients cannot hold its threads.

gunicorn's gthread worker hands a connection to a thread as soon as its first bytes arrive; the thread then
blocks reading the rest of the headers and the body. Eight clients that send `Content-Length: 100` and no
body held all 2 × 2 threads of a default `gridcare serve`, and /healthz timed out behind them.

Here the worker's event loop reads each request first (headers, and a body up to PREFETCH_BODY_MAX) without
a thread, from any number of connections at once; only a complete request goes to the thread pool. A
client that stops sending for GRIDCARE_READ_TIMEOUT_SECONDS, or takes longer than 6 × that in all, is
disconnected. Bodies larger than the prefetch (uploads) and chunked bodies are read by the thread, each
recv() waiting at most the same timeout. Responses are written as before (no send timeout: a big Excel
export to a slow but live client must still arrive).
"""

from __future__ import annotations

import errno
import re
import select
import selectors
import socket
import time
from typing import Any

from gunicorn.http2 import negotiation
from gunicorn.workers.gthread import TConn, ThreadWorker

from gridcare.core.env import env_int

READ_TIMEOUT = float(env_int("GRIDCARE_READ_TIMEOUT_SECONDS", 10, minimum=1))
TOTAL_TIMEOUT = 6 * READ_TIMEOUT
PREFETCH_BODY_MAX = 128 * 1024  # read by the event loop; beyond this the (rare) big upload goes to a thread
HEADERS_MAX = 64 * 1024  # past this without the blank line, gunicorn's own parser answers 431/400
_CONTENT_LENGTH = re.compile(rb"^content-length[ \t]*:[ \t]*(\d{1,18})[ \t]*$", re.IGNORECASE | re.MULTILINE)
_STREAMED = re.compile(rb"^(transfer-encoding|expect)[ \t]*:", re.IGNORECASE | re.MULTILINE)


class TimedSocket(socket.socket):
    """A blocking socket whose reads give up after READ_TIMEOUT seconds of silence (writes are unchanged)."""

    def _wait_readable(self) -> None:
        if self.gettimeout() is not None:  # non-blocking use by the event loop: no waiting at all
            return
        poller = select.poll()
        poller.register(self.fileno(), select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR)
        if not poller.poll(READ_TIMEOUT * 1000):
            raise OSError(errno.ETIMEDOUT, f"client sent nothing for {READ_TIMEOUT:.0f} s")

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self._wait_readable()
        return super().recv(bufsize, flags)

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        self._wait_readable()
        return super().recv_into(buffer, nbytes, flags)


class PrefetchConn(TConn):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prefetched = bytearray()
        self.started = 0.0
        self.last_progress = 0.0

    def init(self) -> None:
        fresh = not self.initialized
        super().init()
        if fresh and self.prefetched:
            # What the event loop read comes first, then the socket (for a body larger than the prefetch).
            self.parser.unreader.unread(bytes(self.prefetched))
            self.prefetched = bytearray()

    def request_complete(self) -> bool:
        """Whether the bytes read so far hold a whole request (or all this loop should read of it)."""
        buf = self.prefetched
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return len(buf) > HEADERS_MAX
        head = bytes(buf[:end])
        if _STREAMED.search(head):
            return True  # chunked bodies and 100-continue are read by the thread, with the read timeout
        match = _CONTENT_LENGTH.search(head)
        length = int(match.group(1)) if match else 0
        return length > PREFETCH_BODY_MAX or len(buf) >= end + 4 + length


class GuardedThreadWorker(ThreadWorker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prefetching: dict[int, PrefetchConn] = {}

    def _plain_http1(self, client: Any) -> bool:
        return not self.cfg.is_ssl and not negotiation.prior_knowledge_allowed(self.cfg, client)

    def accept(self, listener: Any) -> None:
        try:
            client_sock, client_addr = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        if not self._plain_http1(client_addr):
            client_sock.setblocking(True)
            self.enqueue_req(TConn(self.cfg, client_sock, client_addr, listener.getsockname()))
            return
        timed = TimedSocket(client_sock.family, client_sock.type, client_sock.proto, fileno=client_sock.detach())
        conn = PrefetchConn(self.cfg, timed, client_addr, listener.getsockname())  # non-blocking from here
        self.prefetch(conn)

    def on_client_socket_readable(self, conn: Any, client: Any) -> None:
        # A kept-alive connection's next request is read by the loop too.
        if not isinstance(conn, PrefetchConn):
            super().on_client_socket_readable(conn, client)
            return
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self.prefetch(conn)

    def prefetch(self, conn: PrefetchConn) -> None:
        conn.sock.setblocking(False)
        conn.prefetched = bytearray()
        conn.started = conn.last_progress = time.monotonic()
        self.prefetching[conn.sock.fileno()] = conn
        self.poller.register(conn.sock, selectors.EVENT_READ, lambda _sock: self.on_prefetch_readable(conn))

    def _drop(self, conn: PrefetchConn) -> None:
        self.prefetching.pop(conn.sock.fileno(), None)
        try:
            self.poller.unregister(conn.sock)
        except (OSError, KeyError, ValueError):
            pass
        self.nr_conns -= 1
        conn.close()

    def on_prefetch_readable(self, conn: PrefetchConn) -> None:
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(conn)
            return
        if not data:  # the client went away before finishing its request
            self._drop(conn)
            return
        conn.prefetched += data
        conn.last_progress = time.monotonic()
        if not conn.request_complete():
            return
        self.prefetching.pop(conn.sock.fileno(), None)
        self.poller.unregister(conn.sock)
        conn.data_ready = True  # the thread must not wait for data again
        if conn.initialized:  # a kept-alive connection: its parser exists, hand it the bytes now
            conn.parser.unreader.unread(bytes(conn.prefetched))
            conn.prefetched = bytearray()
        self.enqueue_req(conn)

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        for conn in list(self.prefetching.values()):
            if now - conn.last_progress > READ_TIMEOUT or now - conn.started > TOTAL_TIMEOUT:
                self._drop(conn)
