"""JSON API of the dsm app (mounted at /api/v1/dsm)."""

from ninja import Router

router = Router(tags=["dsm"])

# Mounted at /api/v1/tariffs (the issue names that path): bills from the tariff engine.
tariffs_router = Router(tags=["tariffs"])
