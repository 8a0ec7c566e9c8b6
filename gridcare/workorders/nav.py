from gridcare.org.roles import Role

NAV_ITEMS = [
    ("受理工单", "workorders:intake", {Role.AGENT, Role.SHIFT_LEAD}, 20),
    ("工单列表", "workorders:list", None, 21),
    ("回访任务", "workorders:visits", {Role.QUALITY, Role.AGENT, Role.SHIFT_LEAD}, 22),
]
