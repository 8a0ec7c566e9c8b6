"""Writes to the organisation: units, managers, users and API tokens. Each is atomic and audited."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from gridcare.core import refdata
from gridcare.core.audit import record_event, snapshot
from gridcare.core.errors import ServiceError
from gridcare.org.models import ApiToken, OrgUnit, Site, UnitManager, User
from gridcare.org.roles import Role

MIN_MANAGERS = 2
TOKEN_PREFIX = "gc_"  # noqa: S105 - a visible prefix so leaked tokens are recognisable, not a secret


@dataclass(frozen=True)
class ManagerSpec:
    name: str
    phone: str
    title: str = ""


def site_create(
    *,
    code: str,
    name: str,
    address: str = "",
    lat: float | None = None,
    lon: float | None = None,
    actor: User | str | None,
) -> Site:
    with transaction.atomic():
        site = Site.objects.create(code=code, name=name, address=address, lat=lat, lon=lon)
        record_event(actor=actor, action="site.create", subject=site, new=snapshot(site, ["code", "name"]))
        return site


def orgunit_create(
    *,
    code: str,
    name: str,
    kind: str,
    site: Site,
    duty_phone: str,
    managers: Sequence[ManagerSpec],
    parent: OrgUnit | None = None,
    scope_unit: OrgUnit | None = None,
    actor: User | str | None,
) -> OrgUnit:
    if kind not in OrgUnit.Kind.values:
        raise ServiceError(f"未知的单位类型 {kind!r}", field="kind")
    if len(managers) < MIN_MANAGERS:
        raise ServiceError(f"每个单位至少需要 {MIN_MANAGERS} 名负责人及电话，用于逐级催办", field="managers")
    if not duty_phone.strip():
        raise ServiceError("值班电话不能为空", field="duty_phone")
    with transaction.atomic():
        unit = OrgUnit.objects.create(
            code=code,
            name=name,
            kind=kind,
            parent=parent,
            site=site,
            duty_phone=duty_phone,
            scope_unit=scope_unit,
        )
        unit.path = f"{parent.path if parent else '/'}{unit.pk}/"
        unit.save(update_fields=["path"])
        UnitManager.objects.bulk_create(
            UnitManager(unit=unit, name=m.name, phone=m.phone, title=m.title, rank=i)
            for i, m in enumerate(managers, start=1)
        )
        transaction.on_commit(refdata.changed)
        refdata.changed()
        record_event(
            actor=actor,
            action="orgunit.create",
            subject=unit,
            new={
                **snapshot(unit, ["code", "name", "kind", "parent", "site", "duty_phone"]),
                "managers": [m.phone for m in managers],
            },
        )
        return unit


def user_create(
    *,
    username: str,
    password: str | None,
    role: str,
    unit: OrgUnit | None,
    full_name: str = "",
    phone: str = "",
    actor: User | str | None,
) -> User:
    if role not in Role.values:
        raise ServiceError(f"未知的角色 {role!r}；可选：{', '.join(Role.values)}", field="role")
    if role != Role.ADMIN and unit is None:
        raise ServiceError("除系统管理员外，用户必须属于一个单位", field="unit")
    if User.objects.filter(username=username).exists():
        raise ServiceError(f"用户名 {username} 已存在", field="username")
    user = User(username=username, role=role, unit=unit, first_name=full_name, phone=phone)
    if password is not None:
        # An empty string is a password too (a weak one), not "no password": it goes through the validators.
        password_check(password, user=user)
    with transaction.atomic():
        if role == Role.ADMIN:
            user.is_staff = True
            user.is_superuser = True
        if password is not None:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        record_event(actor=actor, action="user.create", subject=user, new=snapshot(user, ["username", "role", "unit"]))
        return user


def password_check(password: str, *, user: User | None) -> None:
    """AUTH_PASSWORD_VALIDATORS, for every path that sets a password (services, commands, the demo).

    The user (saved or not) lets the similarity validator compare the password with the username and name.
    """
    try:
        password_validation.validate_password(password, user=user)
    except ValidationError as exc:
        raise ServiceError("密码不符合要求：" + "；".join(exc.messages), field="password") from None


def user_set_password(*, user: User, password: str, actor: User | str | None) -> User:
    """Change a user's password after checking it; the hash is never put in the audit trail."""
    password_check(password, user=user)
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        record_event(actor=actor, action="user.set_password", subject=user, new={"password": "(changed)"})
    password_validation.password_changed(password, user=user)
    return user


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_create(*, user: User, name: str = "", actor: User | str | None) -> tuple[ApiToken, str]:
    """Returns the token row and the plain token, which is never stored and cannot be shown again."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, prefix=raw[:10], digest=_digest(raw), created_at=timezone.now()
        )
        record_event(actor=actor, action="token.create", subject=token, new={"user": user.pk, "name": name})
    return token, raw


def token_revoke(*, token: ApiToken, actor: User | str | None) -> ApiToken:
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record_event(actor=actor, action="token.revoke", subject=token, new={"revoked_at": token.revoked_at})
    _token_cache.pop(token.digest, None)  # now, and again once committed, in case a request re-read it meanwhile
    transaction.on_commit(lambda: _token_cache.pop(token.digest, None))
    return token


# Programs call the API hundreds of times a second with the same token (an IVR, a partner's gateway), so each
# process remembers a checked token for a few seconds instead of reading it, its user and their unit on every
# request. A revocation or deactivation in *this* process applies at once; in other server processes within
# GRIDCARE_TOKEN_CACHE_SECONDS (0 turns the cache off).
_token_cache: dict[str, tuple[float, ApiToken]] = {}


def token_authenticate(raw: str) -> User | None:
    """The active user behind a bearer token, or None. Stamps last use at most once a minute."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    digest = _digest(raw)
    clock = time.monotonic()
    cached = _token_cache.get(digest)
    if cached is not None and cached[0] > clock:
        token = cached[1]
    else:
        try:
            # .get() on the unique digest: no ORDER BY to build, on the path of every API request.
            token = ApiToken.objects.select_related("user", "user__unit", "user__unit__scope_unit").get(
                digest=digest, revoked_at__isnull=True
            )
        except ApiToken.DoesNotExist:
            _token_cache.pop(digest, None)
            return None
        ttl = settings.GRIDCARE_TOKEN_CACHE_SECONDS
        if ttl > 0:
            if len(_token_cache) > 10_000:  # many distinct tokens: start again rather than grow without bound
                _token_cache.clear()
            _token_cache[digest] = (clock + ttl, token)
    if not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        token.last_used_at = now
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
