"""Left-navigation entries of the notices app (collected by gridcare.core.context_processors)."""

from gridcare.org.roles import Role

NAV_ITEMS = [
    ("停电信息", "notices:outages", None, 40),
    ("公告与通知", "notices:announce", {Role.SHIFT_LEAD, Role.ANALYST, Role.ADMIN}, 41),
    ("客户经理跟进", "notices:follow_ups", None, 42),
    ("通知模板", "notices:templates", {Role.SHIFT_LEAD, Role.ADMIN}, 43),  # = permissions.TEMPLATE_EDITORS
]
