"""`gridcare worker`: the loop around the registered jobs (deadlines, alerts, message delivery, tag runs …)."""

from __future__ import annotations

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from gridcare.core.worker import QUEUES, discover, parse_queues, run_pass


class Command(BaseCommand):
    help = "Run background jobs: once (--once) or in a loop every --interval seconds; --queue picks which."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument("--interval", type=float, default=5.0, help="seconds between polls of an idle job")
        parser.add_argument(
            "--queue",
            default="",
            help=f"comma-separated queues to run ({','.join(QUEUES)}); default: all, interleaved",
        )
        parser.add_argument("--job", action="append", default=[], help="run only this job (repeatable)")
        parser.add_argument("--list", action="store_true", help="list the registered jobs with their queues and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        jobs = discover()
        if options["list"]:
            for name in sorted(jobs):
                self.stdout.write(f"{name}  queue={jobs[name].queue}  budget={jobs[name].budget:g}s")
            return
        only = set(options["job"])
        unknown = only - set(jobs)
        if unknown:
            raise CommandError(f"unknown job(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(jobs))}")
        try:
            queues = parse_queues(options["queue"]) if options["queue"] else None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if options["interval"] <= 0:
            raise CommandError("--interval must be positive")
        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while True:
            handled = run_pass(only=only or None, queues=queues, clock=timezone.now, interval=options["interval"])
            busy = {k: v for k, v in handled.items() if v}
            if busy:
                self.stdout.write(" ".join(f"{k}={v}" for k, v in sorted(busy.items())))
            if options["once"] or stopping:
                return
            deadline = time.monotonic() + options["interval"]
            while not stopping and time.monotonic() < deadline:
                time.sleep(0.2)
            if stopping:
                return
