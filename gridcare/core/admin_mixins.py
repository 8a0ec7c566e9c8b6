"""Admin helpers: edits of reference data are audited and make the per-process caches reload."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from gridcare.core import refdata
from gridcare.core.audit import record_event


class ReferenceDataAdmin(admin.ModelAdmin):
    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        record_event(
            actor=request.user,
            action=f"{obj._meta.model_name}.{'change' if change else 'add'}",
            subject=obj,
            new={k: str(v) for k, v in form.cleaned_data.items()} if form else None,
        )
        refdata.changed()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        refdata.changed()

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        record_event(actor=request.user, action=f"{obj._meta.model_name}.delete", subject=obj, old={"value": str(obj)})
        super().delete_model(request, obj)
        refdata.changed()
