"""Left-navigation entries of the tags app."""

from gridcare.org.roles import Role

_ANALYSTS: set[str] = {Role.ANALYST, Role.ADMIN, Role.QUALITY}

NAV_ITEMS = [
    ("标签目录", "tags:catalogue", _ANALYSTS, 60),
    ("客户群", "tags:segments", _ANALYSTS, 61),
    ("标签评估", "tags:review", _ANALYSTS, 62),
]
