"""JSON API of the workorders app (mounted at /api/v1/workorders)."""

from ninja import Router

router = Router(tags=["workorders"])
