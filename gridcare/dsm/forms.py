"""HTML forms of the orderly-use pages; they only parse input, the services decide."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gridcare.dsm.models import DemandResponseEvent, Participation


class PlanForm(forms.Form):
    name = forms.CharField(label=_("方案名称"), max_length=100)
    target_mw = forms.DecimalField(
        label=_("削减目标（MW）"),
        min_value=Decimal("0.001"),
        max_value=Decimal(100_000),
        decimal_places=3,
        error_messages={"min_value": _("削减目标必须大于 0"), "invalid": _("请输入数字，如 1.5")},
    )
    window_start = forms.DateTimeField(
        label=_("开始时间"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    window_end = forms.DateTimeField(
        label=_("结束时间"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    feeders = forms.MultipleChoiceField(
        label=_("线路"),
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_("按住 Ctrl 可多选"),
        error_messages={"required": _("请选择至少一条线路")},
    )

    def __init__(self, *args: Any, feeder_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["feeders"].choices = feeder_choices  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("window_start"), data.get("window_end")
        if start and end and end <= start:
            self.add_error("window_end", _("结束时间必须晚于开始时间"))
        return data


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("新状态"), choices=DemandResponseEvent.Status.choices)
    reason = forms.CharField(label=_("原因"), max_length=300, required=False)


class OptForm(forms.Form):
    opt = forms.ChoiceField(choices=[(Participation.Opt.IN, _("参与")), (Participation.Opt.OUT, _("不参与"))])
