"""Settings read from the environment fail at start with a message that says how to fix the value."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from gridcare.core.env import env_bool, env_database, env_int, env_timezone


def test_bool_accepts_common_spellings() -> None:
    assert env_bool("DEBUG", False, {"DEBUG": "yes"}) is True
    assert env_bool("DEBUG", True, {"DEBUG": "0"}) is False
    assert env_bool("DEBUG", True, {}) is True


def test_bool_rejects_nonsense_with_the_allowed_values() -> None:
    with pytest.raises(ImproperlyConfigured, match="true/false"):
        env_bool("DEBUG", False, {"DEBUG": "maybe"})


def test_int_rejects_text_and_too_small() -> None:
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        env_int("N", 1, environ={"N": "ten"})
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("N", 1, minimum=1, environ={"N": "0"})


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="Asia/Shanghai"):
        env_timezone("TIME_ZONE", "Asia/Shanghai", {"TIME_ZONE": "Mars/Olympus"})
    assert env_timezone("TIME_ZONE", "Asia/Shanghai", {}) == "Asia/Shanghai"


def test_database_url_schemes() -> None:
    pg = env_database("DATABASE_URL", "", {"DATABASE_URL": "postgres://u@127.0.0.1:5432/gc"})
    assert pg["ENGINE"] == "django.db.backends.postgresql" and pg["NAME"] == "gc"
    lite = env_database("DATABASE_URL", "sqlite:////tmp/x.sqlite3", {})
    assert lite["ENGINE"] == "django.db.backends.sqlite3"
    with pytest.raises(ImproperlyConfigured, match="sqlite:/// or postgres://"):
        env_database("DATABASE_URL", "", {"DATABASE_URL": "mysql://root@localhost/x"})
    with pytest.raises(ImproperlyConfigured, match="names no database"):
        env_database("DATABASE_URL", "", {"DATABASE_URL": "postgres://u@127.0.0.1:5432"})


def _gridcare_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "TIME_ZONE", "DATABASE_URL"}}
    clean.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-m", "gridcare.cli", "check"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_missing_secret_key_without_debug_stops_the_start_with_one_line() -> None:
    result = _gridcare_check({"DEBUG": "false"})
    assert result.returncode == 2
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_time_zone_stops_the_start() -> None:
    result = _gridcare_check({"DEBUG": "true", "TIME_ZONE": "Nowhere/Place"})
    assert result.returncode == 2
    assert "TIME_ZONE='Nowhere/Place'" in result.stderr


def test_language_defaults_to_chinese_and_time_zone_to_shanghai() -> None:
    from django.conf import settings

    assert settings.LANGUAGE_CODE == "zh-hans"
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert ("en", "English") in settings.LANGUAGES


def test_a_bad_notice_or_gps_variable_stops_the_system_check_with_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.checks import run_checks

    assert not [m for m in run_checks() if m.id in ("gridcare.E001", "gridcare.E002")]
    monkeypatch.setenv("GRIDCARE_NOTICE_QUIET_HOURS", "late evening")
    monkeypatch.setenv("GRIDCARE_GPS_NAIVE_TIME_ZONE", "Mars/Olympus")
    found = {m.id: m.msg for m in run_checks() if m.id in ("gridcare.E001", "gridcare.E002")}
    assert "GRIDCARE_NOTICE_QUIET_HOURS" in found["gridcare.E001"]
    assert "GRIDCARE_GPS_NAIVE_TIME_ZONE" in found["gridcare.E002"]


def test_log_format_must_be_plain_or_json() -> None:
    result = _gridcare_check({"DEBUG": "true", "GRIDCARE_LOG_FORMAT": "xml"})
    assert result.returncode == 2
    assert "GRIDCARE_LOG_FORMAT='xml' is not one of: json, plain" in result.stderr
