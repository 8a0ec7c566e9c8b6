"""The shipped default catalogue: the five-level classification and 40+ tags with real rules over the demo data.

Loaded into the draft by `gridcare tags load-defaults`; plain data so tests and docs can read it.
Paths are the category levels (subject / dimension / theme / optional sub-theme); the tag sits below them.
"""

from __future__ import annotations

from typing import Any

from gridcare.tags.mining import default_rule
from gridcare.tags.rules import UNKNOWN

U = UNKNOWN
OWNER = "营销部 客户服务室"
LEDGER = "用户台账(customers)"
DAILY = "日电量(daily_kwh)"
LOAD = "96 点负荷(load_96)"
PAY = "交费记录(payments)"
WO = "95598 工单(work_orders)"

ATTR = ("电力客户", "客户属性", "基本属性")
USE_KWH = ("电力客户", "客户行为", "用电行为", "电量特征")
USE_LOAD = ("电力客户", "客户行为", "用电行为", "负荷特征")
PAYING = ("电力客户", "客户行为", "交费行为")
SERVICE = ("电力客户", "客户行为", "客户服务")
BUSINESS = ("电力客户", "客户行为", "经营行为")
CREDIT = ("电力客户", "客户行为", "外部信用")
OVERALL = ("电力客户", "客户行为", "综合评价")
MIND = ("电力客户", "心理特征", "消费心理")

CATEGORIES: list[tuple[str, ...]] = [
    ("电力客户",),
    ("电力客户", "客户属性"),
    ATTR,
    ("电力客户", "客户行为"),
    ("电力客户", "客户行为", "用电行为"),
    USE_KWH,
    USE_LOAD,
    PAYING,
    SERVICE,
    BUSINESS,
    CREDIT,
    OVERALL,
    ("电力客户", "心理特征"),
    MIND,
    ("非电力客户",),
    ("非电力客户", "客户属性"),
    ("非电力客户", "客户属性", "基本属性"),
]


def _tag(
    code: str,
    name: str,
    path: tuple[str, ...],
    values: list[str],
    rule: dict[str, Any],
    *,
    definition: str,
    business_rule: str,
    math_model: str,
    sources: str,
    schedule: str = "monthly",
    single_valued: bool = True,
) -> dict[str, Any]:
    return {
        "code": code,
        "name": name,
        "path": path,
        "values": values if U in values else [*values, U],
        "rule": rule,
        "definition": definition,
        "business_rule": business_rule,
        "math_model": math_model,
        "data_sources": sources,
        "owner": OWNER,
        "schedule": schedule,
        "single_valued": single_valued,
    }


def _bins(metric: str, bins: list[tuple[float, str]], top: str, kind: str = "bins") -> dict[str, Any]:
    return {"kind": kind, "metric": metric, "bins": [[u, label] for u, label in bins], "top": top}


def _labels(bins: list[tuple[float, str]], top: str) -> list[str]:
    return [label for _u, label in bins] + [top]


INDUSTRY_GROUPS = {
    "批发和零售业": "商贸服务",
    "住宿和餐饮业": "商贸服务",
    "金融业": "商贸服务",
    "房地产业": "商贸服务",
    "信息传输、软件和信息技术服务业": "商贸服务",
    "租赁和商务服务业": "商贸服务",
    "居民服务、修理和其他服务业": "商贸服务",
    "交通运输、仓储和邮政业": "商贸服务",
    "纺织业": "制造业",
    "化学原料和化学制品制造业": "高耗能制造",
    "通用设备制造业": "制造业",
    "电气机械和器材制造业": "制造业",
    "非金属矿物制品业": "高耗能制造",
    "造纸和纸制品业": "高耗能制造",
    "计算机、通信和其他电子设备制造业": "制造业",
    "金属制品业": "制造业",
    "橡胶和塑料制品业": "制造业",
    "农业": "农林牧渔",
    "渔业": "农林牧渔",
    "畜牧业": "农林牧渔",
    "农、林、牧、渔专业及辅助性活动": "农林牧渔",
    "教育": "公共事业",
    "卫生和社会工作": "公共事业",
    "公共管理、社会保障和社会组织": "公共事业",
    "水利、环境和公共设施管理业": "公共事业",
    "": "居民生活",
}

_KVA = [(10.0, "微型(<10kVA)"), (100.0, "小型(10-100kVA)"), (630.0, "中型(100-630kVA)"), (3150.0, "大型(630-3150kVA)")]
_AGE = [(1.0, "新户(<1年)"), (5.0, "1-5年"), (10.0, "5-10年")]
_MONTHLY = [(20.0, "极低(<20kWh)"), (150.0, "低(20-150kWh)"), (400.0, "中(150-400kWh)"), (2000.0, "较高(400-2000kWh)")]
_ANNUAL = [(1000.0, "千度以下"), (10000.0, "千度级"), (100000.0, "万度级"), (1000000.0, "十万度级")]
_TREND = [(-3.0, "下降"), (3.0, "平稳")]
_SEASON = [(1.3, "弱"), (1.8, "中")]
_JUMP = [(0.5, "骤降"), (1.6, "平稳")]
_PEAKSEASON = [(1.1, "不敏感"), (1.3, "一般")]
_LOWDAYS = [(0.05, "连续用电"), (0.5, "间歇用电")]
_LOADRATE = [(0.3, "低(<30%)"), (0.6, "中(30-60%)")]
_TIMELY = [(0.5, "经常逾期"), (0.9, "偶有逾期")]
_RECENCY = [(45.0, "近期交费"), (120.0, "较久未交")]
_REPAIRS = [(1.0, "无报修"), (3.0, "偶尔报修")]
_COMPLAINTS = [(1.0, "无投诉"), (2.0, "1次")]
_SATISFACTION = [(3.0, "不满意"), (4.0, "一般")]
_UTIL = [(1.2, "低利用"), (6.0, "中等利用")]
_DELAY = [(1.0, "不逾期"), (15.0, "短期逾期")]

TAGS: list[dict[str, Any]] = [
    # ---------------------------------------------------------------- 客户属性 / 基本属性
    _tag(
        "customer_type",
        "客户类型",
        ATTR,
        ["高压", "低压非居民", "低压居民", "其他"],
        {
            "kind": "field",
            "field": "customer_type",
            "default": "其他",
            "map": {"hv": "高压", "lv_business": "低压非居民", "lv_resident": "低压居民"},
        },
        definition="按供电电压与用户性质划分的客户类型。",
        business_rule="取台账客户类型字段。",
        math_model="字段映射",
        sources=LEDGER,
    ),
    _tag(
        "elec_category",
        "用电类型",
        ATTR,
        ["居民", "一般工商业", "大工业", "农业", "其他"],
        {
            "kind": "field",
            "field": "category",
            "default": "其他",
            "map": {"resident": "居民", "commercial": "一般工商业", "large_industry": "大工业", "agriculture": "农业"},
        },
        definition="决定电价类别的用电类型。",
        business_rule="取台账用电类别字段。",
        math_model="字段映射",
        sources=LEDGER,
    ),
    _tag(
        "voltage_level",
        "电压等级",
        ATTR,
        ["220V", "380V", "10kV", "35kV", "110kV", "其他"],
        {
            "kind": "field",
            "field": "voltage_level",
            "default": "其他",
            "map": {v: v for v in ("220V", "380V", "10kV", "35kV", "110kV")},
        },
        definition="客户受电电压等级。",
        business_rule="取台账电压等级字段。",
        math_model="字段映射",
        sources=LEDGER,
    ),
    _tag(
        "industry",
        "行业",
        ATTR,
        [*sorted(set(INDUSTRY_GROUPS.values())), "其他行业"],
        {"kind": "field", "field": "industry", "default": "其他行业", "map": INDUSTRY_GROUPS},
        definition="按国民经济行业分类归并的行业大类。",
        business_rule="台账行业字段归并为六个大类；居民为居民生活。",
        math_model="字段映射(归并)",
        sources=LEDGER,
    ),
    _tag(
        "capacity_scale",
        "容量规模",
        ATTR,
        _labels(_KVA, "特大型(≥3150kVA)"),
        _bins("contract_kva", _KVA, "特大型(≥3150kVA)"),
        definition="合同容量所处的规模档。",
        business_rule="按合同容量分五档。",
        math_model="阈值分档",
        sources=LEDGER,
    ),
    _tag(
        "important_level",
        "重要客户等级",
        ATTR,
        ["特级", "一级", "二级", "临时性", "非重要客户"],
        {
            "kind": "field",
            "field": "important_level",
            "default": "非重要客户",
            "map": {"special": "特级", "first": "一级", "second": "二级", "temporary": "临时性", "": "非重要客户"},
        },
        definition="重要电力用户等级。",
        business_rule="取台账重要客户等级。",
        math_model="字段映射",
        sources=LEDGER,
    ),
    _tag(
        "area_class",
        "城乡属性",
        ATTR,
        ["城市", "农村", "特殊边远"],
        {
            "kind": "field",
            "field": "area_class",
            "default": U,
            "map": {"urban": "城市", "rural": "农村", "remote": "特殊边远"},
        },
        definition="客户所在区域的城乡类别，决定抢修时限承诺。",
        business_rule="取台账城乡类别。",
        math_model="字段映射",
        sources=LEDGER,
    ),
    _tag(
        "account_age",
        "户龄",
        ATTR,
        _labels(_AGE, "10年以上"),
        _bins("account_age_years", _AGE, "10年以上"),
        definition="自立户至今的年数。",
        business_rule="(统计日 − 立户日期) / 365.25 分档。",
        math_model="阈值分档",
        sources=LEDGER,
    ),
    _tag(
        "sensitive",
        "敏感客户",
        ATTR,
        ["敏感", "非敏感"],
        {"kind": "field", "field": "is_sensitive", "map": {"true": "敏感", "false": "非敏感"}, "default": U},
        definition="是否登记为服务敏感客户。",
        business_rule="取台账敏感客户标志。",
        math_model="字段映射",
        sources=LEDGER,
    ),
    _tag(
        "account_status",
        "户况",
        ATTR,
        ["正常", "暂停", "销户", "其他"],
        {
            "kind": "field",
            "field": "status",
            "default": "其他",
            "map": {"normal": "正常", "suspended": "暂停", "closed": "销户"},
        },
        definition="客户当前户况。",
        business_rule="取台账状态。",
        math_model="字段映射",
        sources=LEDGER,
        schedule="daily",
    ),
    _tag(
        "prepaid",
        "费控类型",
        ATTR,
        ["费控(预付费)", "后付费"],
        {"kind": "field", "field": "is_prepaid", "map": {"true": "费控(预付费)", "false": "后付费"}, "default": U},
        definition="是否为智能费控(预付费)账户。",
        business_rule="取台账费控标志。",
        math_model="字段映射",
        sources=LEDGER,
    ),
    # ---------------------------------------------------------------- 用电行为 / 电量特征
    _tag(
        "monthly_kwh_band",
        "月均电量分档",
        USE_KWH,
        _labels(_MONTHLY, "高(≥2000kWh)"),
        _bins("avg_monthly_kwh", _MONTHLY, "高(≥2000kWh)"),
        definition="近 12 个月月均用电量所处的档位。",
        business_rule="近一年电量 ÷ 有数据的月数，按阈值分五档。",
        math_model="描述统计 + 阈值分档",
        sources=DAILY,
    ),
    _tag(
        "kwh_quartile",
        "电量四分位",
        USE_KWH,
        ["低25%", "中低", "中高", "高25%"],
        {"kind": "quantile", "metric": "avg_daily_kwh", "labels": ["低25%", "中低", "中高", "高25%"]},
        definition="日均电量在全体客户中的四分位位置。",
        business_rule="按日均电量排序后等分四组。",
        math_model="分位数分档(NTILE)",
        sources=DAILY,
    ),
    _tag(
        "annual_kwh_band",
        "年电量规模",
        USE_KWH,
        _labels(_ANNUAL, "百万度级"),
        _bins("total_kwh", _ANNUAL, "百万度级"),
        definition="近 12 个月总电量的数量级。",
        business_rule="年电量按数量级分档。",
        math_model="阈值分档",
        sources=DAILY,
    ),
    _tag(
        "usage_trend",
        "用电趋势",
        USE_KWH,
        _labels(_TREND, "上升"),
        {"kind": "trend", "metric": "kwh_trend_pct", "bins": [[u, lb] for u, lb in _TREND], "top": "上升"},
        definition="近 12 个月电量的变化方向。",
        business_rule="月电量对月序号做最小二乘直线，斜率占月均电量的百分比：<−3% 下降，>3% 上升。",
        math_model="线性回归斜率(regr_slope)",
        sources=DAILY,
    ),
    _tag(
        "seasonality",
        "季节性",
        USE_KWH,
        _labels(_SEASON, "强"),
        _bins("seasonal_index", _SEASON, "强"),
        definition="用电随季节波动的强弱。",
        business_rule="最大月日均电量 ÷ 全年日均电量。",
        math_model="季节指数分档",
        sources=DAILY,
    ),
    _tag(
        "peak_season",
        "迎峰度夏度冬敏感度",
        USE_KWH,
        _labels(_PEAKSEASON, "敏感"),
        _bins("peak_season_ratio", _PEAKSEASON, "敏感"),
        definition="7、8、12、1 月用电相对全年的抬升。",
        business_rule="迎峰月份日均 ÷ 全年日均。",
        math_model="比值分档",
        sources=DAILY,
    ),
    _tag(
        "vacancy",
        "疑似空置",
        USE_KWH,
        ["疑似空置", "正常用电"],
        {
            "kind": "conditions",
            "cases": [["avg_daily_kwh IS NULL", U], ["avg_daily_kwh < 0.5 AND low_day_share > 0.5", "疑似空置"]],
            "else": "正常用电",
        },
        definition="长期近零用电的户。",
        business_rule="日均电量 <0.5kWh 且超过一半天数电量 <0.1kWh。",
        math_model="规则判定",
        sources=DAILY,
    ),
    _tag(
        "usage_jump",
        "用电突变",
        USE_KWH,
        _labels(_JUMP, "骤增"),
        _bins("last_month_ratio", _JUMP, "骤增"),
        definition="最近一个月相对此前的用电突变。",
        business_rule="最近一月日均 ÷ 此前日均：<0.5 骤降，≥1.6 骤增。",
        math_model="比值分档",
        sources=DAILY,
        schedule="daily",
    ),
    _tag(
        "continuity",
        "用电连续性",
        USE_KWH,
        _labels(_LOWDAYS, "长期停用"),
        _bins("low_day_share", _LOWDAYS, "长期停用"),
        definition="近零用电天数的占比。",
        business_rule="电量 <0.1kWh 的天数 ÷ 有读数天数。",
        math_model="比值分档",
        sources=DAILY,
    ),
    # ---------------------------------------------------------------- 用电行为 / 负荷特征
    _tag(
        "peak_valley",
        "峰谷特性",
        USE_LOAD,
        ["谷用电型", "峰用电型", "均衡型"],
        {
            "kind": "conditions",
            "cases": [
                ["valley_share IS NULL", U],
                ["valley_share >= 0.4", "谷用电型"],
                ["peak_share >= 0.45", "峰用电型"],
            ],
            "else": "均衡型",
        },
        definition="用电集中在峰段还是谷段。",
        business_rule="谷段(23–7 时)电量占比 ≥40% 为谷用电型；峰段(8–11、17–21 时)占比 ≥45% 为峰用电型。",
        math_model="分时电量占比",
        sources=LOAD,
    ),
    _tag(
        "load_rate",
        "负荷率",
        USE_LOAD,
        _labels(_LOADRATE, "高(≥60%)"),
        _bins("load_factor", _LOADRATE, "高(≥60%)"),
        definition="平均负荷与最大负荷之比。",
        business_rule="近 4 周 15 分钟负荷：平均 ÷ 最大。",
        math_model="负荷率 = P_avg / P_max",
        sources=LOAD,
    ),
    _tag(
        "load_shape",
        "负荷曲线类型",
        USE_LOAD,
        ["单峰", "双峰", "平稳", "夜间型"],
        default_rule(),
        definition="典型日负荷曲线的形态。",
        business_rule="每小时平均负荷 ÷ 全天平均得 24 维标幺曲线，归入最近的聚类中心。",
        math_model="k-means 聚类(k=4，scikit-learn)，中心随目录版本发布",
        sources=LOAD,
    ),
    _tag(
        "valley_quartile",
        "谷电占比分位",
        USE_LOAD,
        ["低", "较低", "较高", "高"],
        {"kind": "quantile", "metric": "valley_share", "labels": ["低", "较低", "较高", "高"]},
        definition="谷段电量占比在有负荷数据客户中的位置。",
        business_rule="按谷段占比等分四组。",
        math_model="分位数分档",
        sources=LOAD,
    ),
    # ---------------------------------------------------------------- 交费行为
    _tag(
        "pay_channel",
        "交费方式偏好",
        PAYING,
        ["微信", "支付宝", "网银", "营业厅", "代扣", "其他"],
        {
            "kind": "sql",
            "sql": """
WITH counted AS (
    SELECT customer_id, channel, count(*) AS n FROM payments WHERE channel IS NOT NULL GROUP BY customer_id, channel
), ranked AS (
    SELECT customer_id, channel, row_number() OVER (PARTITION BY customer_id ORDER BY n DESC, channel) AS r
    FROM counted
)
SELECT c.customer_id,
       CASE WHEN r.channel IS NULL THEN '未知'
            WHEN r.channel IN ('微信', '支付宝', '网银', '营业厅', '代扣') THEN r.channel ELSE '其他' END AS value
FROM customers c LEFT JOIN ranked r ON r.customer_id = c.customer_id AND r.r = 1""",
        },
        definition="近一年最常用的交费渠道。",
        business_rule="统计各渠道交费次数，取最多者(并列按名称)。",
        math_model="众数",
        sources=PAY,
    ),
    _tag(
        "online_share",
        "线上渠道偏好",
        PAYING,
        ["线上为主", "线上线下混合", "线下为主"],
        {
            "kind": "sql",
            "sql": """
SELECT c.customer_id,
       CASE WHEN p.n IS NULL OR p.n = 0 THEN '未知'
            WHEN p.online * 1.0 / p.n >= 0.8 THEN '线上为主'
            WHEN p.online * 1.0 / p.n >= 0.3 THEN '线上线下混合' ELSE '线下为主' END AS value
FROM customers c LEFT JOIN (
    SELECT customer_id, count(channel) AS n,
           sum(CASE WHEN channel IN ('微信', '支付宝', '网银') THEN 1 ELSE 0 END) AS online
    FROM payments GROUP BY customer_id
) p ON p.customer_id = c.customer_id""",
        },
        definition="线上(微信/支付宝/网银)交费的比例。",
        business_rule="线上交费次数 ÷ 交费次数。",
        math_model="比例分档",
        sources=PAY,
    ),
    _tag(
        "pay_timeliness",
        "交费及时性",
        PAYING,
        _labels(_TIMELY, "按时交费"),
        _bins("on_time_share", _TIMELY, "按时交费"),
        definition="按期交费的账单占比。",
        business_rule="交费日 ≤ 到期日的账单 ÷ 全部账单。",
        math_model="比例分档",
        sources=PAY,
    ),
    _tag(
        "pay_delay",
        "逾期天数",
        PAYING,
        _labels(_DELAY, "长期逾期"),
        _bins("avg_delay_days", _DELAY, "长期逾期"),
        definition="已交账单相对到期日的平均天数。",
        business_rule="平均(交费日 − 到期日)：<1 不逾期，<15 短期。",
        math_model="描述统计 + 阈值",
        sources=PAY,
    ),
    _tag(
        "arrears_risk",
        "欠费风险",
        PAYING,
        ["高", "中", "低"],
        {
            "kind": "conditions",
            "cases": [
                ["bills IS NULL", U],
                ["overdue_bills >= 2", "高"],
                ["overdue_bills >= 1 OR on_time_share < 0.5", "中"],
            ],
            "else": "低",
        },
        definition="发生欠费的可能。",
        business_rule="逾期未缴 ≥2 张为高；1 张或按期率 <50% 为中。",
        math_model="规则评分",
        sources=PAY,
        schedule="daily",
    ),
    _tag(
        "balance_alert",
        "余额预警",
        PAYING,
        ["预警", "关注", "充足", "非费控"],
        {
            "kind": "conditions",
            "cases": [
                ["is_prepaid IS NULL", U],
                ["NOT is_prepaid", "非费控"],
                ["last_balance_yuan IS NULL OR avg_bill_yuan IS NULL", U],
                ["last_balance_yuan < 0.25 * avg_bill_yuan", "预警"],
                ["last_balance_yuan < avg_bill_yuan", "关注"],
            ],
            "else": "充足",
        },
        definition="费控客户余额是否够用。",
        business_rule="最近余额 <¼ 月均电费预警，< 1 个月电费关注。",
        math_model="比值阈值",
        sources=f"{LEDGER}、{PAY}",
        schedule="daily",
    ),
    _tag(
        "pay_recency",
        "交费活跃度",
        PAYING,
        _labels(_RECENCY, "长期未交"),
        {
            "kind": "count",
            "metric": "days_since_payment",
            "zero_when_missing": False,
            "bins": [[u, lb] for u, lb in _RECENCY],
            "top": "长期未交",
        },
        definition="距最近一次交费的天数。",
        business_rule="统计日 − 最近交费日。",
        math_model="最近度(Recency)",
        sources=PAY,
    ),
    _tag(
        "bill_level",
        "电费贡献分位",
        PAYING,
        ["低20%", "中低", "中", "中高", "高20%"],
        {"kind": "quantile", "metric": "revenue_yuan", "labels": ["低20%", "中低", "中", "中高", "高20%"]},
        definition="年电费在全体客户中的五分位。",
        business_rule="按年电费排序等分五组。",
        math_model="分位数分档",
        sources=PAY,
    ),
    # ---------------------------------------------------------------- 客户服务
    _tag(
        "repair_freq",
        "报修频次",
        SERVICE,
        _labels(_REPAIRS, "频繁报修"),
        {"kind": "count", "metric": "repairs_12m", "bins": [[u, lb] for u, lb in _REPAIRS], "top": "频繁报修"},
        definition="近一年故障报修次数。",
        business_rule="近 365 天报修工单数：0 / 1–2 / ≥3。",
        math_model="频次(Frequency)",
        sources=WO,
    ),
    _tag(
        "complaint_count",
        "投诉次数",
        SERVICE,
        _labels(_COMPLAINTS, "多次投诉"),
        {"kind": "count", "metric": "complaints_12m", "bins": [[u, lb] for u, lb in _COMPLAINTS], "top": "多次投诉"},
        definition="近一年投诉工单数。",
        business_rule="近 365 天投诉工单数。",
        math_model="频次(Frequency)",
        sources=WO,
    ),
    _tag(
        "service_sensitivity",
        "服务敏感度",
        SERVICE,
        ["高", "中", "低"],
        {
            "kind": "conditions",
            "cases": [
                ["is_sensitive OR coalesce(complaints_12m, 0) >= 2", "高"],
                ["coalesce(complaints_12m, 0) >= 1 OR coalesce(orders_12m, 0) >= 4", "中"],
            ],
            "else": "低",
        },
        definition="对服务质量的敏感程度。",
        business_rule="敏感客户或投诉 ≥2 次为高；投诉 1 次或工单 ≥4 为中。",
        math_model="规则评分",
        sources=f"{LEDGER}、{WO}",
    ),
    _tag(
        "satisfaction",
        "满意度",
        SERVICE,
        _labels(_SATISFACTION, "满意"),
        _bins("avg_satisfaction", _SATISFACTION, "满意"),
        definition="回访满意度的平均。",
        business_rule="回访评分(1–5)平均：<3 不满意，<4 一般。",
        math_model="描述统计",
        sources=WO,
    ),
    _tag(
        "contact_recency",
        "近期联系",
        SERVICE,
        ["近一月", "近半年", "半年以上", "无联系记录"],
        {
            "kind": "conditions",
            "cases": [
                ["days_since_order IS NULL", "无联系记录"],
                ["days_since_order < 30", "近一月"],
                ["days_since_order < 180", "近半年"],
            ],
            "else": "半年以上",
        },
        definition="最近一次联系 95598 距今。",
        business_rule="统计日 − 最近工单日期。",
        math_model="最近度(Recency)",
        sources=WO,
    ),
    # ---------------------------------------------------------------- 经营行为
    _tag(
        "business_status",
        "经营状况",
        BUSINESS,
        ["不适用(居民)", "停产歇业", "萎缩", "扩张", "稳定"],
        {
            "kind": "conditions",
            "cases": [
                ["customer_type IS NULL", U],
                ["customer_type = 'lv_resident'", "不适用(居民)"],
                ["avg_daily_kwh IS NULL", U],
                ["low_day_share > 0.5 OR last_month_ratio < 0.3", "停产歇业"],
                ["kwh_trend_pct < -3", "萎缩"],
                ["kwh_trend_pct > 3", "扩张"],
            ],
            "else": "稳定",
        },
        definition="企业客户从用电看出的经营状况。",
        business_rule="近零用电过半或最近一月骤降为停产；趋势斜率判断扩张/萎缩。",
        math_model="规则 + 回归斜率",
        sources=DAILY,
    ),
    _tag(
        "capacity_use",
        "容量利用率",
        BUSINESS,
        _labels(_UTIL, "高利用"),
        {
            "kind": "ratio",
            "numerator": "avg_daily_kwh",
            "denominator": "contract_kva",
            "bins": [[u, lb] for u, lb in _UTIL],
            "top": "高利用",
        },
        definition="日均电量与合同容量之比(等效利用小时)。",
        business_rule="日均电量 ÷ 合同容量：<1.2 低(≈5%)，<6 中。",
        math_model="比值分档",
        sources=f"{LEDGER}、{DAILY}",
    ),
    _tag(
        "shift_pattern",
        "生产班制",
        BUSINESS,
        ["不适用(居民)", "连续生产", "两班", "单班"],
        {
            "kind": "conditions",
            "cases": [
                ["customer_type = 'lv_resident'", "不适用(居民)"],
                ["load_factor IS NULL", U],
                ["load_factor >= 0.7", "连续生产"],
                ["valley_share >= 0.15", "两班"],
            ],
            "else": "单班",
        },
        definition="企业的生产班次。",
        business_rule="负荷率 ≥70% 连续生产；谷段占比 ≥15% 两班；否则单班。",
        math_model="负荷特征规则",
        sources=LOAD,
    ),
    # ---------------------------------------------------------------- 外部信用
    _tag(
        "credit_grade",
        "信用等级",
        CREDIT,
        ["AAA", "AA", "A", "B", "C"],
        {
            "kind": "field",
            "field": "credit_grade",
            "default": U,
            "map": {"AAA": "AAA", "AA": "AA", "A": "A", "B": "B", "C": "C"},
        },
        definition="外部征信机构给出的信用等级。",
        business_rule="取导入的外部信用表(gridcare tags import-credit)。",
        math_model="外部数据映射",
        sources="外部信用(credit)",
    ),
    # ---------------------------------------------------------------- 综合评价
    _tag(
        "customer_value",
        "客户价值",
        OVERALL,
        ["高价值", "中价值", "一般"],
        {
            "kind": "sql",
            "sql": """
WITH revenue AS (
    SELECT customer_id, revenue_yuan,
           sum(revenue_yuan) OVER (ORDER BY revenue_yuan DESC, customer_id ROWS UNBOUNDED PRECEDING) AS running,
           sum(revenue_yuan) OVER () AS total
    FROM f_pay WHERE revenue_yuan > 0
)
SELECT c.customer_id,
       CASE WHEN r.customer_id IS NULL THEN '未知'
            WHEN r.running - r.revenue_yuan < 0.8 * r.total THEN '高价值'
            WHEN r.running - r.revenue_yuan < 0.95 * r.total THEN '中价值' ELSE '一般' END AS value
FROM customers c LEFT JOIN revenue r ON r.customer_id = c.customer_id""",
        },
        definition="按二八法则划分的客户价值。",
        business_rule="按年电费从高到低累计，贡献前 80% 电费的客户为高价值，80–95% 为中价值。",
        math_model="帕累托(20/80)累计占比",
        sources=PAY,
    ),
    _tag(
        "service_priority",
        "服务优先级",
        OVERALL,
        ["一级", "二级", "三级"],
        {
            "kind": "sql",
            "sql": """
WITH ranked AS (
    SELECT customer_id, percent_rank() OVER (ORDER BY coalesce(revenue_yuan, 0), customer_id) AS pr FROM features
)
SELECT f.customer_id,
       CASE WHEN f.important_level IN ('special', 'first', 'second') OR r.pr >= 0.99 THEN '一级'
            WHEN f.important_level = 'temporary' OR f.is_sensitive OR r.pr >= 0.9 THEN '二级'
            ELSE '三级' END AS value
FROM features f JOIN ranked r ON r.customer_id = f.customer_id""",
        },
        definition="差异化服务的优先级。",
        business_rule="重要客户或电费前 1% 为一级；临时重要、敏感或前 10% 为二级。",
        math_model="规则 + 百分位",
        sources=f"{LEDGER}、{PAY}",
    ),
    _tag(
        "overall_risk",
        "综合风险",
        OVERALL,
        ["高", "中", "低"],
        {
            "kind": "conditions",
            "cases": [
                ["bills IS NULL AND avg_daily_kwh IS NULL", U],
                ["coalesce(overdue_bills, 0) >= 2 OR coalesce(complaints_12m, 0) >= 2", "高"],
                ["coalesce(overdue_bills, 0) >= 1 OR coalesce(last_month_ratio, 1) < 0.5", "中"],
            ],
            "else": "低",
        },
        definition="欠费、投诉与用电异常的综合风险。",
        business_rule="逾期 ≥2 或投诉 ≥2 为高；逾期 1 或用电骤降为中。",
        math_model="规则评分",
        sources=f"{PAY}、{WO}、{DAILY}",
    ),
    # ---------------------------------------------------------------- 心理特征
    _tag(
        "price_sensitivity",
        "价格敏感度",
        MIND,
        ["高", "中", "低"],
        {
            "kind": "conditions",
            "cases": [["valley_share IS NULL", U], ["valley_share >= 0.35", "高"], ["valley_share >= 0.25", "中"]],
            "else": "低",
        },
        definition="对分时电价的响应程度。",
        business_rule="主动把用电移到谷段(谷段占比高)的客户价格敏感。",
        math_model="分时占比阈值",
        sources=LOAD,
    ),
    _tag(
        "energy_saving",
        "节能意愿",
        MIND,
        ["较强", "一般", "较弱"],
        {
            "kind": "conditions",
            "cases": [
                ["kwh_trend_pct IS NULL", U],
                ["kwh_trend_pct < -2 AND coalesce(last_month_ratio, 1) < 1", "较强"],
                ["kwh_trend_pct > 5", "较弱"],
            ],
            "else": "一般",
        },
        definition="节约用电的意愿。",
        business_rule="电量持续下降且最近一月仍低为较强；快速增长为较弱。",
        math_model="趋势规则",
        sources=DAILY,
    ),
]
