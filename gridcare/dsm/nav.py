"""Left-navigation entries of the dsm app."""

from gridcare.org.roles import Role

NAV_ITEMS = [
    ("负荷分析", "dsm:index", {Role.ANALYST, Role.ADMIN, Role.DISPATCHER, Role.SHIFT_LEAD}, 50),
    ("有序用电", "dsm:plans", {Role.ANALYST, Role.ADMIN, Role.DISPATCHER, Role.SHIFT_LEAD}, 51),
]
