"""`gridcare ami simulate | mqtt | ping`: the meter-event simulator, the MQTT subscriber and a ping from the shell.

gridcare ami simulate (--area CODE | --feeder CODE | --device CODE) --kind last_gasp|restored|voltage_loss
                      [--share 0.9] [--at 2026-06-01T08:00:00+08:00] [--seed 0] [--spread 5]
                      [--url http://127.0.0.1:8000 [--token T]]
gridcare ami mqtt [--host H] [--port P] [--topic PREFIX] [--seconds S]
gridcare ami ping (METER … | --area CODE | --feeder CODE | --device CODE)
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from gridcare.ami import selectors, simulate
from gridcare.ami.config import get_config
from gridcare.ami.models import EventKind
from gridcare.ami.mqtt import MeterEventSubscriber
from gridcare.ami.ping import get_pinger


def _moment(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--at {text!r}: use ISO 8601 with a zone, e.g. 2026-06-01T08:00:00+08:00") from None
    if moment.tzinfo is None:
        raise CommandError(f"--at {text!r} has no zone: add +08:00 or Z")
    return moment


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CommandError(f"--share {text!r} is not a number between 0 and 1") from None
    if not 0.0 <= value <= 1.0:
        raise CommandError(f"--share {text} must be between 0 and 1")
    return value


def _place(parser: CommandParser, *, required: bool) -> None:
    place = parser.add_mutually_exclusive_group(required=required)
    place.add_argument("--area", help="台区 code: its meters")
    place.add_argument("--feeder", help="feeder code: the meters of every 台区 it feeds now")
    place.add_argument("--device", help="device code (fuse, recloser …): the meters below it now")


class Command(BaseCommand):
    help = "Meter events (AMI): simulate a storm's meters, subscribe to MQTT, ping meters."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sim = sub.add_parser("simulate", help="send events for the meters below a 台区, feeder or device")
        _place(sim, required=True)
        sim.add_argument("--kind", required=True, choices=[k.value for k in EventKind])
        sim.add_argument("--share", type=_share, default=1.0, help="share of the meters that report (default 1)")
        sim.add_argument(
            "--at",
            type=_moment,
            help="when the supply went or came back (default now); the same --at again sends the same event ids",
        )
        sim.add_argument("--seed", type=int, default=0, help="which meters report, reproducibly (default 0)")
        sim.add_argument("--spread", type=float, default=5.0, help="seconds over which events are spread (default 5)")
        sim.add_argument("--url", help="send through the HTTP API at this address (default: straight into the ingest)")
        sim.add_argument("--token", help="head-end token for --url (default GRIDCARE_AMI_TOKEN)")
        mq = sub.add_parser("mqtt", help="subscribe to <topic>/<head-end> and store the events published there")
        mq.add_argument("--host", help="broker host (default GRIDCARE_AMI_MQTT_HOST or 127.0.0.1)")
        mq.add_argument("--port", type=int, help="broker port (default GRIDCARE_AMI_MQTT_PORT or 1883)")
        mq.add_argument("--topic", help="topic prefix (default GRIDCARE_AMI_MQTT_TOPIC or gridcare/ami)")
        mq.add_argument("--seconds", type=float, default=0, help="stop after this many seconds (0 = run on)")
        ping = sub.add_parser("ping", help="ask meters whether they have power (GRIDCARE_AMI_PINGER)")
        ping.add_argument("meters", nargs="*", help="meter numbers")
        _place(ping, required=False)

    def handle(self, *args: Any, **options: Any) -> None:
        {"simulate": self.simulate, "mqtt": self.mqtt, "ping": self.ping}[options["action"]](options)

    def _meters(self, options: dict[str, Any]) -> list[str]:
        try:
            return selectors.meters_below(area=options["area"], feeder=options["feeder"], device=options["device"])
        except selectors.UnknownPlace as exc:
            raise CommandError(str(exc)) from None

    def simulate(self, options: dict[str, Any]) -> None:
        meters = self._meters(options)
        now = timezone.now()
        events = simulate.plan(
            meters=meters,
            kind=options["kind"],
            at=options["at"] or now,
            share=options["share"],
            seed=options["seed"],
            spread_s=max(options["spread"], 0.0),
        )
        if not events:
            raise CommandError("no meters to simulate there (no service point with a meter number below it)")
        try:
            if options["url"]:
                token = options["token"] or os.environ.get("GRIDCARE_AMI_TOKEN", "")
                if not token:
                    raise CommandError("--url needs the head-end token: --token or GRIDCARE_AMI_TOKEN")
                totals = simulate.send_http(events, url=options["url"], token=token)
            else:
                totals = simulate.send_direct(events, now=now, config=get_config())
        except simulate.SendError as exc:
            raise CommandError(str(exc)) from None
        where = options["area"] or options["feeder"] or options["device"]
        self.stdout.write(
            f"{where}: {len(meters)} meters, sent {len(events)} {options['kind']} events: "
            + ", ".join(f"{k}={v}" for k, v in totals.items())
        )

    def mqtt(self, options: dict[str, Any]) -> None:
        config = get_config()
        topic = options["topic"]
        if topic is not None and (not topic.strip("/") or "+" in topic or "#" in topic):
            raise CommandError(f"--topic {topic!r} must be a plain prefix such as gridcare/ami (no wildcards)")
        subscriber = MeterEventSubscriber(config, host=options["host"], port=options["port"], topic=topic)
        try:
            subscriber.start()
        except OSError as exc:
            subscriber.stop(timeout=1)
            raise CommandError(f"cannot reach the MQTT broker at {subscriber.host}:{subscriber.port}: {exc}") from None
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        if not subscriber.connected.wait(10):
            subscriber.stop()
            raise CommandError(
                f"the MQTT broker at {subscriber.host}:{subscriber.port} did not accept the subscription"
            )
        self.stdout.write(f"ami mqtt subscribed to {subscriber.topic}/+ on {subscriber.host}:{subscriber.port}")
        self.stdout.flush()
        deadline = time.monotonic() + options["seconds"] if options["seconds"] > 0 else None
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            stop.wait(0.2)
        subscriber.stop()
        s = subscriber.stats
        self.stdout.write(
            f"stopped: messages={s.messages} stored={s.stored} duplicates={s.duplicates} "
            f"unknown_meters={s.unknown_meters} invalid={s.invalid} rejected_messages={s.rejected_messages}"
        )

    def ping(self, options: dict[str, Any]) -> None:
        meters = list(options["meters"])
        if options["area"] or options["feeder"] or options["device"]:
            meters += self._meters(options)
        if not meters:
            raise CommandError("name meters, or --area/--feeder/--device")
        answers = get_pinger().ping(meters, timezone.now())
        words = {True: "有电 (powered)", False: "无应答 (no answer)", None: "未知 (unknown)"}
        for meter in meters:
            self.stdout.write(f"{meter}\t{words[answers.get(meter)]}")
        counts = {k: sum(1 for v in answers.values() if v is k) for k in (True, False, None)}
        self.stdout.write(f"powered={counts[True]} no_answer={counts[False]} unknown={counts[None]}")
