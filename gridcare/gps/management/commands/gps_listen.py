"""`gridcare gps-listen [--host H] [--port P] [--workers N] [--discard]`: the OsmAnd/Traccar HTTP listener."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gridcare.gps.config import GpsConfig, get_config
from gridcare.gps.listener import IngestServer


class Command(BaseCommand):
    help = "Receive GPS positions from Traccar Client / OsmAnd devices over HTTP (default port 5055)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", help="address to bind (default GRIDCARE_GPS_HOST or 127.0.0.1)")
        parser.add_argument("--port", type=int, help="port to bind (default GRIDCARE_GPS_PORT or 5055)")
        parser.add_argument(
            "--workers", type=int, default=1, help="processes sharing the port (SO_REUSEPORT); one per core"
        )
        parser.add_argument("--reuse-port", action="store_true", help=argparse_hidden())
        parser.add_argument(
            "--discard", action="store_true", help="parse and answer, store nothing (a baseline for benchmarks)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        config = get_config()
        host = options["host"] or config.listen_host
        port = config.listen_port if options["port"] is None else options["port"]
        workers = options["workers"]
        if not 0 <= port <= 65535:
            raise CommandError(f"--port {port} is not a TCP port (0–65535)")
        if not 1 <= workers <= 64:
            raise CommandError(f"--workers {workers} must be between 1 and 64")
        if workers > 1 and port == 0:
            raise CommandError("--workers above 1 needs a fixed --port (the processes share it)")
        children: list[subprocess.Popen[bytes]] = []
        if workers > 1:
            # Each worker is a whole process (its own GIL, event loop and batch writer); the kernel spreads
            # new connections across them.
            command = [sys.executable, "-m", "gridcare.cli", "gps-listen", "--host", host, "--port", str(port)]
            command += ["--workers", "1", "--reuse-port"] + (["--discard"] if options["discard"] else [])
            children = [subprocess.Popen(command, stdout=subprocess.DEVNULL) for _ in range(workers - 1)]  # noqa: S603
        try:
            asyncio.run(
                self._serve(config, host, port, options["discard"], reuse_port=workers > 1 or options["reuse_port"])
            )
        except OSError as exc:
            raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        finally:
            for child in children:
                child.terminate()
            for child in children:
                child.wait(30)

    async def _serve(self, config: GpsConfig, host: str, port: int, discard: bool, *, reuse_port: bool) -> None:
        server = IngestServer(config, discard=discard)
        await server.start(host, port, reuse_port=reuse_port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        mode = "discarding (baseline)" if discard else "storing"
        self.stdout.write(f"gps-listen on {host}:{server.port}, {mode}")
        self.stdout.flush()
        await stop.wait()
        await server.close()
        s = server.stats
        self.stdout.write(f"stopped: accepted={s.accepted} rejected={s.rejected} unknown={s.unknown_device}")


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS
