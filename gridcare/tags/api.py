"""JSON API of the tags app (mounted at /api/v1/tags)."""

from ninja import Router

router = Router(tags=["tags"])
