"""Importing the customer ledger and the grid topology from CSV/Excel.

Every row is checked before anything is written. By default one bad row means nothing is written
(the report names each bad row by its line number and says why); `partial=True` writes the good
rows and reports the rest. Kinds are imported top-down: substations, feeders, areas (台区),
service points, customers — each row refers to the level above by its code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import models, transaction

from gridcare.core.audit import build_event, record_event, record_events
from gridcare.core.errors import ServiceError
from gridcare.core.geo import valid_coordinates
from gridcare.core.tables import Table
from gridcare.customers.models import (
    Contact,
    Customer,
    CustomerStatus,
    CustomerType,
    ElectricityCategory,
    ImportantLevel,
    VoltageLevel,
)
from gridcare.grid.models import AreaClass, District, Feeder, ServicePoint, Substation, TransformerArea
from gridcare.org.models import OrgUnit

BATCH = 2000


class RowError(Exception):
    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column = column
        self.message = message


@dataclass(frozen=True)
class RowProblem:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"第 {self.line} 行" + (f"「{self.column}」" if self.column else "")
        return f"{where}：{self.message}"


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    written: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    partial: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def bad_lines(self) -> list[int]:
        return sorted({p.line for p in self.problems})

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "rows": self.rows,
            "written": self.written,
            "rejected": len(self.bad_lines),
            "partial": self.partial,
            "errors": [{"line": p.line, "column": p.column, "message": p.message} for p in self.problems],
        }


# ---- value parsers: each returns a Python value or raises RowError(column, reason) -------------


def _text(row: dict[str, Any], col: str, *, required: bool = True, max_len: int = 200) -> str:
    raw = row.get(col)
    value = "" if raw is None else str(raw).strip()
    if isinstance(raw, float) and raw.is_integer():
        value = str(int(raw))  # Excel turns 户号 into floats; 3300000001.0 means 3300000001
    if required and not value:
        raise RowError(col, "不能为空")
    if len(value) > max_len:
        raise RowError(col, f"过长（最多 {max_len} 个字符）")
    return value


def _decimal(row: dict[str, Any], col: str, *, required: bool = True, minimum: Decimal | None = None) -> Decimal | None:
    value = _text(row, col, required=required)
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise RowError(col, f"“{value}”不是数字") from None
    if not number.is_finite() or (minimum is not None and number < minimum):
        raise RowError(col, f"{value} 超出范围（至少 {minimum}）")
    return number


def _int(row: dict[str, Any], col: str, *, required: bool = True, minimum: int = 0) -> int | None:
    number = _decimal(row, col, required=required)
    if number is None:
        return None
    if number != number.to_integral_value() or number < minimum:
        raise RowError(col, f"{number} 应为不小于 {minimum} 的整数")
    return int(number)


def _required_int(row: dict[str, Any], col: str, *, minimum: int = 0) -> int:
    value = _int(row, col, minimum=minimum)
    if value is None:
        raise RowError(col, "不能为空")
    return value


def _required_decimal(row: dict[str, Any], col: str, *, minimum: Decimal | None = None) -> Decimal:
    value = _decimal(row, col, minimum=minimum)
    if value is None:
        raise RowError(col, "不能为空")
    return value


def _required_coords(row: dict[str, Any]) -> tuple[float, float]:
    lat, lon = _coords(row, required=True)
    if lat is None or lon is None:
        raise RowError("lat", "经纬度须同时填写")
    return lat, lon


def _coords(row: dict[str, Any], *, required: bool) -> tuple[float | None, float | None]:
    lat = _decimal(row, "lat", required=required)
    lon = _decimal(row, "lon", required=required)
    if lat is None or lon is None:
        if required or (lat is None) != (lon is None):
            raise RowError("lat" if lat is None else "lon", "经纬度须同时填写")
        return None, None
    if not valid_coordinates(float(lat), float(lon)):
        raise RowError("lat", f"坐标 ({lat}, {lon}) 超出范围（纬度 -90~90，经度 -180~180）")
    return float(lat), float(lon)


def _choice(
    row: dict[str, Any],
    col: str,
    choices: type[models.TextChoices],
    *,
    required: bool = True,
    default: str | None = None,
) -> str:
    value = _text(row, col, required=required and default is None)
    if not value:
        return default if default is not None else ""
    for v, label in choices.choices:
        if value in (v, str(label)):
            return str(v)
    allowed = "、".join(f"{v}/{label}" for v, label in choices.choices if v)
    raise RowError(col, f"“{value}”不是有效值；可选：{allowed}")


def _date(row: dict[str, Any], col: str) -> dt.date:
    raw = row.get(col)
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    value = _text(row, col)
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"):
        try:
            return dt.datetime.strptime(value, fmt).date()  # noqa: DTZ007 - a calendar date, no time zone
        except ValueError:
            continue
    raise RowError(col, f"“{value}”不是日期（格式 2024-05-01）")


def _bool(row: dict[str, Any], col: str) -> bool:
    value = _text(row, col, required=False).lower()
    if value in ("", "0", "false", "no", "否", "n"):
        return False
    if value in ("1", "true", "yes", "是", "y"):
        return True
    raise RowError(col, f"“{value}”应为 是/否")


# ---- reference lookups by code, fetched once per import ---------------------------------------


def _lookup(model: type[models.Model], codes: Iterable[str]) -> dict[str, Any]:
    wanted = sorted({c for c in codes if c})
    found: dict[str, Any] = {}
    for i in range(0, len(wanted), 900):  # keep IN lists under SQLite's variable limit
        for obj in model._default_manager.filter(code__in=wanted[i : i + 900]):
            found[obj.code] = obj  # type: ignore[attr-defined]
    return found


def _ref(refs: dict[str, Any], row: dict[str, Any], col: str, what: str, *, required: bool = True) -> Any:
    code = _text(row, col, required=required)
    if not code:
        return None
    obj = refs.get(code)
    if obj is None:
        raise RowError(col, f"{what}编码 {code} 不存在，请先导入{what}")
    return obj


# ---- per-kind specifications -----------------------------------------------------------------


@dataclass
class KindSpec:
    model: type[models.Model]
    label: str
    columns: list[str]
    aliases: dict[str, str]
    key: str  # unique column (the code) checked against the file and the database
    references: dict[str, type[models.Model]]  # column -> model looked up by code
    build: Callable[[dict[str, Any], dict[str, dict[str, Any]]], list[models.Model]]


COMMON_ALIASES = {
    "编码": "code",
    "名称": "name",
    "纬度": "lat",
    "经度": "lon",
    "运维单位": "unit",
    "电压等级(kV)": "voltage_kv",
}


def _build_substation(row: dict[str, Any], refs: dict[str, dict[str, Any]]) -> list[models.Model]:
    lat, lon = _required_coords(row)
    return [
        Substation(
            code=_text(row, "code", max_len=32),
            name=_text(row, "name", max_len=100),
            voltage_kv=_int(row, "voltage_kv", required=False) or 110,
            lat=lat,
            lon=lon,
            unit=_ref(refs["unit"], row, "unit", "单位"),
        )
    ]


def _build_feeder(row: dict[str, Any], refs: dict[str, dict[str, Any]]) -> list[models.Model]:
    sub = _ref(refs["substation"], row, "substation", "变电站")
    unit = _ref(refs["unit"], row, "unit", "单位", required=False) or sub.unit
    return [
        Feeder(
            code=_text(row, "code", max_len=32),
            name=_text(row, "name", max_len=100),
            substation=sub,
            voltage_kv=_int(row, "voltage_kv", required=False) or 10,
            unit=unit,
        )
    ]


def _build_area(row: dict[str, Any], refs: dict[str, dict[str, Any]]) -> list[models.Model]:
    feeder = _ref(refs["feeder"], row, "feeder", "线路")
    lat, lon = _required_coords(row)
    rated = _required_int(row, "rated_kva", minimum=1)
    return [
        TransformerArea(
            code=_text(row, "code", max_len=32),
            name=_text(row, "name", max_len=100),
            feeder=feeder,
            rated_kva=rated,
            lat=lat,
            lon=lon,
            district=_ref(refs["district"], row, "district", "行政区域", required=False),
            unit=_ref(refs["unit"], row, "unit", "单位", required=False) or feeder.unit,
        )
    ]


def _build_service_point(row: dict[str, Any], refs: dict[str, dict[str, Any]]) -> list[models.Model]:
    area = _ref(refs["transformer_area"], row, "transformer_area", "台区")
    lat, lon = _coords(row, required=False)
    return [
        ServicePoint(
            code=_text(row, "code", max_len=32),
            transformer_area=area,
            meter_no=_text(row, "meter_no", required=False, max_len=32) or None,
            address=_text(row, "address", required=False),
            lat=lat if lat is not None else area.lat,
            lon=lon if lon is not None else area.lon,
        )
    ]


def _build_customer(row: dict[str, Any], refs: dict[str, dict[str, Any]]) -> list[models.Model]:
    sp = _ref(refs["service_point"], row, "service_point", "计量点", required=False)
    district = _ref(refs["district"], row, "district", "行政区域")
    unit = _ref(refs["service_unit"], row, "service_unit", "供电单位", required=sp is None)
    if unit is None:
        unit = sp.transformer_area.unit
    lat, lon = _coords(row, required=False)
    customer = Customer(
        account_no=_text(row, "account_no", max_len=20),
        name=_text(row, "name", max_len=100),
        customer_type=_choice(row, "customer_type", CustomerType),
        category=_choice(row, "category", ElectricityCategory),
        industry=_text(row, "industry", required=False, max_len=50),
        voltage_level=_choice(row, "voltage_level", VoltageLevel),
        contract_kva=_required_decimal(row, "contract_kva", minimum=Decimal(0)),
        address=_text(row, "address"),
        district=district,
        area_class=_choice(row, "area_class", AreaClass, default=district.area_class),
        lat=lat if lat is not None else (sp.lat if sp else None),
        lon=lon if lon is not None else (sp.lon if sp else None),
        service_point=sp,
        service_unit=unit,
        important_level=_choice(row, "important_level", ImportantLevel, required=False, default=""),
        is_sensitive=_bool(row, "is_sensitive"),
        opened_on=_date(row, "opened_on"),
        status=_choice(row, "status", CustomerStatus, default=CustomerStatus.NORMAL),
    )
    out: list[models.Model] = [customer]
    phone = _text(row, "phone", required=False, max_len=32)
    if phone:
        if sum(ch.isdigit() for ch in phone) < 5:
            raise RowError("phone", f"“{phone}”不像电话号码")
        out.append(
            Contact(
                name=_text(row, "contact_name", required=False, max_len=50) or customer.name,
                phone=phone,
                is_primary=True,
            )
        )
    return out


KINDS: dict[str, KindSpec] = {
    "substations": KindSpec(
        Substation,
        "变电站",
        ["code", "name", "voltage_kv", "lat", "lon", "unit"],
        COMMON_ALIASES,
        "code",
        {"unit": OrgUnit},
        _build_substation,
    ),
    "feeders": KindSpec(
        Feeder,
        "线路",
        ["code", "name", "substation", "voltage_kv", "unit"],
        {**COMMON_ALIASES, "变电站": "substation"},
        "code",
        {"substation": Substation, "unit": OrgUnit},
        _build_feeder,
    ),
    "areas": KindSpec(
        TransformerArea,
        "台区",
        ["code", "name", "feeder", "rated_kva", "lat", "lon", "district", "unit"],
        {**COMMON_ALIASES, "线路": "feeder", "额定容量(kVA)": "rated_kva", "行政区域": "district"},
        "code",
        {"feeder": Feeder, "district": District, "unit": OrgUnit},
        _build_area,
    ),
    "service_points": KindSpec(
        ServicePoint,
        "计量点",
        ["code", "transformer_area", "meter_no", "address", "lat", "lon"],
        {**COMMON_ALIASES, "台区": "transformer_area", "电表资产号": "meter_no", "地址": "address"},
        "code",
        {"transformer_area": TransformerArea},
        _build_service_point,
    ),
    "customers": KindSpec(
        Customer,
        "客户",
        [
            "account_no",
            "name",
            "customer_type",
            "category",
            "industry",
            "voltage_level",
            "contract_kva",
            "address",
            "district",
            "area_class",
            "lat",
            "lon",
            "service_point",
            "service_unit",
            "important_level",
            "is_sensitive",
            "opened_on",
            "status",
            "contact_name",
            "phone",
        ],
        {
            **COMMON_ALIASES,
            "户号": "account_no",
            "户名": "name",
            "客户类型": "customer_type",
            "用电类别": "category",
            "行业": "industry",
            "电压等级": "voltage_level",
            "合同容量(kVA)": "contract_kva",
            "用电地址": "address",
            "行政区域": "district",
            "城乡类别": "area_class",
            "计量点": "service_point",
            "供电单位": "service_unit",
            "重要客户等级": "important_level",
            "敏感客户": "is_sensitive",
            "立户日期": "opened_on",
            "状态": "status",
            "联系人": "contact_name",
            "电话": "phone",
        },
        "account_no",
        {"service_point": ServicePoint, "district": District, "service_unit": OrgUnit},
        _build_customer,
    ),
}


def _normalise(table: Table, spec: KindSpec) -> list[tuple[int, dict[str, Any]]]:
    mapping = {h: spec.aliases.get(h, h) for h in table.header}
    missing = [c for c in (spec.key,) if c not in mapping.values()]
    if missing:
        raise ServiceError(f"缺少必需的列：{', '.join(missing)}；{spec.label}的列为：{', '.join(spec.columns)}")
    unknown = [h for h, c in mapping.items() if c not in spec.columns and h]
    if unknown:
        raise ServiceError(f"无法识别的列：{', '.join(unknown)}；{spec.label}的列为：{', '.join(spec.columns)}")
    return [(line, {mapping[k]: v for k, v in row.items() if k in mapping}) for line, row in table.rows]


def import_table(*, kind: str, table: Table, partial: bool = False, actor: Any) -> ImportReport:
    """Validate every row, then write all of them in one transaction (or, with `partial`, the good ones)."""
    spec = KINDS.get(kind)
    if spec is None:
        raise ServiceError(f"未知的导入类型 {kind!r}；可选：{', '.join(KINDS)}", field="kind")
    rows = _normalise(table, spec)
    report = ImportReport(kind=kind, rows=len(rows), partial=partial)

    refs = {
        col: _lookup(model, (str(r.get(col) or "").strip() for _, r in rows)) for col, model in spec.references.items()
    }
    keys = [_key(r, spec) for _, r in rows]
    existing = set(_lookup(spec.model, keys)) if spec.key == "code" else _existing_accounts(keys)
    meters = _existing_meters(rows) if kind == "service_points" else set()
    seen: dict[str, int] = {}
    seen_meters: dict[str, int] = {}
    good: list[tuple[int, list[models.Model]]] = []
    for line, row in rows:
        try:
            key = _key(row, spec)
            if key in existing:
                raise RowError(spec.key, f"{key} 已存在")
            if key in seen:
                raise RowError(spec.key, f"{key} 与第 {seen[key]} 行重复")
            if key:
                seen[key] = line
            if kind == "service_points":
                meter = _text(row, "meter_no", required=False)
                if meter and (meter in meters or meter in seen_meters):
                    raise RowError("meter_no", f"电表资产号 {meter} 已被使用")
                if meter:
                    seen_meters[meter] = line
            good.append((line, spec.build(row, refs)))
        except RowError as exc:
            report.problems.append(RowProblem(line, exc.column, exc.message))
    if report.problems and not partial:
        return report
    with transaction.atomic():
        _write(spec, [objs for _, objs in good], actor)
        report.written = len(good)
        record_event(
            actor=actor,
            action=f"import.{kind}",
            subject_type="import",
            subject_id=kind,
            new={
                "rows": report.rows,
                "written": report.written,
                "rejected": len(report.bad_lines),
                "partial": partial,
            },
        )
    return report


def _key(row: dict[str, Any], spec: KindSpec) -> str:
    try:
        return _text(row, spec.key, required=False)
    except RowError:
        return ""


def _existing_accounts(keys: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(keys), 900):
        found.update(Customer.objects.filter(account_no__in=keys[i : i + 900]).values_list("account_no", flat=True))
    return found


def _existing_meters(rows: list[tuple[int, dict[str, Any]]]) -> set[str]:
    meters = [str(r.get("meter_no") or "").strip() for _, r in rows]
    meters = [m for m in meters if m]
    found: set[str] = set()
    for i in range(0, len(meters), 900):
        found.update(
            m
            for m in ServicePoint.objects.filter(meter_no__in=meters[i : i + 900]).values_list("meter_no", flat=True)
            if m
        )
    return found


def _write(spec: KindSpec, groups: list[list[models.Model]], actor: Any) -> None:
    for i in range(0, len(groups), BATCH):
        chunk = groups[i : i + BATCH]
        mains = [g[0] for g in chunk]
        spec.model._default_manager.bulk_create(mains, batch_size=500)
        if spec.model is Customer:
            # bulk_create sets primary keys on PostgreSQL and SQLite ≥ 3.35; fetch them to be sure.
            ids = dict(
                Customer.objects.filter(account_no__in=[m.account_no for m in mains]).values_list(  # type: ignore[attr-defined]
                    "account_no", "id"
                )
            )
            contacts: list[Any] = []
            for g in chunk:
                for extra in g[1:]:
                    extra.customer_id = ids[g[0].account_no]  # type: ignore[attr-defined]
                    contacts.append(extra)
            Contact.objects.bulk_create(contacts, batch_size=500)
            for m in mains:
                m.pk = ids[m.account_no]  # type: ignore[attr-defined]
        elif any(m.pk is None for m in mains):
            ids = {o.code: o.pk for o in _lookup(spec.model, [m.code for m in mains]).values()}  # type: ignore[attr-defined]
            for m in mains:
                m.pk = ids[m.code]  # type: ignore[attr-defined]
        record_events(
            [build_event(actor=actor, action=f"{spec.model._meta.model_name}.import", subject=m) for m in mains]
        )
