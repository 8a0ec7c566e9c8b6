"""The JSON API at /api/v1/: bearer tokens for programs, the session cookie for the browser."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder
from ninja.security import HttpBearer, SessionAuth

from gridcare.core.errors import ServiceError
from gridcare.org.services import token_authenticate


class BearerTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class LocalTimeEncoder(NinjaJSONEncoder):
    """Every instant in the service's time zone (settings.TIME_ZONE, Beijing: +08:00), whether it was computed
    there or read back from the database in UTC: an order reads the same in its first answer, on a retry and in
    a list, and as the people who use it read a clock."""

    def default(self, o: Any) -> Any:
        if isinstance(o, dt.datetime) and o.tzinfo is not None:
            o = timezone.localtime(o)
        return super().default(o)


class LocalTimeRenderer(JSONRenderer):
    encoder_class = LocalTimeEncoder


api = NinjaAPI(
    title="GridCare API",
    version="1",
    description=(
        "95598 客户服务平台接口。认证：`Authorization: Bearer <token>`"
        "（`gridcare token create --user NAME`）或浏览器会话。"
    ),
    auth=[BearerTokenAuth(), SessionAuth()],
    renderer=LocalTimeRenderer(),
    urls_namespace="api-v1",
)


@api.exception_handler(ServiceError)
def service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.message, "errors": exc.errors}, status=exc.status)


@api.exception_handler(AuthenticationError)
def auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request, {"detail": "未认证：请提供有效的 Authorization: Bearer 令牌或先登录"}, status=401
    )


@api.exception_handler(NinjaValidationError)
def validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    messages = []
    for err in exc.errors:
        loc = ".".join(str(p) for p in err.get("loc", []) if p not in ("body", "query", "path"))
        messages.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    return api.create_response(request, {"detail": "; ".join(messages), "errors": exc.errors}, status=422)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


def _register_routers() -> None:
    from gridcare.customers.api import router as customers_router
    from gridcare.dsm.api import router as dsm_router
    from gridcare.dsm.api import tariffs_router
    from gridcare.grid.api import router as grid_router
    from gridcare.notices.api import router as notices_router
    from gridcare.org.api import router as org_router
    from gridcare.repair.api import router as repair_router
    from gridcare.tags.api import router as tags_router
    from gridcare.tags.api import segments_router
    from gridcare.workorders.api import router as workorders_router

    api.add_router("/org", org_router)
    api.add_router("/customers", customers_router)
    api.add_router("/grid", grid_router)
    api.add_router("/workorders", workorders_router)
    api.add_router("/repair", repair_router)
    api.add_router("/notices", notices_router)
    api.add_router("/tags", tags_router)
    api.add_router("/segments", segments_router)
    api.add_router("/dsm", dsm_router)
    api.add_router("/tariffs", tariffs_router)


_register_routers()
