"""Accounts (issue #12): login throttling, password validators everywhere, Secure cookies, expiring portal links."""

from __future__ import annotations

import datetime as dt
import re
import threading
from typing import Any

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from gridcare.core.errors import ServiceError
from gridcare.notices.views import portal_url
from gridcare.org.models import LoginThrottle, User
from gridcare.org.roles import Role
from gridcare.org.services import user_create, user_set_password
from tests import factories as f
from tests.conftest import City, login

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
WRONG = "not-the-password-9"
LOCK_TEXT = "锁定"


def post_login(client: Client, username: str, password: str, *, address: str = "10.0.0.1") -> Any:
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


# --- throttling --------------------------------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_user_and_the_page_says_for_how_long(city: City) -> None:
    client = Client()
    with time_machine.travel(T0, tick=False):
        for _ in range(4):
            r = post_login(client, "agent", WRONG)
            assert r.status_code == 200
            assert "用户名或密码不正确" in r.content.decode()
        r = post_login(client, "agent", WRONG)
        assert r.status_code == 429
        assert "15 分钟后再试" in r.content.decode()
        # Now even the right password is not checked, from any address.
        r = post_login(Client(), "agent", f.PASSWORD, address="10.9.9.9")
        assert r.status_code == 429 and "_auth_user_id" not in Client().session
    with time_machine.travel(T0 + dt.timedelta(minutes=10), tick=False):
        r = post_login(client, "agent", f.PASSWORD)
        assert r.status_code == 429
        assert "5 分钟后再试" in r.content.decode()
    with time_machine.travel(T0 + dt.timedelta(minutes=15, seconds=1), tick=False):
        r = post_login(client, "agent", f.PASSWORD)
        assert r.status_code == 302 and r["Location"] == "/"


def test_a_successful_login_resets_the_users_count(city: City) -> None:
    with time_machine.travel(T0, tick=False):
        for _ in range(4):
            post_login(Client(), "agent", WRONG)
        assert post_login(Client(), "agent", f.PASSWORD).status_code == 302
        for _ in range(4):
            assert post_login(Client(), "agent", WRONG).status_code == 200
        assert post_login(Client(), "agent", f.PASSWORD).status_code == 302


def test_failures_older_than_the_window_are_forgotten(city: City) -> None:
    with time_machine.travel(T0, tick=False):
        for _ in range(4):
            post_login(Client(), "agent", WRONG)
    with time_machine.travel(T0 + dt.timedelta(minutes=16), tick=False):
        for _ in range(4):
            assert post_login(Client(), "agent", WRONG).status_code == 200
        assert post_login(Client(), "agent", f.PASSWORD).status_code == 302


def test_an_unknown_username_gets_exactly_the_answers_a_real_one_gets(city: City) -> None:
    def answers(username: str, address: str) -> list[tuple[int, str]]:
        out = []
        for _ in range(6):
            r = post_login(Client(), username, WRONG, address=address)
            page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", r.content.decode())
            page = page.replace(username, "NAME")
            out.append((r.status_code, page))
        return out

    with time_machine.travel(T0, tick=False):
        assert answers("agent", "10.0.0.1") == answers("nobody-here", "10.0.0.2")


def test_username_case_variants_share_one_count(city: City) -> None:
    with time_machine.travel(T0, tick=False):
        for name in ["agent", "AGENT", "Agent", "aGent", " agent"]:
            post_login(Client(), name, WRONG)
        assert post_login(Client(), "agent", f.PASSWORD).status_code == 429


def test_twenty_failures_from_one_address_lock_the_address_for_every_username(city: City) -> None:
    with time_machine.travel(T0, tick=False):
        for i in range(19):
            assert post_login(Client(), f"guess{i}", WRONG, address="192.0.2.7").status_code == 200
        r = post_login(Client(), "guess19", WRONG, address="192.0.2.7")
        assert r.status_code == 429 and "此网络地址" in r.content.decode()
        # A real user with the right password from that address waits too; from elsewhere they get in.
        assert post_login(Client(), "agent", f.PASSWORD, address="192.0.2.7").status_code == 429
        assert post_login(Client(), "agent", f.PASSWORD, address="192.0.2.8").status_code == 302


def test_one_ipv6_subscriber_prefix_counts_as_one_address(city: City) -> None:
    with time_machine.travel(T0, tick=False):
        for i in range(20):
            post_login(Client(), f"guess{i}", WRONG, address=f"2001:db8:1:2::{i + 1:x}")
        assert post_login(Client(), "agent", f.PASSWORD, address="2001:db8:1:2::ffff").status_code == 429


def test_the_admin_login_is_throttled_too(city: City) -> None:
    with time_machine.travel(T0, tick=False):
        for _ in range(5):
            r = Client().post(
                "/admin/login/?next=/admin/", {"username": "admin", "password": WRONG}, REMOTE_ADDR="10.0.0.3"
            )
        assert "15 分钟后再试" in r.content.decode()
        r = Client().post(
            "/admin/login/?next=/admin/", {"username": "admin", "password": f.PASSWORD}, REMOTE_ADDR="10.0.0.4"
        )
        assert r.status_code == 200 and "15 分钟后再试" in r.content.decode()


def test_authenticate_without_a_request_still_counts_the_user(city: City) -> None:
    # Any future password path (a command, an API) goes through authenticate(): the backend counts it.
    with time_machine.travel(T0, tick=False):
        for _ in range(5):
            assert authenticate(username="agent", password=WRONG) is None
        assert authenticate(username="agent", password=f.PASSWORD) is None
        row = LoginThrottle.objects.get(scope="user", key="agent")
        assert row.locked_until == T0 + dt.timedelta(minutes=15)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_guesses_check_at_most_five_passwords() -> None:
    from django.contrib.auth.backends import ModelBackend

    from tests.conftest import ensure_reference_data

    ensure_reference_data()
    unit = f.make_unit("center_95598")
    f.make_user(Role.AGENT, unit, "target")
    checked = []
    original = ModelBackend.authenticate
    barrier = threading.Barrier(12)

    def counting(self: Any, request: Any, username: Any = None, password: Any = None, **kw: Any) -> Any:
        checked.append(username)  # list.append is atomic: a spy, the real check still runs
        return original(self, request, username=username, password=password, **kw)

    results: list[int] = []

    def guess(i: int) -> None:
        try:
            barrier.wait()
            results.append(post_login(Client(), "target", WRONG, address=f"10.1.0.{i}").status_code)
        finally:
            connection.close()

    ModelBackend.authenticate = counting  # type: ignore[method-assign]
    try:
        threads = [threading.Thread(target=guess, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        ModelBackend.authenticate = original  # type: ignore[method-assign]
    assert len(results) == 12
    assert len(checked) <= 5
    assert results.count(429) >= 7


# --- password validators ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("weak", ["1", "", "12345678", "password", "qwertyui", "zhangwei01"])
def test_user_create_refuses_weak_passwords(city: City, weak: str) -> None:
    with pytest.raises(ServiceError, match="密码不符合要求") as info:
        user_create(
            username="zhangwei", password=weak, role=Role.AGENT, unit=city.center, full_name="zhangwei", actor=None
        )
    assert info.value.field == "password"
    assert not User.objects.filter(username="zhangwei").exists()


def test_user_set_password_refuses_weak_and_accepts_strong(city: City) -> None:
    with pytest.raises(ServiceError, match="密码不符合要求"):
        user_set_password(user=city.agent, password="1", actor=None)
    user_set_password(user=city.agent, password="a-Long-enough-phrase", actor=None)
    assert authenticate(username="agent", password="a-Long-enough-phrase") is not None


def test_create_user_and_createsuperuser_noinput_refuse_weak_passwords(db: None, monkeypatch: Any) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        User.objects.create_user(username="weak", password="1")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "1")
    with pytest.raises(CommandError):
        call_command("createsuperuser", "--noinput", "--username", "root9", "--email", "r@example.cn")
    assert not User.objects.filter(username__in=["weak", "root9"]).exists()


def test_the_admin_add_user_form_refuses_a_weak_password(city: City, client: Client) -> None:
    login(client, city.admin)
    r = client.post(
        "/admin/org/user/add/",
        {"username": "newbie", "password1": "1", "password2": "1", "usable_password": "true", "role": "agent"},
    )
    assert r.status_code == 200
    assert not User.objects.filter(username="newbie").exists()


def test_the_demo_password_passes_the_validators(db: None) -> None:
    from django.contrib.auth.password_validation import validate_password

    from gridcare.demo.spec import DEMO_PASSWORD, USERS

    for spec in USERS:
        validate_password(DEMO_PASSWORD, User(username=spec.username, first_name=spec.full_name))


# --- cookies ------------------------------------------------------------------------------------------------------


def test_cookies_are_secure_httponly_and_lax_over_https(city: City) -> None:
    client = Client()
    r = client.post("/login/", {"username": "agent", "password": f.PASSWORD}, secure=True)
    assert r.status_code == 302
    session = r.cookies["sessionid"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
    assert 0 < int(session["max-age"]) <= 12 * 3600
    csrf = Client().get("/login/", secure=True).cookies["csrftoken"]
    assert csrf["secure"] and csrf["samesite"] == "Lax"


def test_cookies_over_plain_http_are_not_secure_so_make_run_still_logs_in(city: City) -> None:
    client = Client()
    r = client.post("/login/", {"username": "agent", "password": f.PASSWORD})
    assert r.status_code == 302 and not r.cookies["sessionid"]["secure"]
    assert client.get("/").status_code == 200


# --- portal links -------------------------------------------------------------------------------------------------


def test_portal_links_work_for_thirty_days_then_say_they_have_expired(city: City) -> None:
    with time_machine.travel(T0, tick=False):
        link = portal_url(city.north_customer)
    with time_machine.travel(T0 + dt.timedelta(days=29, hours=23), tick=False):
        assert Client().get(link).status_code == 200
    with time_machine.travel(T0 + dt.timedelta(days=30, minutes=1), tick=False):
        r = Client().get(link)
        assert r.status_code == 410
        page = r.content.decode()
        assert "链接已过期" in page and city.north_customer.name not in page


def test_portal_link_lifetime_is_configurable(city: City, settings: Any) -> None:
    settings.GRIDCARE_PORTAL_LINK_DAYS = 2
    with time_machine.travel(T0, tick=False):
        link = portal_url(city.north_customer)
    with time_machine.travel(T0 + dt.timedelta(days=2, minutes=1), tick=False):
        assert Client().get(link).status_code == 410
    assert timezone.now()  # the clock is back
