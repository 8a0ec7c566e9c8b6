from gridcare.org.roles import Role

NAV_ITEMS = [
    ("抢修调度", "repair:dispatch", {Role.DISPATCHER, Role.SHIFT_LEAD}, 30),
    ("抢修报表", "repair:report", {Role.DISPATCHER, Role.SHIFT_LEAD, Role.QUALITY, Role.ANALYST}, 31),
    ("我的抢修任务", "crew:home", {Role.CREW}, 32),
    ("暴雨看板", "repair:storm", {Role.SHIFT_LEAD, Role.DISPATCHER}, 33),
]
