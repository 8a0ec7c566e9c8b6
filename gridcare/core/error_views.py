"""Django's error pages (400, 403, 404, 500) with DEBUG off: a plain Chinese page for people, JSON under /api/.

They render no template and touch no database, so they work when the error came from the template engine or the
database itself, and they never show a traceback or the exception's text.
"""

from __future__ import annotations

import html
from typing import Any

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse

PAGES: dict[int, tuple[str, str]] = {
    400: ("请求不合法", "请求的格式或内容无法处理。请返回上一页重试。"),
    413: ("提交的数据过大", "一次提交的数据量超过了上限，请分批提交或减小文件。"),
    403: ("无权访问", "您没有访问该页面的权限，或表单已过期（请刷新页面后重新提交）。"),
    404: ("页面不存在", "您访问的页面不存在或不在您的数据范围内。"),
    500: ("服务器内部错误", "服务器处理请求时出错，已记录日志。请稍后重试，或将出错时间告知系统管理员。"),
}
API_DETAIL: dict[int, str] = {
    400: "请求不合法",
    413: "请求体过大，请减少一次提交的数据量",
    403: "无权执行该操作（会话请求须带 CSRF 令牌）",
    404: "接口不存在；见 /api/v1/docs",
    500: "服务器内部错误，已记录日志；请稍后重试，或将出错时间告知系统管理员",
}


def _answer(request: HttpRequest, status: int) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": API_DETAIL[status], "errors": {}}, status=status, json_dumps_params={"ensure_ascii": False}
        )
    title, text = (html.escape(s) for s in PAGES[status])
    body = (
        '<!doctype html><html lang="zh-hans"><head><meta charset="utf-8">'
        f"<title>{status} {title} · GridCare</title></head>"
        f'<body style="font-family:sans-serif;margin:3em"><h1>{title}</h1><p>{text}</p>'
        '<p><a href="/">返回首页</a></p></body></html>'
    )
    return HttpResponse(body, status=status, content_type="text/html; charset=utf-8")


def bad_request(request: HttpRequest, exception: Any = None) -> HttpResponse:
    # Django sends a body over DATA_UPLOAD_MAX_MEMORY_SIZE here as a "suspicious" 400; it is a size problem.
    too_big = isinstance(exception, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent)
    return _answer(request, 413 if too_big else 400)


def permission_denied(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return _answer(request, 403)


def page_not_found(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return _answer(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return _answer(request, 500)
