"""The JSON API at /api/v1/: bearer tokens for programs, the session cookie for the browser."""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import math
from collections.abc import Callable
from typing import Any

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import DataError, IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver
from django.utils import timezone
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder
from ninja.security import HttpBearer, SessionAuth

from gridcare.core.apitypes import RANGE_ERROR
from gridcare.core.errors import ServiceError
from gridcare.org.services import token_authenticate

logger = logging.getLogger("gridcare.api")


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


# No GridCare body nests deeper than a tariff document (about 6 levels); a body nested hundreds of levels deep is
# stored fine but overflows the stack of whatever reads it back (templates, exports, JSON columns).
MAX_JSON_DEPTH = 64


def _checked(value: Any, where: str) -> Any:
    """Refuse text with a NUL character or a lone surrogate (PostgreSQL cannot store either: the write fails with
    a 500, and no person types one) and nesting deeper than MAX_JSON_DEPTH. Walked without recursion, so that
    any depth json.loads accepted is refused here rather than overflowing the stack."""
    stack: list[tuple[Any, str, int]] = [(value, where, 0)]
    while stack:
        item, at, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ServiceError(f"JSON 嵌套超过 {MAX_JSON_DEPTH} 层", field=at)
        if isinstance(item, str):
            if "\x00" in item:
                raise ServiceError(f"{at} 中含有 NUL 字符（\\u0000），请删除后重试", field=at)
            if not item.isascii():
                try:  # a lone surrogate ("\ud800" in JSON) parses, but no database can encode it
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    raise ServiceError(f"{at} 中含有无效的 Unicode 字符（单独的代理码位）", field=at) from None
        elif isinstance(item, dict):
            for key, inner in item.items():
                stack.append((key, at, depth + 1))
                stack.append((inner, str(key) if at in ("body", "query") else f"{at}.{key}", depth + 1))
        elif isinstance(item, list):
            stack.extend((inner, at, depth + 1) for inner in item)
    return value


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e999 parses to infinity, which no column or JSON document can hold
        raise ServiceError(f"数值 {text[:30]} 超出范围", field="body")
    return number


def _no_constant(text: str) -> Any:
    raise ServiceError(f"JSON 中不能使用 {text}（须为有限的数值）", field="body")


class StrictParser(Parser):
    """JSON bodies and query strings as Ninja reads them, minus what later fails deep inside: NaN, Infinity and
    numbers too large for a float (json.loads accepts them), NUL characters and absurd nesting."""

    def parse_body(self, request: HttpRequest) -> Any:
        data = json.loads(request.body, parse_constant=_no_constant, parse_float=_finite)
        return _checked(data, "body")

    def parse_querydict(self, data: Any, list_fields: list[str], request: HttpRequest) -> Any:
        return _checked(super().parse_querydict(data, list_fields, request), "query")


class ErrorOut(Schema):
    """Every error the API answers: a message a person can act on, and the fields at fault (may be empty)."""

    detail: str
    errors: dict[str, Any] = {}


# What each error status means, for the OpenAPI document. Every operation may answer these (see
# GridCareAPI.get_openapi_schema for which apply to which operation), always with an ErrorOut body.
ERROR_STATUSES: dict[int, str] = {
    400: "请求无法执行：参数取值不被接受（含年份超出 1901–9999）或请求体不是有效的 JSON",
    401: "未认证：缺少或无效的令牌/会话",
    403: "无权执行：角色不允许，或会话请求缺少 CSRF 令牌",
    404: "不存在或不在您的数据范围内",
    409: "当前状态不允许该操作",
    413: "请求体过大",
    422: "参数格式或取值范围不符合接口定义",
    500: "服务器内部错误（已记录日志）",
}
SERVER_ERROR_MESSAGE = "服务器内部错误，已记录日志；请稍后重试，或将出错时间告知系统管理员"


def error_body(detail: str, errors: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"detail": detail, "errors": errors or {}}


class GridCareAPI(NinjaAPI):
    """NinjaAPI whose OpenAPI document tells the truth about errors, and whose every answer is JSON."""

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: Any = None) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Error"] = ErrorOut.model_json_schema() | {"title": "Error"}
        ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        for item in schema["paths"].values():
            for method, operation in item.items():
                responses = operation.setdefault("responses", {})
                for status in self._error_statuses(method, operation):
                    responses.setdefault(str(status), {"description": ERROR_STATUSES[status], **ref})
        return schema

    @staticmethod
    def _error_statuses(method: str, operation: dict[str, Any]) -> list[int]:
        statuses = [400, 404, 500]  # a service's refusal, a missing object or one outside the scope, a bug
        if operation.get("security"):
            statuses += [401, 403]
        if operation.get("parameters") or operation.get("requestBody"):
            statuses.append(422)
        if method.lower() != "get":
            statuses.append(409)
        if operation.get("requestBody"):
            statuses.append(413)
        return sorted(statuses)

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        urls = super()._get_urls()
        for pattern in urls:
            if isinstance(pattern, URLPattern):
                pattern.callback = _api_view(pattern.callback)
        return urls


def _api_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Around every API view: a NUL in a path segment is refused before any query (PostgreSQL cannot compare
    it), and Ninja's plain-text 405 for a method the path lacks becomes JSON like every other error."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if any("\x00" in str(v) for v in kwargs.values()):
            return JsonResponse(
                error_body("路径中含有 NUL 字符（%00）"), status=400, json_dumps_params={"ensure_ascii": False}
            )
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith("application/json"):
            allowed = response.get("Allow", "")
            json_response = JsonResponse(
                error_body(f"该地址不支持 {request.method} 请求；可用：{allowed}"),
                status=405,
                json_dumps_params={"ensure_ascii": False},
            )
            json_response["Allow"] = allowed
            return json_response
        return response

    return wrapped


api = GridCareAPI(
    title="GridCare API",
    version="1",
    description=(
        "95598 客户服务平台接口。认证：`Authorization: Bearer <token>`"
        "（`gridcare token create --user NAME`）或浏览器会话。"
        '所有错误均为 JSON：`{"detail": 说明, "errors": {字段: [说明]}}`（见 Error）。'
    ),
    auth=[BearerTokenAuth(), SessionAuth()],
    renderer=LocalTimeRenderer(),
    parser=StrictParser(),
    urls_namespace="api-v1",
)


def _error(request: HttpRequest, status: int, detail: str, errors: dict[str, Any] | None = None) -> HttpResponse:
    return api.create_response(request, error_body(detail, errors), status=status)


@api.exception_handler(ServiceError)
def service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    return _error(request, exc.status, exc.message, exc.errors)


@api.exception_handler(AuthenticationError)
def auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "未认证：请提供有效的 Authorization: Bearer 令牌或先登录")


@api.exception_handler(NinjaValidationError)
def validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    messages = []
    fields: dict[str, list[str]] = {}
    for err in exc.errors:
        loc = ".".join(str(p) for p in err.get("loc", []) if p not in ("body", "query", "path", "payload", "data"))
        msg = str(err.get("msg"))
        messages.append(f"{loc}: {msg}" if loc else msg)
        fields.setdefault(loc or "__all__", []).append(msg)
    # A value that parses but lies outside what GridCare can hold (a year before 1901) is refused like the
    # services refuse a value (400); a malformed one is a 422.
    range_only = all(err.get("type") == RANGE_ERROR for err in exc.errors)
    return _error(request, 400 if exc.errors and range_only else 422, "; ".join(messages), fields)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    cause = exc.__cause__
    if isinstance(cause, ServiceError):  # StrictParser refused a value in the body
        return _error(request, cause.status, cause.message, cause.errors)
    if exc.status_code == 400 and cause is not None:  # ninja could not parse the body
        return _error(request, 400, "请求体不是有效的 JSON（须为 UTF-8 编码的 JSON 文本）")
    if exc.status_code == 403 and "CSRF" in str(exc):  # Ninja's session auth, in English
        return _error(request, 403, "CSRF 校验失败：浏览器会话的写请求须带 X-CSRFToken 头（程序请改用 Bearer 令牌）")
    return _error(request, exc.status_code, str(exc))


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "请求的对象不存在或不在您的数据范围内")


@api.exception_handler(PermissionDenied)
def permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _error(request, 403, "无权执行该操作")


@api.exception_handler(SuspiciousOperation)
def suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    # Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE (or too many fields/files) while it is read: that is
    # the client's doing, so it gets a 4xx it can act on, not the HTML 400 page.
    if isinstance(exc, RequestDataTooBig | TooManyFilesSent):
        return _error(request, 413, "请求体过大，请减少一次提交的数据量")
    if isinstance(exc, TooManyFieldsSent):
        return _error(request, 413, "请求中的字段过多")
    return _error(request, 400, "请求不合法")


@api.exception_handler(OverflowError)
def overflow(request: HttpRequest, exc: OverflowError) -> HttpResponse:
    # Date arithmetic past year 9999 (a deadline computed from an instant near the end of the calendar) or a number
    # too large to store: the input is at fault, and no write happened (the error is raised before it).
    logger.warning("API input out of range on %s %s: %s", request.method, request.path, exc)
    return _error(request, 400, "数值或日期超出可处理的范围")


@api.exception_handler(DataError)
def data_error(request: HttpRequest, exc: DataError) -> HttpResponse:
    # PostgreSQL refuses a text longer than its column or a number outside its type (SQLite stores both): the
    # input is at fault. Services write inside transaction.atomic, so nothing of the request was kept.
    logger.warning("API input refused by the database on %s %s: %s", request.method, request.path, exc)
    return _error(request, 400, "输入的文本过长或数值超出范围，未保存；请缩短文本或检查数值后重试")


@api.exception_handler(IntegrityError)
def integrity_error(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
    # Two requests raced for the same unique value (the services check first, the constraint decides).
    logger.warning("API write conflicted on %s %s: %s", request.method, request.path, exc)
    return _error(request, 409, "与已有数据冲突（可能刚被他人修改），请刷新后重试")


@api.exception_handler(RecursionError)
def too_deep(request: HttpRequest, exc: RecursionError) -> HttpResponse:
    # Only input nests deeply enough for this (a segment expression of thousands of parentheses, a JSON body
    # nested a thousand levels): refuse it as such. Reads only, or inside a transaction that rolls back.
    logger.warning("API input nested too deeply on %s %s", request.method, request.path)
    return _error(request, 400, "输入的嵌套层次过深（括号、NOT 或 JSON 层级过多），请简化后重试")


@api.exception_handler(Exception)
def server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """Defence in depth: a bug still answers JSON (no traceback, no HTML page); the traceback goes to the log."""
    logger.error("API error on %s %s", request.method, request.path, exc_info=exc)
    return _error(request, 500, SERVER_ERROR_MESSAGE)


def _register_routers() -> None:
    from gridcare.ami.api import router as ami_router
    from gridcare.customers.api import grid_router as customers_below_grid_router
    from gridcare.customers.api import router as customers_router
    from gridcare.dsm.api import router as dsm_router
    from gridcare.dsm.api import tariffs_router
    from gridcare.grid.api import router as grid_router
    from gridcare.notices.api import router as notices_router
    from gridcare.org.api import router as org_router
    from gridcare.repair.api import router as repair_router
    from gridcare.repair.storm_api import router as storm_router
    from gridcare.tags.api import router as tags_router
    from gridcare.tags.api import segments_router
    from gridcare.workorders.api import router as workorders_router

    api.add_router("/org", org_router)
    api.add_router("/customers", customers_router)
    api.add_router("/grid", grid_router)
    api.add_router("/grid", customers_below_grid_router)
    api.add_router("/workorders", workorders_router)
    api.add_router("/repair", repair_router)
    api.add_router("/repair", storm_router)
    api.add_router("/ami", ami_router)
    api.add_router("/notices", notices_router)
    api.add_router("/tags", tags_router)
    api.add_router("/segments", segments_router)
    api.add_router("/dsm", dsm_router)
    api.add_router("/tariffs", tariffs_router)


_register_routers()
