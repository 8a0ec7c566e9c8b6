"""The write path shared by the listener and the MQTT subscriber: a device directory and a batching writer.

Fixes are queued and written by one thread in batches (when `batch_size` fixes are waiting, `flush_ms` after
the first one, or when the queue falls quiet, whichever comes first) with one bulk insert and one bulk
upsert, so thousands of fixes per second cost a few transactions. Each submit returns a future that
completes once its fixes are committed: the listener only answers 200 (and the MQTT subscriber only
acknowledges) after that, so a crash loses nothing a device believes delivered.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from django.db import close_old_connections, connection
from django.utils import timezone

from gridcare.gps import selectors
from gridcare.gps.config import GpsConfig
from gridcare.gps.models import Device
from gridcare.gps.parsing import Fix
from gridcare.gps.services import IngestResult, positions_ingest

log = logging.getLogger("gridcare.gps")

# A batch is written as soon as the queue has been quiet this long: light traffic is stored at once, and a
# sender with a small in-flight window (an MQTT broker allows ~20 unacknowledged messages) is not held
# back for the whole flush interval.
IDLE_GAP_S = 0.005


class DeviceDirectory:
    """Device identifier (as sent) → device pk, held in memory: loaded at start, refreshed every `refresh_s`,
    and asked of the database on a miss. Misses (unknown or disabled devices) are remembered for
    `negative_ttl_s`, so a flood of unknown ids cannot turn into a flood of queries."""

    def __init__(self, *, refresh_s: float = 60.0, negative_ttl_s: float = 30.0, max_negative: int = 10_000):
        self.refresh_s = refresh_s
        self.negative_ttl_s = negative_ttl_s
        self.max_negative = max_negative
        self._known: dict[str, int] = {}
        self._unknown: dict[str, float] = {}
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def load(self) -> None:
        """Read every accepting device (from a thread that may use the database)."""
        known = selectors.all_device_pks()
        with self._lock:
            self._known = known
            self._unknown.clear()
            self._loaded_at = time.monotonic()

    def due_for_refresh(self) -> bool:
        return time.monotonic() - self._loaded_at > self.refresh_s

    def cached(self, device_id: str) -> tuple[bool, int | None]:
        """(answered, device pk) from memory alone; answered=False means the database must be asked."""
        pk = self._known.get(device_id)
        if pk is not None:
            return True, pk
        seen = self._unknown.get(device_id)
        if seen is not None and time.monotonic() - seen < self.negative_ttl_s:
            return True, None
        return False, None

    def lookup(self, device_id: str) -> int | None:
        """Memory first, then the database (call from a thread that may use the database)."""
        answered, pk = self.cached(device_id)
        if answered:
            return pk
        pk = selectors.device_pk(device_id)
        with self._lock:
            if pk is not None:
                self._known[device_id] = pk
            else:
                if len(self._unknown) >= self.max_negative:
                    self._unknown.clear()
                self._unknown[device_id] = time.monotonic()
        return pk


@dataclass
class _Job:
    items: Sequence[tuple[int, Fix]]
    future: Future[IngestResult] = field(default_factory=Future)


@dataclass
class WriterStats:
    batches: int = 0
    fixes: int = 0
    failures: int = 0


class BatchWriter:
    """One thread that drains a queue of fixes into the database in batches."""

    def __init__(self, config: GpsConfig, *, ingest: Callable[..., IngestResult] = positions_ingest):
        self.config = config
        self._ingest = ingest
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="gps-writer", daemon=True)
        self.stats = WriterStats()

    def start(self) -> BatchWriter:
        self._thread.start()
        return self

    def submit(self, items: Sequence[tuple[int, Fix]]) -> Future[IngestResult]:
        job = _Job(items)
        self._queue.put(job)
        return job.future

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, then end the thread."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        flush_s = self.config.flush_ms / 1000.0
        stopping = False
        try:
            while not stopping:
                first = self._queue.get()
                if first is None:
                    break
                jobs = [first]
                count = len(first.items)
                deadline = time.monotonic() + flush_s
                while count < self.config.batch_size:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    try:
                        job = self._queue.get(timeout=min(remaining, IDLE_GAP_S))
                    except queue.Empty:
                        break
                    if job is None:
                        stopping = True
                        break
                    jobs.append(job)
                    count += len(job.items)
                self._flush(jobs)
        finally:
            connection.close()

    def _flush(self, jobs: list[_Job]) -> None:
        close_old_connections()
        items = [item for job in jobs for item in job.items]
        try:
            result = self._write(items)
        except Exception as exc:
            if len(jobs) > 1:
                # The batch joins requests from many devices: one that the database refuses must not fail
                # the others, so each is written on its own and only the one at fault is refused.
                log.warning(
                    "GPS batch of %d fixes failed (%s); writing its %d requests one by one", len(items), exc, len(jobs)
                )
                connection.close()
                for job in jobs:
                    self._flush([job])
                return
            log.exception("GPS batch of %d fixes could not be written", len(items))
            self.stats.failures += 1
            connection.close()  # a broken connection must not poison the next batch
            for job in jobs:
                job.future.set_exception(exc)
            return
        self.stats.batches += 1
        self.stats.fixes += len(items)
        for job in jobs:
            job.future.set_result(result)

    def _write(self, items: list[tuple[int, Fix]]) -> IngestResult:
        try:
            return self._ingest(items=items, received_at=timezone.now(), config=self.config)
        except Exception:
            # A device deleted since it was looked up would fail the whole batch: drop its fixes and write the
            # rest once more.
            existing = set(Device.objects.filter(pk__in={d for d, _ in items}).values_list("id", flat=True))
            kept = [item for item in items if item[0] in existing]
            if len(kept) == len(items):
                raise
            return self._ingest(items=kept, received_at=timezone.now(), config=self.config)
