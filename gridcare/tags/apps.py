from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TagsConfig(AppConfig):
    name = "gridcare.tags"
    label = "tags"
    verbose_name = _("客户标签与画像")

    def ready(self) -> None:
        # Saved segments can be the audience of notices (the notices app asks through this hook).
        from gridcare.notices.audiences import register_segment_resolver
        from gridcare.tags.audience import segment_audience

        register_segment_resolver(segment_audience)
