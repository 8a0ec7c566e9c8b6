"""JSON API of the dsm app (mounted at /api/v1/dsm)."""

from ninja import Router

router = Router(tags=["dsm"])
