"""The ping interface: the simulated pinger answers from each meter's latest stored event; GRIDCARE_AMI_PINGER
chooses the implementation, and a setting that names none stops the start (system check)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from gridcare.ami.parsing import ParsedEvent
from gridcare.ami.ping import Pinger, SimulatedPinger, get_pinger
from gridcare.ami.services import meter_events_ingest

T0 = dt.datetime(2026, 6, 1, 0, 0, tzinfo=dt.UTC)


class FixedPinger:
    """Stands for a head-end's on-demand read: configured by dotted path."""

    def ping(self, meter_nos: Sequence[str], now: dt.datetime) -> dict[str, bool | None]:
        return dict.fromkeys(meter_nos, False)


class NoPing:
    pass


def store(meter: str, kind: str, minutes: int) -> None:
    at = T0 + dt.timedelta(minutes=minutes)
    event = ParsedEvent(index=0, event_id=f"{meter}-{kind}-{minutes}", meter_no=meter, kind=kind, at=at)
    meter_events_ingest(events=[event], channel="direct", now=at)


def test_the_simulated_ping_answers_from_the_latest_event_at_or_before_now(meters) -> None:
    m = meters[next(iter(meters))]
    store(m[0], "last_gasp", 0)
    store(m[1], "last_gasp", 0)
    store(m[1], "restored", 30)
    store(m[2], "voltage_loss", 5)
    asked = [m[0], m[1], m[2], m[3], "GHOST"]
    pinger = SimulatedPinger()
    assert pinger.ping(asked, T0 + dt.timedelta(hours=1)) == {
        m[0]: False,  # gasped, no restoration since
        m[1]: True,  # restored after its gasp
        m[2]: False,  # voltage lost
        m[3]: True,  # never reported: powered
        "GHOST": None,  # not in the ledger
    }
    # As it stood at 00:10, before the restoration of m[1]: the answer follows `now`, not the last row written.
    assert pinger.ping([m[1]], T0 + dt.timedelta(minutes=10)) == {m[1]: False}


def test_the_setting_chooses_the_pinger() -> None:
    assert isinstance(get_pinger(), SimulatedPinger)
    with override_settings(GRIDCARE_AMI_PINGER="tests.ami.test_ping.FixedPinger"):
        pinger = get_pinger()
        assert isinstance(pinger, Pinger) and pinger.ping(["M1"], T0) == {"M1": False}


@pytest.mark.parametrize("path", ["tests.ami.test_ping.Missing", "tests.ami.test_ping.NoPing", "nowhere"])
def test_a_pinger_setting_that_names_no_pinger_is_a_startup_error(path: str) -> None:
    with override_settings(GRIDCARE_AMI_PINGER=path):
        errors = [m for m in run_checks() if m.id == "gridcare.E004"]
    assert len(errors) == 1 and path in errors[0].msg


def test_the_default_pinger_passes_the_checks() -> None:
    assert not [m for m in run_checks() if m.id == "gridcare.E004"]


def test_ingest_settings_are_checked_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDCARE_AMI_MQTT_TOPIC", "gridcare/#")
    assert [m.id for m in run_checks() if m.id.startswith("gridcare.E003")] == ["gridcare.E003"]
    monkeypatch.setenv("GRIDCARE_AMI_MQTT_TOPIC", "gridcare/ami")
    monkeypatch.setenv("GRIDCARE_AMI_NAIVE_TIME_ZONE", "Mars/Olympus")
    assert "GRIDCARE_AMI_NAIVE_TIME_ZONE" in next(m.msg for m in run_checks() if m.id == "gridcare.E003")


def test_the_head_end_token_is_checked_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRIDCARE_AMI_TOKEN", raising=False)
    assert "gridcare.I013" in {m.id for m in run_checks()}
    monkeypatch.setenv("GRIDCARE_AMI_TOKEN", "short")
    assert "gridcare.W014" in {m.id for m in run_checks()}
    monkeypatch.setenv("GRIDCARE_AMI_TOKEN", "a-long-enough-head-end-secret")
    assert not {"gridcare.I013", "gridcare.W014"} & {m.id for m in run_checks()}
