"""Cookies are marked Secure on HTTPS requests, so one configuration serves both `make run` over plain
http://127.0.0.1:8000 (where a Secure cookie would never come back and login would fail) and production."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class SecureCookiesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.is_secure():
            # Session, CSRF, language and message cookies alike: none of them may travel over plain HTTP.
            for morsel in response.cookies.values():
                morsel["secure"] = True
        return response
