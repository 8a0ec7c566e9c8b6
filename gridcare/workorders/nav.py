from gridcare.org.policy import POLICY

NAV_ITEMS = [
    ("受理工单", "workorders:intake", set(POLICY["workorder.create"].roles), 20),
    ("工单列表", "workorders:list", None, 21),
    ("回访任务", "workorders:visits", set(POLICY["workorder.visit"].roles), 22),
]
