"""Organisation: sites, the unit tree (95598 centre, repair centres, crews, departments), users and API tokens."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import password_validation
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridcare.org.roles import Role


class Site(models.Model):
    """A physical workplace; two units at one site hand orders over faster (the DE segment target)."""

    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)

    class Meta:
        verbose_name = _("办公地点")
        verbose_name_plural = _("办公地点")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class OrgUnit(models.Model):
    class Kind(models.TextChoices):
        COMPANY = "company", _("供电公司")
        CENTER_95598 = "center_95598", _("95598 客户服务中心")
        REPAIR_CENTER = "repair_center", _("二级报修中心")
        CREW = "crew", _("班组")
        DEPARTMENT = "department", _("业务部门")

    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    site = models.ForeignKey(Site, verbose_name=_("办公地点"), on_delete=models.PROTECT, related_name="units")
    # Materialised path "/1/4/9/" so a whole subtree is one indexed prefix match.
    path = models.CharField(_("路径"), max_length=255, db_index=True, editable=False, default="")
    duty_phone = models.CharField(_("值班电话"), max_length=32)
    # Whose data this unit's people see: a crew sees its repair centre's area, the 95598 centre the company's.
    scope_unit = models.ForeignKey(
        "self",
        verbose_name=_("数据范围单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("留空表示本单位及下级"),
    )
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("组织单位")
        verbose_name_plural = _("组织单位")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return self.path.count("/") - 1

    def same_site(self, other: OrgUnit) -> bool:
        return self.site_id == other.site_id


class UnitManager(models.Model):
    """Managers phoned in order when an order is not taken in time (escalation after the duty phone)."""

    unit = models.ForeignKey(OrgUnit, verbose_name=_("单位"), on_delete=models.CASCADE, related_name="managers")
    name = models.CharField(_("姓名"), max_length=50)
    title = models.CharField(_("职务"), max_length=50, blank=True)
    phone = models.CharField(_("电话"), max_length=32)
    rank = models.PositiveSmallIntegerField(_("联系顺序"), default=1)

    class Meta:
        verbose_name = _("单位负责人")
        verbose_name_plural = _("单位负责人")
        ordering = ["unit", "rank", "id"]

    def __str__(self) -> str:
        return f"{self.unit}: {self.name}"


class ValidatingUserManager(UserManager["User"]):
    """create_user / create_superuser (and so `gridcare createsuperuser`, also with --noinput) check the password
    against AUTH_PASSWORD_VALIDATORS; Django's own manager hashes whatever it is given."""

    use_in_migrations = True

    def _create_user_object(self, username: Any, email: Any, password: Any, **extra_fields: Any) -> User:
        user: User = super()._create_user_object(username, email, password, **extra_fields)  # type: ignore[misc]
        if password is not None:
            password_validation.validate_password(password, user=user)
        return user


class User(AbstractUser):
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices, default=Role.AGENT)
    unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("所属单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    phone = models.CharField(_("电话"), max_length=32, blank=True)

    objects = ValidatingUserManager()  # type: ignore[misc]

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    @property
    def sees_everything(self) -> bool:
        return self.is_superuser or self.role == Role.ADMIN


class ApiToken(models.Model):
    """A bearer token; only its SHA-256 digest is stored, the token itself is shown once at creation."""

    user = models.ForeignKey(User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("用途"), max_length=100, blank=True)
    prefix = models.CharField(_("前缀"), max_length=12)
    digest = models.CharField(_("摘要"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("创建时间"))
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class LoginThrottle(models.Model):
    """Password attempts counted per username and per client address, shared by every server process.

    One row per (scope, key); see gridcare.org.throttle for how rows are locked while they are counted.
    """

    class Scope(models.TextChoices):
        USER = "user", _("用户名")
        ADDRESS = "address", _("地址")

    scope = models.CharField(_("范围"), max_length=10, choices=Scope.choices)
    # A username (case-folded, and counted whether or not such a user exists) or an IP address (IPv6 by /64).
    key = models.CharField(_("键"), max_length=200)
    failures = models.PositiveIntegerField(_("失败次数"), default=0)
    window_started_at = models.DateTimeField(_("计数开始"), db_index=True)
    locked_until = models.DateTimeField(_("锁定至"), null=True, blank=True)

    class Meta:
        verbose_name = _("登录限制")
        verbose_name_plural = _("登录限制")
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="org_loginthrottle_scope_key")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"
