"""Password login with throttling: one authentication backend, so the login page, the admin's login and any
future caller of django.contrib.auth.authenticate() are all counted; forms that say how long a lock lasts."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from gridcare.org import throttle
from gridcare.org.models import User

# The backend leaves the lock on the request for the form to explain (authenticate() itself only says None).
_LOCK_ATTR = "_gridcare_login_lock"


class ThrottledModelBackend(ModelBackend):
    def authenticate(  # type: ignore[override]
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        if username is None:
            username = kwargs.get("username")
        if username is None or password is None:
            return None
        address = throttle.client_address(request)
        locked = throttle.attempt_begin(username=username, address=address, now=timezone.now())
        if locked is not None:
            if request is not None:
                setattr(request, _LOCK_ATTR, locked)
            # PermissionDenied stops authenticate() here: no other backend may check this password either.
            raise PermissionDenied("login locked")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            throttle.attempt_succeeded(username=username, address=address, now=timezone.now())
            return user
        locked = throttle.attempt_failed(username=username, address=address, now=timezone.now())
        if locked is not None and request is not None:
            setattr(request, _LOCK_ATTR, locked)
        return None

    async def aauthenticate(  # type: ignore[override]
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        # Django's ModelBackend has a separate async path; route it through the same counting.
        return await sync_to_async(self.authenticate)(request, username=username, password=password, **kwargs)


def login_lock(request: HttpRequest | None) -> throttle.Locked | None:
    return getattr(request, _LOCK_ATTR, None)


def lock_message(locked: throttle.Locked) -> str:
    minutes = locked.minutes_left(timezone.now())
    if locked.scope == throttle.Scope.USER:
        # Said the same way for usernames that do not exist: they are counted and locked alike.
        return _("登录失败次数过多，该账号已被暂时锁定，请在 %(minutes)d 分钟后再试。") % {"minutes": minutes}
    return _("此网络地址登录失败次数过多，已被暂时限制登录，请在 %(minutes)d 分钟后再试。") % {"minutes": minutes}


class _ThrottleMessage:
    request: HttpRequest | None

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()  # type: ignore[misc, no-any-return]
        except forms.ValidationError:
            locked = login_lock(self.request)
            if locked is not None:
                raise forms.ValidationError(lock_message(locked), code="locked") from None
            raise


class ThrottledAuthenticationForm(_ThrottleMessage, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(_ThrottleMessage, AdminAuthenticationForm):
    pass
