"""The fixed shape of the demo city: sites, org units, demo users and districts.

Kept as plain data so `demo_logins()` and the tests can read it without a database.
"""

from __future__ import annotations

from dataclasses import dataclass

from gridcare.org.roles import Role

DEMO_PASSWORD = "gridcare-demo"  # noqa: S105 - published on purpose: it is the demo's login
ACTOR = "演示数据生成器"


@dataclass(frozen=True)
class SiteSpec:
    code: str
    name: str
    address: str
    lat: float
    lon: float


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name: str
    kind: str
    site: str
    parent: str | None
    scope: str | None
    duty_phone: str


@dataclass(frozen=True)
class UserSpec:
    username: str
    role: str
    unit: str
    full_name: str


@dataclass(frozen=True)
class DistrictSpec:
    code: str
    name: str
    area_class: str
    lat: float
    lon: float
    radius_deg: float  # how far substations spread from the district centre
    share: float  # share of the city's customers
    ta_size: int  # typical customers per transformer area (台区)
    repair_center: str  # code of the repair centre that serves the district
    digit: int  # used in account numbers and network codes


SITES: tuple[SiteSpec, ...] = (
    SiteSpec("QC-HQ", "青川市供电公司营业大楼", "青川市临江区解放路88号", 30.2741, 120.1551),
    SiteSpec("QC-CB", "城区抢修基地", "青川市临江区石桥路216号", 30.3128, 120.1690),
    SiteSpec("QC-TX", "桐溪县供电分公司", "青川市桐溪县瑶溪镇江滨路9号", 30.0210, 119.9280),
    SiteSpec("QC-YL", "云岭供电所", "青川市云岭县云岭镇昌化路18号", 29.7830, 119.5810),
)

COMPANY = "QC"
CENTER = "QC-95598"
REPAIR_NORTH = "QC-RC-N"
REPAIR_SOUTH = "QC-RC-S"

UNITS: tuple[UnitSpec, ...] = (
    UnitSpec(COMPANY, "青川市供电公司", "company", "QC-HQ", None, None, "0571-87010000"),
    UnitSpec(CENTER, "青川 95598 客户服务中心", "center_95598", "QC-HQ", COMPANY, COMPANY, "0571-87095598"),
    UnitSpec(REPAIR_NORTH, "城区供电抢修中心", "repair_center", "QC-CB", COMPANY, None, "0571-87020000"),
    UnitSpec(REPAIR_SOUTH, "县域供电抢修中心", "repair_center", "QC-TX", COMPANY, None, "0571-64030000"),
    UnitSpec("QC-RC-N-1", "城区抢修一班", "crew", "QC-CB", REPAIR_NORTH, REPAIR_NORTH, "0571-87020101"),
    UnitSpec("QC-RC-N-2", "城区抢修二班", "crew", "QC-CB", REPAIR_NORTH, REPAIR_NORTH, "0571-87020102"),
    UnitSpec("QC-RC-N-3", "城区抢修三班", "crew", "QC-CB", REPAIR_NORTH, REPAIR_NORTH, "0571-87020103"),
    UnitSpec("QC-RC-N-4", "城区抢修四班", "crew", "QC-CB", REPAIR_NORTH, REPAIR_NORTH, "0571-87020104"),
    UnitSpec("QC-RC-S-1", "桐溪抢修一班", "crew", "QC-TX", REPAIR_SOUTH, REPAIR_SOUTH, "0571-64030101"),
    UnitSpec("QC-RC-S-2", "桐溪抢修二班", "crew", "QC-TX", REPAIR_SOUTH, REPAIR_SOUTH, "0571-64030102"),
    UnitSpec("QC-RC-S-3", "云岭抢修一班", "crew", "QC-YL", REPAIR_SOUTH, REPAIR_SOUTH, "0571-63050101"),
    UnitSpec("QC-RC-S-4", "云岭抢修二班", "crew", "QC-YL", REPAIR_SOUTH, REPAIR_SOUTH, "0571-63050102"),
    UnitSpec("QC-YX", "营销部", "department", "QC-HQ", COMPANY, COMPANY, "0571-87010200"),
    UnitSpec("QC-YJ", "运检部", "department", "QC-HQ", COMPANY, COMPANY, "0571-87010300"),
    UnitSpec("QC-JL", "计量中心", "department", "QC-HQ", COMPANY, COMPANY, "0571-87010400"),
)

USERS: tuple[UserSpec, ...] = (
    UserSpec("agent", Role.AGENT, CENTER, "陈晓燕"),
    UserSpec("agent2", Role.AGENT, CENTER, "周佳怡"),
    UserSpec("lead", Role.SHIFT_LEAD, CENTER, "王海涛"),
    # The IVR system's account: it looks callers up and records one-line calls in storm mode, nothing else.
    UserSpec("ivr", Role.IVR, CENTER, "语音导航系统"),
    UserSpec("dispatch_north", Role.DISPATCHER, REPAIR_NORTH, "李建国"),
    UserSpec("dispatch_south", Role.DISPATCHER, REPAIR_SOUTH, "赵志刚"),
    UserSpec("crew_n1", Role.CREW, "QC-RC-N-1", "孙强"),
    UserSpec("crew_n2", Role.CREW, "QC-RC-N-2", "吴磊"),
    UserSpec("crew_n3", Role.CREW, "QC-RC-N-3", "郑军"),
    UserSpec("crew_n4", Role.CREW, "QC-RC-N-4", "冯勇"),
    UserSpec("crew_s1", Role.CREW, "QC-RC-S-1", "何鹏"),
    UserSpec("crew_s2", Role.CREW, "QC-RC-S-2", "罗斌"),
    UserSpec("crew_s3", Role.CREW, "QC-RC-S-3", "高峰"),
    UserSpec("crew_s4", Role.CREW, "QC-RC-S-4", "梁亮"),
    UserSpec("dept", Role.DEPARTMENT, "QC-YX", "许丽"),
    UserSpec("dept_ops", Role.DEPARTMENT, "QC-YJ", "韩东"),
    UserSpec("dept_meter", Role.DEPARTMENT, "QC-JL", "曹宁"),
    UserSpec("quality", Role.QUALITY, COMPANY, "唐敏"),
    UserSpec("analyst", Role.ANALYST, "QC-YX", "林思琪"),
    UserSpec("admin", Role.ADMIN, COMPANY, "系统管理员"),
)

DISTRICTS: tuple[DistrictSpec, ...] = (
    DistrictSpec("QC-LJ", "临江区", "urban", 30.2741, 120.1551, 0.07, 0.64, 220, REPAIR_NORTH, 1),
    DistrictSpec("QC-TX", "桐溪县", "rural", 30.0210, 119.9280, 0.16, 0.27, 150, REPAIR_SOUTH, 2),
    DistrictSpec("QC-YL", "云岭县", "remote", 29.7830, 119.5810, 0.20, 0.09, 110, REPAIR_SOUTH, 3),
)

VEHICLES_PER_CREW = 3
PLATE_PREFIX = "浙A·D"
GPS_PREFIX = "GC-VEH-"

UNIT_NAMES = {u.code: u.name for u in UNITS}


def demo_logins() -> list[tuple[str, str, str, str]]:
    """(username, password, role label, unit name) for every demo user, in a sensible reading order."""
    return [(u.username, DEMO_PASSWORD, str(Role(u.role).label), UNIT_NAMES[u.unit]) for u in USERS]
