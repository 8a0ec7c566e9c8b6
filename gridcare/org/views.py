"""The login page: Django's LoginView with the throttled form; a lock answers 429 with how long it lasts."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpResponse

from gridcare.org.auth import ThrottledAuthenticationForm, login_lock


class LoginView(auth_views.LoginView):
    template_name = "core/login.html"
    form_class = ThrottledAuthenticationForm

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        if login_lock(self.request) is not None:
            response.status_code = 429
        return response
