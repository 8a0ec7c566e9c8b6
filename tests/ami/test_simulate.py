"""The demo's meter simulator: which meters report (reproducibly), event ids that make a resend harmless, and the
command straight into the ingest for a 台区, a feeder and a device below it; `gridcare ami ping` reads back."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command

from gridcare.ami.models import MeterEvent
from gridcare.ami.selectors import meters_below
from gridcare.ami.simulate import plan
from gridcare.grid import topology
from gridcare.grid.models import GridDevice
from tests.conftest import City

AT = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
METERS = [f"M{i:03d}" for i in range(100)]


def test_a_share_of_the_meters_reports_the_same_ones_for_the_same_seed() -> None:
    events = plan(meters=METERS, kind="last_gasp", at=AT, share=0.9, seed=7)
    assert len(events) == 90 and len({e["meter_no"] for e in events}) == 90
    assert events == plan(meters=METERS, kind="last_gasp", at=AT, share=0.9, seed=7)
    assert {e["meter_no"] for e in events} != {
        e["meter_no"] for e in plan(meters=METERS, kind="last_gasp", at=AT, share=0.9, seed=8)
    }


def test_events_fall_within_the_spread_and_their_ids_depend_on_meter_kind_and_time_only() -> None:
    events = plan(meters=METERS[:10], kind="restored", at=AT, spread_s=5, seed=1)
    times = [dt.datetime.fromisoformat(e["at"]) for e in events]
    assert all(AT <= t <= AT + dt.timedelta(seconds=5) for t in times)
    again = plan(meters=METERS[:10], kind="restored", at=AT, spread_s=5, seed=2)
    assert [e["event_id"] for e in events] == [e["event_id"] for e in again]  # a resend is a duplicate
    assert events[0]["event_id"] == f"SIM-restored-M000-{int(AT.timestamp())}"
    with pytest.raises(ValueError, match="share"):
        plan(meters=METERS, kind="restored", at=AT, share=1.5)


def test_the_command_sends_a_areas_last_gasps_straight_into_the_ingest(city: City, meters, ami_cfg, capsys) -> None:
    area = city.north_net.areas[0].code
    call_command("ami", "simulate", "--area", area, "--kind", "last_gasp", "--at", AT.isoformat())
    below = meters_below(area=area)
    assert f"{area}: {len(below)} meters" in capsys.readouterr().out
    stored = MeterEvent.objects.all()
    assert sorted(stored.values_list("meter_no", flat=True)) == below
    assert set(stored.values_list("channel", "kind")) == {("direct", "last_gasp")}

    call_command("ami", "ping", "--area", area, "GHOST")
    out = capsys.readouterr().out
    assert f"powered=0 no_answer={len(below)} unknown=1" in out


def test_a_feeder_means_every_area_it_feeds_and_a_device_the_areas_below_it(city: City, meters, ami_cfg) -> None:
    net = city.north_net
    breaker = GridDevice.objects.create(code="BRK-N", name="出口", kind="breaker", feeder=net.feeder)
    fuse = GridDevice.objects.create(code="FU-N1", name="分支", kind="fuse", feeder=net.feeder, upstream=breaker)
    net.areas[1].device = fuse
    net.areas[1].save()
    topology.forget()
    feeder_meters = meters_below(feeder=net.feeder.code)
    assert set(meters[net.areas[0].code]) | set(meters[net.areas[1].code]) <= set(feeder_meters)
    assert meters_below(device="FU-N1") == meters_below(area=net.areas[1].code)

    call_command(
        "ami", "simulate", "--device", "FU-N1", "--kind", "last_gasp", "--share", "0.5", "--at", AT.isoformat()
    )
    assert MeterEvent.objects.count() == round(len(meters_below(device="FU-N1")) * 0.5)
    assert set(MeterEvent.objects.values_list("service_point__transformer_area", flat=True)) == {net.areas[1].pk}


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--area", "NOPE", "--kind", "last_gasp"], "台区 NOPE 不存在"),
        (["--feeder", "NOPE", "--kind", "last_gasp"], "线路 NOPE 不存在"),
        (["--device", "NOPE", "--kind", "last_gasp"], "设备 NOPE"),
        (["--area", "X", "--kind", "last_gasp", "--share", "2"], "between 0 and 1"),
        (["--area", "X", "--kind", "last_gasp", "--at", "2026-06-01 08:00"], "zone"),
        (["--area", "X", "--kind", "sparks"], "invalid choice"),
    ],
)
def test_bad_options_end_with_one_line_saying_what_to_fix(city: City, ami_cfg, args: list[str], words: str) -> None:
    with pytest.raises(CommandError, match=words):
        call_command("ami", "simulate", *args)
    assert not MeterEvent.objects.exists()
