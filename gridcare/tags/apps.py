from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TagsConfig(AppConfig):
    name = "gridcare.tags"
    label = "tags"
    verbose_name = _("客户标签与画像")
