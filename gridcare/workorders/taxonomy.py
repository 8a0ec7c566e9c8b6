"""The default 95598 taxonomy and SLA policies, from the published commitments (see docs/domain.md).

Loaded by a data migration; everything here is editable in the admin afterwards, since provinces and
years differ. Targets: (milestone, amount, unit, priority, area_class, supply_class).
"""

from __future__ import annotations

from typing import Any

WD, MIN = "working_days", "minutes"

POLICIES: dict[str, dict[str, Any]] = {
    "consult": {"name": "咨询查询答复", "targets": [("reply", 1, WD, "", "", "")]},
    "complaint": {
        "name": "投诉（1 个工作日内联系，6 个工作日内答复）",
        "targets": [("contact", 1, WD, "", "", ""), ("reply", 6, WD, "", "", "")],
        "escalate_every": 120,
    },
    "report": {"name": "举报", "targets": [("contact", 1, WD, "", "", ""), ("reply", 10, WD, "", "", "")]},
    "opinion": {"name": "意见建议", "targets": [("reply", 10, WD, "", "", "")]},
    "praise": {"name": "表扬", "targets": [("reply", 5, WD, "", "", "")]},
    "service": {"name": "其他服务申请（5 个工作日）", "targets": [("reply", 5, WD, "", "", "")]},
    "reconnect": {
        "name": "欠费复电（24 小时）",
        "targets": [("reply", 24 * 60, MIN, "", "", "")],
        "escalate_every": 30,
    },
    "meter": {"name": "电能表校验/数据异常（5 个工作日）", "targets": [("reply", 5, WD, "", "", "")]},
    "repair": {
        "name": "故障抢修（到达现场 城市 45 分钟/农村 90 分钟/特殊边远 2 小时）",
        "warn_lead": 10,
        "escalate_every": 10,
        "targets": [
            ("arrive", 45, MIN, "", "urban", ""),
            ("arrive", 90, MIN, "", "rural", ""),
            ("arrive", 120, MIN, "", "remote", ""),
            ("arrive", 45, MIN, "", "", ""),
            ("restore", 45 + 180, MIN, "", "urban", ""),
            ("restore", 90 + 240, MIN, "", "rural", ""),
            ("restore", 120 + 240, MIN, "", "remote", ""),
        ],
    },
    "connect": {
        "name": "新装增容（低压居民 5、低压非居民 6、高压单电源 22、双电源 32 个工作日）",
        "warn_lead": 2 * 24 * 60,
        "targets": [
            ("complete", 5, WD, "", "", "lv_resident"),
            ("complete", 6, WD, "", "", "lv_business"),
            ("complete", 22, WD, "", "", "hv_single"),
            ("complete", 32, WD, "", "", "hv_dual"),
            ("complete", 6, WD, "", "", ""),
        ],
    },
    "change": {"name": "变更用电（5 个工作日）", "targets": [("complete", 5, WD, "", "", "")]},
}

CONNECT_PROCESS = {
    "lv_resident": [["accept", "受理", 1], ["survey", "现场勘查", 2], ["connect", "装表接电", 2]],
    "lv_business": [["accept", "受理", 1], ["survey", "现场勘查及供电方案答复", 2], ["connect", "装表接电", 3]],
    "hv_single": [
        ["accept", "受理", 1],
        ["survey", "现场勘查", 2],
        ["plan", "供电方案答复", 8],
        ["design", "设计审查", 3],
        ["midcheck", "中间检查", 2],
        ["final", "竣工检验", 3],
        ["connect", "装表接电", 3],
    ],
    "hv_dual": [
        ["accept", "受理", 1],
        ["survey", "现场勘查", 3],
        ["plan", "供电方案答复", 12],
        ["design", "设计审查", 5],
        ["midcheck", "中间检查", 3],
        ["final", "竣工检验", 4],
        ["connect", "装表接电", 4],
    ],
}
CHANGE_PROCESS = {"default": [["accept", "受理", 1], ["survey", "现场勘查", 2], ["execute", "装拆表及办结", 2]]}

DEPT, REPAIR_CENTER, CENTER = "department", "repair_center", "center_95598"

# code, name, kind, parent code, unit kind, policy, return visit, answerable at intake, extra
CATEGORIES: list[tuple[str, str, str, str | None, str, str | None, bool, bool, dict[str, Any]]] = [
    ("consult", "咨询", "consult", None, CENTER, "consult", False, True, {}),
    ("query", "查询", "query", None, CENTER, "consult", False, True, {}),
    ("query_bill", "电价电费", "query", "query", CENTER, "consult", False, True, {}),
    ("query_outage", "停电信息", "query", "query", CENTER, "consult", False, True, {}),
    ("query_progress", "业务进度", "query", "query", CENTER, "consult", False, True, {}),
    ("repair", "故障报修", "repair", None, REPAIR_CENTER, "repair", True, False, {"priority": "urgent"}),
    ("complaint", "投诉", "complaint", None, DEPT, "complaint", True, False, {}),
    ("complaint_service", "服务", "complaint", "complaint", DEPT, "complaint", True, False, {}),
    ("complaint_business", "营业", "complaint", "complaint", DEPT, "complaint", True, False, {}),
    ("complaint_outage", "停送电", "complaint", "complaint", DEPT, "complaint", True, False, {}),
    ("complaint_quality", "供电质量", "complaint", "complaint", DEPT, "complaint", True, False, {}),
    ("complaint_construction", "电网建设", "complaint", "complaint", DEPT, "complaint", True, False, {}),
    ("report", "举报", "report", None, DEPT, "report", True, False, {}),
    ("opinion", "意见", "opinion", None, DEPT, "opinion", True, False, {}),
    ("suggestion", "建议", "suggestion", None, DEPT, "opinion", False, False, {}),
    ("praise", "表扬", "praise", None, DEPT, "praise", False, False, {}),
    ("service", "服务申请", "service", None, DEPT, "service", True, False, {}),
    ("service_reconnect", "欠费复电", "service", "service", DEPT, "reconnect", True, False, {"priority": "urgent"}),
    ("service_meter_check", "电表校验", "service", "service", DEPT, "meter", True, False, {}),
    ("service_meter_data", "电表数据异常", "service", "service", DEPT, "meter", True, False, {}),
    ("service_appliance", "家电损坏", "service", "service", DEPT, "service", True, False, {}),
    ("application", "业务申请", "application", None, DEPT, "change", True, False, {}),
    (
        "app_new",
        "新装",
        "application",
        "application",
        DEPT,
        "connect",
        True,
        False,
        {"process": CONNECT_PROCESS, "effect": {"create_customer": True}},
    ),
    (
        "app_increase",
        "增容",
        "application",
        "application",
        DEPT,
        "connect",
        True,
        False,
        {"process": CONNECT_PROCESS, "effect": {"params": {"contract_kva": "new_kva"}}},
    ),
    (
        "app_reduce",
        "减容",
        "application",
        "application",
        DEPT,
        "change",
        True,
        False,
        {"process": CHANGE_PROCESS, "effect": {"params": {"contract_kva": "new_kva"}}},
    ),
    (
        "app_pause",
        "暂停",
        "application",
        "application",
        DEPT,
        "change",
        True,
        False,
        {"process": CHANGE_PROCESS, "effect": {"set": {"status": "suspended"}}},
    ),
    (
        "app_swap",
        "暂换",
        "application",
        "application",
        DEPT,
        "change",
        True,
        False,
        {"process": CHANGE_PROCESS, "effect": {"params": {"contract_kva": "new_kva"}}},
    ),
    (
        "app_move_site",
        "迁址",
        "application",
        "application",
        DEPT,
        "change",
        True,
        False,
        {"process": CHANGE_PROCESS, "effect": {"params": {"address": "new_address"}}},
    ),
    (
        "app_move_meter",
        "移表",
        "application",
        "application",
        DEPT,
        "change",
        True,
        False,
        {"process": CHANGE_PROCESS, "effect": {}},
    ),
    (
        "app_temp_remove",
        "暂拆",
        "application",
        "application",
        DEPT,
        "change",
        True,
        False,
        {"process": CHANGE_PROCESS, "effect": {"set": {"status": "suspended"}}},
    ),
    (
        "app_rename",
        "更名/过户",
        "application",
        "application",
        DEPT,
        "change",
        True,
        False,
        {"process": CHANGE_PROCESS, "effect": {"params": {"name": "new_name"}}},
    ),
    (
        "app_split",
        "分户",
        "application",
        "application",
        DEPT,
        "change",
        True,
        False,
        {"process": CHANGE_PROCESS, "effect": {}},
    ),
    (
        "app_join",
        "并户",
        "application",
        "application",
        DEPT,
        "change",
        True,
        False,
        {"process": CHANGE_PROCESS, "effect": {}},
    ),
    (
        "app_close",
        "销户",
        "application",
        "application",
        DEPT,
        "change",
        True,
        False,
        {"process": CHANGE_PROCESS, "effect": {"set": {"status": "closed"}}},
    ),
    (
        "app_voltage",
        "改压",
        "application",
        "application",
        DEPT,
        "change",
        True,
        False,
        {"process": CHANGE_PROCESS, "effect": {"params": {"voltage_level": "new_voltage"}}},
    ),
    (
        "app_class",
        "改类",
        "application",
        "application",
        DEPT,
        "change",
        True,
        False,
        {"process": CHANGE_PROCESS, "effect": {"params": {"category": "new_category"}}},
    ),
    (
        "app_restore",
        "减容恢复/暂停恢复",
        "application",
        "application",
        DEPT,
        "change",
        True,
        False,
        {"process": CHANGE_PROCESS, "effect": {"set": {"status": "normal"}}},
    ),
]


def load(apps: Any) -> None:
    """Create the default policies and categories (idempotent: existing codes are left as edited)."""
    SlaPolicy = apps.get_model("workorders", "SlaPolicy")
    SlaTarget = apps.get_model("workorders", "SlaTarget")
    Category = apps.get_model("workorders", "Category")
    policies = {}
    for code, spec in POLICIES.items():
        policy, created = SlaPolicy.objects.get_or_create(
            code=code,
            defaults={
                "name": spec["name"],
                "warn_lead_minutes": spec.get("warn_lead"),
                "escalate_every_minutes": spec.get("escalate_every", 60),
            },
        )
        policies[code] = policy
        if created:
            for milestone, amount, unit, priority, area, supply in spec["targets"]:
                SlaTarget.objects.create(
                    policy=policy,
                    milestone=milestone,
                    amount=amount,
                    unit=unit,
                    priority=priority,
                    area_class=area,
                    supply_class=supply,
                )
    by_code: dict[str, Any] = {}
    for order, (code, name, kind, parent, unit_kind, policy, visit, answerable, extra) in enumerate(CATEGORIES):
        cat, _ = Category.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "parent": by_code.get(parent) if parent else None,
                "default_unit_kind": unit_kind,
                "sla_policy": policies.get(policy) if policy else None,
                "return_visit_required": visit,
                "answerable_at_intake": answerable,
                "priority": extra.get("priority", "normal"),
                "process": extra.get("process", {}),
                "ledger_effect": extra.get("effect", {}),
                "sort_order": order,
            },
        )
        by_code[code] = cat
