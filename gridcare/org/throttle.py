"""Login throttling: failed passwords counted per username and per client address, in the database.

Counting happens *before* the password is checked (a reservation), inside a transaction that locks the two
rows, so N parallel guesses cannot all slip past a limit of 5: at most `limit` passwords are checked per
window whatever the concurrency. A success gives the reservation back (and clears the user's count).
Unknown usernames are counted and locked exactly like real ones, so the answers never tell them apart.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.http import HttpRequest

from gridcare.org.models import LoginThrottle

Scope = LoginThrottle.Scope


@dataclass(frozen=True)
class Locked:
    scope: str  # Scope.USER or Scope.ADDRESS
    until: dt.datetime

    def minutes_left(self, now: dt.datetime) -> int:
        return max(1, math.ceil((self.until - now).total_seconds() / 60))


def _limit(scope: str) -> int:
    return settings.GRIDCARE_LOGIN_USER_FAILURES if scope == Scope.USER else settings.GRIDCARE_LOGIN_ADDRESS_FAILURES


def user_key(username: str) -> str:
    return username.strip().casefold()[:200]


def client_address(request: HttpRequest | None) -> str | None:
    """The client's address as a throttle key: the peer, or the proxy-appended X-Forwarded-For entry."""
    if request is None:
        return None
    raw = request.META.get("REMOTE_ADDR", "") or ""
    hops = settings.GRIDCARE_PROXY_COUNT
    if hops:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        # Each trusted proxy appends the address it saw; entries further left are the client's to invent.
        if len(forwarded) >= hops:
            raw = forwarded[-hops]
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw[:200] or None
    if address.version == 6:
        # One IPv6 subscriber gets a whole /64: count it as one address.
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _keys(username: str, address: str | None) -> list[tuple[str, str]]:
    keys = [(Scope.USER.value, user_key(username))]
    if address:
        keys.append((Scope.ADDRESS.value, address))
    return keys  # always user before address: one lock order for every request, no deadlocks


def _locked_row(scope: str, key: str, now: dt.datetime) -> LoginThrottle:
    row = LoginThrottle.objects.select_for_update().filter(scope=scope, key=key).first()
    if row is not None:
        return row
    stale = now - dt.timedelta(
        minutes=max(settings.GRIDCARE_LOGIN_WINDOW_MINUTES, settings.GRIDCARE_LOGIN_LOCK_MINUTES)
    )
    # Keys that have been quiet for a whole window are forgotten, so guessed usernames do not pile up.
    LoginThrottle.objects.filter(window_started_at__lt=stale).exclude(locked_until__gt=now).delete()
    try:
        with transaction.atomic():
            LoginThrottle.objects.create(scope=scope, key=key, failures=0, window_started_at=now)
    except IntegrityError:
        pass  # another request created it first; lock theirs
    return LoginThrottle.objects.select_for_update().get(scope=scope, key=key)


def attempt_begin(*, username: str, address: str | None, now: dt.datetime) -> Locked | None:
    """Count one attempt before its password is checked; a Locked answer means: do not check it."""
    window = dt.timedelta(minutes=settings.GRIDCARE_LOGIN_WINDOW_MINUTES)
    lock = dt.timedelta(minutes=settings.GRIDCARE_LOGIN_LOCK_MINUTES)
    with transaction.atomic():
        rows = [_locked_row(scope, key, now) for scope, key in _keys(username, address)]
        for row in rows:
            if (row.locked_until is not None and row.locked_until <= now) or row.window_started_at <= now - window:
                row.failures, row.window_started_at, row.locked_until = 0, now, None
        for row in rows:
            if row.locked_until is None and row.failures >= _limit(row.scope):
                # The limit is used up by attempts still being checked elsewhere: this one locks.
                row.locked_until = now + lock
            if row.locked_until is not None:
                for other in rows:
                    other.save(update_fields=["failures", "window_started_at", "locked_until"])
                return Locked(row.scope, row.locked_until)
        for row in rows:
            row.failures += 1
            row.save(update_fields=["failures", "window_started_at", "locked_until"])
    return None


def attempt_failed(*, username: str, address: str | None, now: dt.datetime) -> Locked | None:
    """The password was wrong (already counted): lock a key whose count reached its limit."""
    lock = dt.timedelta(minutes=settings.GRIDCARE_LOGIN_LOCK_MINUTES)
    with transaction.atomic():
        result = None
        for scope, key in _keys(username, address):
            row = LoginThrottle.objects.select_for_update().filter(scope=scope, key=key).first()
            if row is None:
                continue
            if row.locked_until is None and row.failures >= _limit(scope):
                row.locked_until = now + lock
                row.save(update_fields=["locked_until"])
            if row.locked_until is not None and row.locked_until > now and result is None:
                result = Locked(row.scope, row.locked_until)
    return result


def attempt_succeeded(*, username: str, address: str | None, now: dt.datetime) -> None:
    """A right password clears the user's count and gives the address back the attempt it reserved."""
    with transaction.atomic():
        LoginThrottle.objects.filter(scope=Scope.USER, key=user_key(username)).update(
            failures=0, window_started_at=now, locked_until=None
        )
        if address:
            LoginThrottle.objects.filter(scope=Scope.ADDRESS, key=address).update(
                failures=Greatest(F("failures") - 1, 0)
            )
