"""The demo city: deterministic, plausible, complete, and careful with a database that already has data."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError

from gridcare.core.models import Event
from gridcare.customers.models import (
    Contact,
    Customer,
    CustomerStatus,
    CustomerType,
    ElectricityCategory,
    ImportantLevel,
    VoltageLevel,
)
from gridcare.demo import analytics, plan, text, usage
from gridcare.demo.generator import DATA_END, DemoConflictError, DemoDataExistsError, DemoSummary, build_demo_city
from gridcare.demo.spec import DEMO_PASSWORD, USERS, demo_logins
from gridcare.grid.models import AreaClass, District, ServicePoint
from gridcare.org.models import OrgUnit, User
from gridcare.org.roles import Role
from gridcare.repair.models import CrewType, Vehicle

N = 500


def _plan(seed: int = 2026, customers: int = N) -> plan.CityPlan:
    return plan.plan_city(seed=seed, customers=customers, data_end=DATA_END)


@pytest.fixture
def city(db: None, tmp_path: Path) -> tuple[DemoSummary, Path]:
    out = tmp_path / "analytics"
    return build_demo_city(seed=7, customers=N, analytics_dir=out, progress=False), out


# --- the plan: pure numbers, no database -------------------------------------------------------------------


def test_same_seed_gives_the_same_city_and_another_seed_a_different_one() -> None:
    a, b, other = _plan(), _plan(), _plan(seed=2027)
    assert text.account_numbers(a, 0, 50) == text.account_numbers(b, 0, 50)
    assert text.customer_names(a, 0, 50) == text.customer_names(b, 0, 50)
    assert text.addresses(a, 0, 50, text.ta_prefixes(a)) == text.addresses(b, 0, 50, text.ta_prefixes(b))
    assert np.array_equal(a.customers.base_kwh, b.customers.base_kwh)
    assert a.vehicles.plate == b.vehicles.plate
    assert text.account_numbers(a, 0, 50) != text.account_numbers(other, 0, 50)
    assert text.customer_names(a, 0, 50) != text.customer_names(other, 0, 50)


def test_account_numbers_are_unique_ten_digit_strings() -> None:
    p = _plan(customers=20_000)
    accounts = text.account_numbers(p, 0, p.n)
    assert len(set(accounts)) == p.n
    assert all(len(a) == 10 and a.isdigit() for a in accounts)
    assert all(len(x) == 11 and x[:2] in {"13", "15", "18"} for x in text.phones(p, 0, 1000))


def test_plan_codes_are_valid_model_choices() -> None:
    assert set(plan.CUSTOMER_TYPES) == set(CustomerType.values)
    assert set(plan.CATEGORIES) <= set(ElectricityCategory.values)
    assert set(plan.VOLTAGES) == set(VoltageLevel.values)
    assert set(plan.IMPORTANT_LEVELS) == set(ImportantLevel.values)
    assert set(plan.STATUSES) == set(CustomerStatus.values)
    assert set(plan.CREW_TYPES) == set(CrewType.values)
    assert [d.area_class for d in plan.DISTRICTS] == [AreaClass.URBAN, AreaClass.RURAL, AreaClass.REMOTE]


def test_customer_mix_is_roughly_that_of_a_chinese_city() -> None:
    c = _plan(customers=50_000).customers
    share = np.bincount(c.ctype, minlength=3) / c.n
    assert 0.86 < share[plan.RESIDENT] < 0.90
    assert 0.08 < share[plan.LV_BUSINESS] < 0.125
    assert 0.01 < share[plan.HV] < 0.02
    farms = c.category == plan.CAT_AGRICULTURE
    assert 0.005 < farms.mean() < 0.04
    assert (c.district[farms] > 0).mean() > 0.7, "agriculture is mostly outside the city"
    assert 0.003 < c.sensitive.mean() < 0.008
    assert (c.status == 0).mean() > 0.95
    assert 0 < (c.important > 0).sum() < 0.03 * (c.ctype == plan.HV).sum() + 5
    assert (c.ctype[c.important > 0] == plan.HV).all()
    big = c.category == plan.CAT_INDUSTRY
    assert (c.contract_kva[big] >= 315).all(), "大工业 starts at 315 kVA"
    assert (c.contract_kva[c.ctype == plan.RESIDENT] <= 20).all()
    years = ((DATA_END - dt.date(1970, 1, 1)).days - c.opened_on) / 365.25
    assert years.min() >= 0 and 25 < years.max() <= 30.01
    sizes = _plan(customers=50_000).topology.ta_sizes
    assert 100 <= sizes.mean() <= 300


@pytest.mark.parametrize("customers", [1, 50])
def test_tiny_cities_still_have_a_whole_network(customers: int) -> None:
    p = _plan(customers=customers)
    assert p.n == customers
    assert len(p.topology.ta_code) >= len(plan.DISTRICTS)
    assert p.topology.ta_sizes.sum() == customers
    assert set(p.topology.ta_fd.tolist()) == set(range(len(p.topology.fd_code)))
    assert set(p.topology.fd_ss.tolist()) == set(range(len(p.topology.ss_code)))


def test_analytics_files_are_deterministic_whatever_the_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small blocks and files, so several threads really share the work.
    monkeypatch.setattr(analytics, "BLOCK", 64)
    monkeypatch.setattr(analytics, "FILE_CUSTOMERS", 128)
    p = _plan(customers=300)
    for name, workers in (("a", 2), ("b", 1)):
        analytics.write_analytics(p, id_base=1, unit_ids=[1, 2, 2], out_dir=tmp_path / name, workers=workers)
    assert len(list((tmp_path / "a" / "daily_kwh").iterdir())) == 3
    other = _plan(seed=9, customers=300)
    analytics.write_analytics(other, id_base=1, unit_ids=[1, 2, 2], out_dir=tmp_path / "c")
    for part in ("customers.parquet", "payments.parquet", "daily_kwh", "load_96"):
        a, b = pq.read_table(tmp_path / "a" / part), pq.read_table(tmp_path / "b" / part)
        assert a.equals(b), part
        assert not a.equals(pq.read_table(tmp_path / "c" / part)), part


def test_daily_usage_follows_the_seasons_and_the_spring_festival() -> None:
    p = _plan(customers=4000)
    year = usage.data_year(p.seed, DATA_END)
    kwh = usage.daily_kwh(p, year, 0, p.n, 0)
    days = [dt.date(1970, 1, 1) + dt.timedelta(days=int(d)) for d in year.day_numbers]
    month = np.array([d.month for d in days])
    homes = p.customers.category == plan.CAT_RESIDENT
    assert kwh[homes][:, month == 8].mean() > 1.15 * kwh[homes][:, month == 5].mean(), "summer cooling peak"
    factories = (p.customers.category == plan.CAT_INDUSTRY) & (p.customers.status == 0)
    festival = year.festival > 0.9
    assert kwh[factories][:, festival].mean() < 0.7 * kwh[factories][:, month == 3].mean()
    assert (kwh >= 0).all() and kwh.dtype == np.float32
    assert np.allclose(kwh, np.round(kwh, 1))
    vacant = (kwh.mean(axis=1) < 0.5).mean()
    assert 0.02 < vacant < 0.2, "some homes stand empty"


# --- the database load ---------------------------------------------------------------------------------------


def test_org_tree_has_managers_two_repair_centres_and_crews(city: tuple[DemoSummary, Path]) -> None:
    for unit in OrgUnit.objects.all():
        assert unit.managers.count() >= 2, unit
        assert unit.duty_phone
    company = OrgUnit.objects.get(kind=OrgUnit.Kind.COMPANY)
    center = OrgUnit.objects.get(kind=OrgUnit.Kind.CENTER_95598)
    assert center.scope_unit == company
    north, south = OrgUnit.objects.filter(kind=OrgUnit.Kind.REPAIR_CENTER).order_by("code")
    assert north.site_id != south.site_id
    crews = OrgUnit.objects.filter(kind=OrgUnit.Kind.CREW)
    assert crews.count() >= 8
    for crew in crews:
        assert crew.parent in (north, south) and crew.scope_unit == crew.parent
        assert crew.path.startswith(crew.parent.path)
    assert set(OrgUnit.objects.filter(kind=OrgUnit.Kind.DEPARTMENT).values_list("name", flat=True)) >= {
        "营销部",
        "运检部",
        "计量中心",
    }


def test_demo_users_cover_every_role_and_can_log_in(city: tuple[DemoSummary, Path]) -> None:
    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
    assert User.objects.get(username="dispatch_north").unit.kind == OrgUnit.Kind.REPAIR_CENTER
    assert User.objects.get(username="crew_n1").unit.kind == OrgUnit.Kind.CREW
    assert authenticate(username="agent", password=DEMO_PASSWORD) is not None
    assert authenticate(username="admin", password=DEMO_PASSWORD).is_superuser  # type: ignore[union-attr]
    logins = demo_logins()
    assert [row[0] for row in logins] == [u.username for u in USERS]
    assert all(row[1] == DEMO_PASSWORD for row in logins)


def test_vehicles_have_unique_devices_and_every_crew_has_two(city: tuple[DemoSummary, Path]) -> None:
    assert Vehicle.objects.count() >= 20
    devices = list(Vehicle.objects.values_list("device__unique_id", flat=True))
    assert None not in devices and len(set(devices)) == len(devices)
    for crew in OrgUnit.objects.filter(kind=OrgUnit.Kind.CREW):
        assert crew.vehicles.count() >= 2
    assert {v.crew_type for v in Vehicle.objects.all()} == set(CrewType.values)


def test_every_customer_sits_on_a_complete_network_chain(city: tuple[DemoSummary, Path]) -> None:
    summary, _ = city
    assert Customer.objects.count() == N == summary.customers
    assert Contact.objects.count() == N
    assert ServicePoint.objects.count() == N
    broken = Customer.objects.filter(service_point__transformer_area__feeder__substation__isnull=True)
    assert not broken.exists()
    for c in Customer.objects.select_related("service_point__transformer_area", "district", "service_unit")[:200]:
        ta = c.service_point.transformer_area
        assert c.area_class == c.district.area_class
        assert c.service_unit == ta.unit and c.service_unit.kind == OrgUnit.Kind.REPAIR_CENTER
        assert ta.district_id == c.district_id
        assert abs(c.service_point.lat - ta.lat) < 0.05 and abs(c.service_point.lon - ta.lon) < 0.05
    urban_units = set(Customer.objects.filter(area_class="urban").values_list("service_unit", flat=True))
    other_units = set(Customer.objects.exclude(area_class="urban").values_list("service_unit", flat=True))
    assert len(urban_units) == 1 and len(other_units) == 1 and urban_units != other_units
    assert Customer.objects.values("account_no").distinct().count() == N


def test_rows_created_after_the_demo_get_fresh_ids(city: tuple[DemoSummary, Path]) -> None:
    # The loader writes explicit primary keys; PostgreSQL's sequences must have been moved past them.
    top = Customer.objects.order_by("-pk").values_list("pk", flat=True).first()
    district = District.objects.create(code="QC-NEW", name="新区", area_class=AreaClass.URBAN)
    customer = Customer.objects.create(
        account_no="3399999999",
        name="新客户",
        customer_type=CustomerType.LV_RESIDENT,
        category=ElectricityCategory.RESIDENT,
        voltage_level=VoltageLevel.V220,
        contract_kva=8,
        address="新区1号",
        district=district,
        area_class=AreaClass.URBAN,
        service_unit=OrgUnit.objects.get(code="QC-RC-N"),
        opened_on=DATA_END,
    )
    assert top is not None and customer.pk > top
    Contact.objects.create(customer=customer, name="新客户", phone="13800000000")


def test_bulk_load_leaves_one_audit_event_per_kind(city: tuple[DemoSummary, Path]) -> None:
    kinds = set(Event.objects.filter(action="demo.load").values_list("subject_type", flat=True))
    assert kinds >= {
        "grid.district",
        "grid.substation",
        "grid.feeder",
        "grid.griddevice",
        "grid.transformerarea",
        "grid.servicepoint",
        "customers.customer",
        "customers.contact",
        "repair.vehicle",
        "analytics",
    }
    event = Event.objects.get(action="demo.load", subject_type="customers.customer")
    assert event.new["count"] == N and event.new["seed"] == 7
    assert Event.objects.filter(action="orgunit.create").count() == OrgUnit.objects.count()


def test_parquet_files_match_the_database(city: tuple[DemoSummary, Path]) -> None:
    summary, out = city
    con = duckdb.connect()

    def one(sql: str, path: Path | str) -> tuple:  # type: ignore[type-arg]
        row = con.execute(sql, [str(path)]).fetchone()
        assert row is not None
        return row

    daily = out / "daily_kwh" / "*.parquet"
    per_customer = one(
        "select count(distinct customer_id), min(n), max(n) from "
        "(select customer_id, count(*) n from read_parquet(?) group by 1)",
        daily,
    )
    assert per_customer == (N, 365, 365)
    assert one("select min(day), max(day) from read_parquet(?)", daily) == (DATA_END - dt.timedelta(days=364), DATA_END)
    db_accounts = dict(Customer.objects.values_list("pk", "account_no"))
    rows = con.execute("select customer_id, account_no from read_parquet(?)", [str(out / "customers.parquet")])
    assert dict(rows.fetchall()) == db_accounts
    loads = one("select count(*), count(distinct customer_id) from read_parquet(?)", out / "load_96" / "*.parquet")
    assert loads == (N * 90 * 96, N)
    payments = str(out / "payments.parquet")
    channels = {r[0] for r in con.execute("select distinct channel from read_parquet(?)", [payments]).fetchall()}
    assert channels - {None} == set(usage.CHANNELS)
    assert one("select count(*) from read_parquet(?) where paid_on is null", payments)[0] > 0, "some in arrears"
    assert summary.daily_kwh_rows == N * 365
    assert not list(out.glob(".demo-staging-*"))


def test_refuses_a_database_that_already_has_customers(city: tuple[DemoSummary, Path], tmp_path: Path) -> None:
    with pytest.raises(DemoDataExistsError):
        build_demo_city(seed=7, customers=N, analytics_dir=tmp_path / "again", progress=False)
    with pytest.raises(CommandError, match=f"already holds {N} customers"):
        call_command("demo", "--customers", "100", "--analytics-dir", str(tmp_path / "x"), "--no-progress")
    out = StringIO()
    call_command("demo", "--if-empty", "--analytics-dir", str(tmp_path / "x"), "--no-progress", stdout=out)
    assert "already loaded" in out.getvalue()
    assert Customer.objects.count() == N
    assert not (tmp_path / "again").exists() or not any((tmp_path / "again").iterdir())


@pytest.mark.django_db
def test_refuses_when_demo_names_are_taken(tmp_path: Path) -> None:
    User.objects.create_user(username="admin", password="x" * 12)
    with pytest.raises(DemoConflictError, match="users: admin"):
        build_demo_city(seed=1, customers=50, analytics_dir=tmp_path, progress=False)
    assert not OrgUnit.objects.exists(), "nothing is left behind"
    assert not any(tmp_path.iterdir())


@pytest.mark.django_db
def test_command_loads_the_city_and_rejects_bad_arguments(tmp_path: Path) -> None:
    out = StringIO()
    call_command(
        "demo", "--customers", "120", "--seed", "3", "--analytics-dir", str(tmp_path), "--no-progress", stdout=out
    )
    assert "Demo city loaded" in out.getvalue()
    assert Customer.objects.count() == 120
    assert (tmp_path / "customers.parquet").exists()
    for bad in (["--customers", "0"], ["--customers", "many"], ["--seed", "-1"]):
        with pytest.raises(CommandError):
            call_command("demo", *bad)


def test_demo_logins_command_prints_the_table(db: None) -> None:
    out, err = StringIO(), StringIO()
    call_command("demo_logins", stdout=out, stderr=err)
    lines = out.getvalue().splitlines()
    assert lines[0] == "GridCare is at http://127.0.0.1:8000 — demo logins:"
    assert lines[1].split() == ["username", "password", "role", "unit"]
    assert any(line.startswith("dispatch_south") and "县域供电抢修中心" in line for line in lines)
    assert "gridcare demo" in err.getvalue()


# --- the network below the feeders ------------------------------------------------------------------------------


def test_every_feeder_gets_a_radial_network_with_branches_fuses_and_ties() -> None:
    from gridcare.grid.network import Device, Link, loops

    p = _plan(customers=50_000)
    net, topo = p.network, p.topology
    assert net.code == _plan(customers=50_000).network.code  # deterministic from the seed
    assert net.kind != _plan(seed=9, customers=50_000).network.kind  # another seed, another network
    feeders = range(len(topo.fd_code))
    kinds = np.array(net.kind)
    outlets = net.feeder[(net.upstream < 0)]
    assert sorted(outlets.tolist()) == list(feeders) and set(kinds[net.upstream < 0]) == {"breaker"}
    up = net.upstream[net.upstream >= 0]
    assert (net.feeder[net.upstream >= 0] == net.feeder[up]).all()  # an upstream is always on the same feeder
    fuses = np.flatnonzero(kinds == "fuse")
    per_feeder = np.bincount(net.feeder[fuses], minlength=len(topo.fd_code))
    assert per_feeder.min() >= 1 and per_feeder.max() <= 4 and per_feeder.mean() > 2
    assert set(np.flatnonzero(kinds == "fuse")) <= set(net.ta_device.tolist())  # no empty branch line
    assert (net.ta_device >= 0).all() and (net.feeder[net.ta_device] == topo.ta_fd).all()
    assert {"recloser", "sectionaliser"} <= set(net.kind)
    ties = np.flatnonzero(net.tie_to >= 0)
    assert len(ties) >= 1 and net.normally_open[ties].all() and net.normally_open.sum() == len(ties)
    a, b = net.feeder[ties], net.feeder[net.tie_to[ties]]
    assert (a != b).all() and (topo.fd_ss[a] == topo.fd_ss[b]).all()  # two feeders of one substation
    devices = [
        Device(c, k, None, str(f) if u < 0 else None)
        for c, k, f, u in zip(net.code, net.kind, net.feeder, net.upstream, strict=True)
    ]
    links = [Link(net.code[u], net.code[i]) for i, u in enumerate(net.upstream.tolist()) if u >= 0]
    links += [Link(net.code[i], net.code[t]) for i, t in enumerate(net.tie_to.tolist()) if t >= 0]
    normally_open = [net.code[i] for i in ties]
    assert loops(devices, links, normally_open) == []
    assert loops(devices, links, []) != []  # closing every tie would parallel the paired feeders


def test_the_loaded_network_is_what_the_import_accepts_and_the_topology_runs(city: tuple[DemoSummary, Path]) -> None:
    from gridcare.core.tables import Table
    from gridcare.grid import topology
    from gridcare.grid.imports import network_import
    from gridcare.grid.models import GridDevice, TransformerArea

    summary, _ = city
    assert GridDevice.objects.count() == summary.grid_devices > 0
    assert not TransformerArea.objects.filter(device__isnull=True).exists()
    topo = topology.now()
    for code, feeder in TransformerArea.objects.values_list("code", "feeder__code"):
        assert topo.feeder_of_area(code) == feeder
    # Fed back through the import, the demo's network passes every check and changes nothing.
    header = ["code", "name", "kind", "feeder", "upstream", "tie_to", "normally_open", "lat", "lon"]
    rows = GridDevice.objects.values_list(
        "code", "name", "kind", "feeder__code", "upstream__code", "tie_to__code", "normally_open", "lat", "lon"
    )
    table = Table(header, [(i, dict(zip(header, r, strict=True))) for i, r in enumerate(rows, start=2)])
    areas = Table(
        ["area", "device"],
        [
            (i, {"area": a, "device": d})
            for i, (a, d) in enumerate(TransformerArea.objects.values_list("code", "device__code"), start=2)
        ],
    )
    report = network_import(devices=table, areas=areas, actor="test")
    assert report.ok, [str(p) for p in report.problems[:5]]
    assert (report.devices_created, report.devices_updated, report.areas_changed) == (0, 0, 0)
