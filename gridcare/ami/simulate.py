"""The demo's meters: last gasps (or restorations, voltage losses) from the meters below a 台区, a feeder or a
device, sent through the real HTTP API or straight into the ingest, so a storm can be staged and scripted.

`plan` is pure (meters, time and seed in, events out); `send_http` and `send_direct` deliver the events in
batches and add up the answers. Event ids are derived from the meter, the kind and the planned time (`--at`), so
sending the same plan again stores nothing twice (the ingest's idempotency is part of what the demo shows), while
a second outage at another time is new events.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from typing import Any

from gridcare.ami import ingest
from gridcare.ami.config import IngestConfig
from gridcare.ami.models import Channel
from gridcare.ami.parsing import AmiRejected

BATCH = 500
TOTAL_KEYS = ("received", "stored", "duplicates", "unknown_meters", "conflicts", "invalid")


class SendError(Exception):
    """The server could not be reached or refused a batch: the message says which and why."""


def plan(
    *, meters: Sequence[str], kind: str, at: dt.datetime, share: float = 1.0, seed: int = 0, spread_s: float = 5.0
) -> list[dict[str, Any]]:
    """Events for a share of `meters` (chosen with `seed`), each at `at` plus up to `spread_s` seconds: a meter's
    last gasp leaves within seconds of the supply going, and not every meter's gets through."""
    if not 0.0 <= share <= 1.0:
        raise ValueError("share must be between 0 and 1")
    rng = random.Random(seed)  # noqa: S311 - a reproducible demo, not a secret
    chosen = sorted(rng.sample(list(meters), round(len(meters) * share)))
    stamp = int(at.timestamp())
    return [
        {
            "event_id": f"SIM-{kind}-{meter}-{stamp}",
            "meter_no": meter,
            "kind": kind,
            "at": (at + dt.timedelta(seconds=rng.uniform(0.0, spread_s))).isoformat(timespec="milliseconds"),
        }
        for meter in chosen
    ]


def _batches(events: Sequence[dict[str, Any]], size: int) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(events), size):
        yield events[start : start + size]


def _add(totals: dict[str, int], answer: dict[str, Any]) -> None:
    for key in TOTAL_KEYS:
        totals[key] += int(answer.get(key, 0))


def _detail(body: bytes) -> str:
    """The `detail` of an API error answer, readable (the body is JSON with escaped Chinese); else its start."""
    try:
        return str(json.loads(body)["detail"])[:300]
    except (ValueError, KeyError, TypeError):
        return body[:300].decode("utf-8", "replace")


def send_http(
    events: Sequence[dict[str, Any]], *, url: str, token: str, timeout: float = 30.0, batch: int = BATCH
) -> dict[str, int]:
    """POST the events to `url`/api/v1/ami/events in batches with the head-end token; the summed answers."""
    endpoint = url.rstrip("/") + "/api/v1/ami/events"
    if not endpoint.startswith(("http://", "https://")):
        raise SendError(f"--url 须以 http:// 或 https:// 开头：{url}")
    totals = dict.fromkeys(TOTAL_KEYS, 0)
    for chunk in _batches(events, batch):
        body = json.dumps({"events": list(chunk)}, ensure_ascii=False).encode()
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            endpoint,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "X-GridCare-Token": token},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                _add(totals, json.loads(response.read()))
        except urllib.error.HTTPError as exc:
            detail = _detail(exc.read())
            raise SendError(f"{endpoint} 拒绝了请求（HTTP {exc.code}）：{detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise SendError(f"无法连接 {endpoint}：{getattr(exc, 'reason', exc)}") from None
    return totals


def send_direct(
    events: Sequence[dict[str, Any]], *, now: dt.datetime, config: IngestConfig, batch: int = BATCH
) -> dict[str, int]:
    """The same batches straight into the ingest (the parser included), as channel `direct`."""
    totals = dict.fromkeys(TOTAL_KEYS, 0)
    for chunk in _batches(events, min(batch, config.max_events)):
        try:
            answer, _ = ingest.receive(
                json.dumps({"events": list(chunk)}),
                channel=Channel.DIRECT,
                now=now,
                config=config,
                actor="电表事件模拟器",
            )
        except AmiRejected as exc:
            raise SendError(exc.reason) from None
        _add(totals, answer.as_dict())
    return totals
