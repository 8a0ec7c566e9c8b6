"""Left-navigation entry of the grid app (collected by gridcare.core.context_processors)."""

from gridcare.org.roles import Role

NAV_ITEMS = [
    ("电网拓扑", "grid:feeders", {Role.DISPATCHER, Role.ANALYST, Role.ADMIN, Role.SHIFT_LEAD, Role.AGENT}, 90),
]
