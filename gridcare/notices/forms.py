"""HTML forms of the notices pages; they only parse input, the services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from gridcare.notices.channels import channel_choices
from gridcare.notices.models import OutageKind

# Read from the registry each time a form is built, so a channel module added later shows up.
CHANNEL_CHOICES = channel_choices


def codes(text: str) -> list[str]:
    return [c for c in text.replace("，", ",").replace("\n", ",").replace(" ", ",").split(",") if c.strip()]


class OutageForm(forms.Form):
    kind = forms.ChoiceField(label=_("停电类型"), choices=OutageKind.choices)
    title = forms.CharField(label=_("标题"), max_length=200)
    cause = forms.CharField(label=_("停电原因"), max_length=200, required=False)
    starts_at = forms.DateTimeField(label=_("停电开始"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    ends_at = forms.DateTimeField(
        label=_("预计结束"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    feeders = forms.CharField(label=_("线路编码"), required=False, help_text=_("多个用逗号分隔"))
    areas = forms.CharField(label=_("台区编码"), required=False)
    service_points = forms.CharField(label=_("计量点编码"), required=False)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if not any(data.get(k) for k in ("feeders", "areas", "service_points")):
            raise forms.ValidationError(_("请指定停电范围：线路、台区或计量点"))
        return data


class PublishForm(forms.Form):
    channels = forms.MultipleChoiceField(
        label=_("发送渠道"), choices=CHANNEL_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )
    late_reason = forms.CharField(label=_("延迟发布原因"), max_length=300, required=False)


class WindowForm(forms.Form):
    starts_at = forms.DateTimeField(label=_("停电开始"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    ends_at = forms.DateTimeField(
        label=_("预计结束"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    late_reason = forms.CharField(label=_("延迟发布原因"), max_length=300, required=False)


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("取消原因"), max_length=300)


class AnnouncementForm(forms.Form):
    title = forms.CharField(label=_("标题"), max_length=200)
    text = forms.CharField(label=_("公告正文"), widget=forms.Textarea(attrs={"rows": 4}))
    channels = forms.MultipleChoiceField(
        label=_("发送渠道"), choices=CHANNEL_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )
    feeders = forms.CharField(label=_("线路编码"), required=False)
    areas = forms.CharField(label=_("台区编码"), required=False)
    accounts = forms.CharField(
        label=_("户号名单"), required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text=_("每行一个户号")
    )
    accounts_file = forms.FileField(label=_("上传户号文件（CSV/TXT）"), required=False)
    categories = forms.MultipleChoiceField(label=_("用电类别"), required=False, widget=forms.CheckboxSelectMultiple)
    important_only = forms.BooleanField(label=_("仅重要客户"), required=False)
    follow_up = forms.BooleanField(label=_("为重要/敏感客户生成客户经理跟进任务"), required=False)
    preview = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        from gridcare.customers.models import ElectricityCategory

        self.fields["categories"].choices = ElectricityCategory.choices  # type: ignore[attr-defined]


class TemplateForm(forms.Form):
    subject = forms.CharField(
        label=_("标题模板"), max_length=200, help_text=_("短信不发送标题；电子邮件、站内消息显示标题")
    )
    body = forms.CharField(label=_("正文模板"), widget=forms.Textarea(attrs={"rows": 6}))
    sample_account = forms.CharField(
        label=_("预览用户号"), max_length=32, required=False, help_text=_("留空则取您数据范围内的第一个客户")
    )
