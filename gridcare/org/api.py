"""Who am I, and which units can I see."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from gridcare.org.scope import units_visible

router = Router(tags=["org"])


class MeOut(Schema):
    username: str
    role: str
    unit: str | None


class UnitOut(Schema):
    code: str
    name: str
    kind: str
    parent: str | None
    site: str
    duty_phone: str


@router.get("/me", response=MeOut)
def me(request: HttpRequest) -> dict[str, object]:
    user = request.auth  # type: ignore[attr-defined]
    return {"username": user.username, "role": user.role, "unit": user.unit.code if user.unit else None}


@router.get("/units", response=list[UnitOut])
def units(request: HttpRequest) -> list[dict[str, object]]:
    user = request.auth  # type: ignore[attr-defined]
    rows = units_visible(user).select_related("parent", "site")
    return [
        {
            "code": u.code,
            "name": u.name,
            "kind": u.kind,
            "parent": u.parent.code if u.parent else None,
            "site": u.site.code,
            "duty_phone": u.duty_phone,
        }
        for u in rows
    ]
