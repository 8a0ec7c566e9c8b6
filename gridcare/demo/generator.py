"""Builds the deterministic demo city (青川市): org tree, users, grid, customers, vehicles and analytics files.

`build_demo_city()` plans everything from the seed (plan.py), creates the organisation through the org
services, bulk-loads the network and the customer ledger in one transaction with one summarising audit
event per entity kind, and writes the Parquet analytics store in parallel threads while the database loads.
The files are written to a staging directory and only moved into place once the transaction has committed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import models, transaction

from gridcare.core.audit import build_event, record_event, record_events
from gridcare.core.models import Event
from gridcare.customers.models import Contact, Customer
from gridcare.demo import analytics, bulk, text, usage
from gridcare.demo.plan import (
    CATEGORIES,
    CUSTOMER_TYPES,
    IMPORTANT_LEVELS,
    INDUSTRY_NAMES,
    STATUSES,
    VOLTAGES,
    CityPlan,
    plan_city,
)
from gridcare.demo.spec import ACTOR, DEMO_PASSWORD, DISTRICTS, GPS_PREFIX, SITES, UNITS, USERS, demo_logins
from gridcare.gps.models import Device
from gridcare.grid.models import District, Feeder, GridDevice, ServicePoint, Substation, TransformerArea
from gridcare.org.models import OrgUnit, Site, User
from gridcare.org.services import ManagerSpec, orgunit_create, password_check, site_create, user_create
from gridcare.repair.models import Vehicle

__all__ = ["DATA_END", "DemoConflictError", "DemoDataExistsError", "DemoSummary", "build_demo_city", "demo_logins"]

DATA_END = dt.date(2026, 10, 31)  # the demo's year of data is the 365 days ending here
CHUNK = 50_000  # customers per round of inserts (and per progress step)
STAGING_PREFIX = ".demo-staging-"
OUTPUTS = ("customers.parquet", "daily_kwh", "load_96", "payments.parquet")


class DemoError(Exception):
    """The demo cannot be loaded into this database; the message says why and what to do."""


class DemoDataExistsError(DemoError):
    def __init__(self, customers: int) -> None:
        self.customers = customers
        super().__init__(
            f"the database already holds {customers} customers; the demo city is only loaded into an empty "
            "database. Use --if-empty to skip quietly, or start from a fresh database "
            "(remove var/gridcare.sqlite3 and run `gridcare migrate`)."
        )


class DemoConflictError(DemoError):
    pass


@dataclass
class DemoSummary:
    seed: int
    customers: int
    data_end: dt.date
    sites: int
    org_units: int
    users: int
    districts: int
    substations: int
    feeders: int
    grid_devices: int
    transformer_areas: int
    service_points: int
    contacts: int
    vehicles: int
    daily_kwh_rows: int
    load_96_rows: int
    payment_rows: int
    analytics_bytes: int
    analytics_dir: Path
    plan_seconds: float
    db_seconds: float
    analytics_seconds: float
    elapsed_seconds: float


def _conflicts(plan: CityPlan) -> list[str]:
    """Demo names already taken in this database (a half-cleared database, or a hand-made admin user)."""
    checks: list[tuple[str, models.QuerySet[Any], str]] = [
        ("users", User.objects.filter(username__in=[u.username for u in USERS]), "username"),
        ("org units", OrgUnit.objects.filter(code__in=[u.code for u in UNITS]), "code"),
        ("sites", Site.objects.filter(code__in=[s.code for s in SITES]), "code"),
        ("districts", District.objects.filter(code__in=[d.code for d in DISTRICTS]), "code"),
        ("GPS devices", Device.objects.filter(unique_id__startswith=GPS_PREFIX), "unique_id"),
        ("substations", Substation.objects.filter(code__in=plan.topology.ss_code), "code"),
    ]
    found = []
    for label, qs, field in checks:
        values = list(qs.values_list(field, flat=True)[:5])
        if values:
            found.append(f"{label}: {', '.join(map(str, values))}")
    return found


def _events(plan: CityPlan, model: type[models.Model], first_id: int, count: int, **extra: Any) -> Event:
    return build_event(
        actor=ACTOR,
        action="demo.load",
        subject_type=model._meta.label_lower,
        subject_id=f"{first_id}-{first_id + count - 1}" if count else "",
        subject_label=f"演示城市 {count} 条{model._meta.verbose_name}",
        new={"count": count, "seed": plan.seed, "first_id": first_id, "data_end": plan.data_end, **extra},
    )


def _create_org(plan: CityPlan) -> tuple[dict[str, Site], dict[str, OrgUnit], list[User]]:
    sites = {
        s.code: site_create(code=s.code, name=s.name, address=s.address, lat=s.lat, lon=s.lon, actor=ACTOR)
        for s in SITES
    }
    units: dict[str, OrgUnit] = {}
    for spec in UNITS:
        units[spec.code] = orgunit_create(
            code=spec.code,
            name=spec.name,
            kind=spec.kind,
            site=sites[spec.site],
            duty_phone=spec.duty_phone,
            managers=[ManagerSpec(name=n, phone=p, title=t) for n, p, t in plan.managers[spec.code]],
            parent=units[spec.parent] if spec.parent else None,
            scope_unit=units[spec.scope] if spec.scope else None,
            actor=ACTOR,
        )
    users = [
        user_create(
            username=spec.username,
            password=None,
            role=spec.role,
            unit=units[spec.unit],
            full_name=spec.full_name,
            phone=f"1357100{i:04d}",
            actor=ACTOR,
        )
        for i, spec in enumerate(USERS, start=1)
    ]
    # One PBKDF2 hash shared by every demo account instead of one per user_create call: the hash is what
    # takes time (~0.7 s each), and the demo password is public anyway. It still has to pass the password
    # validators for each account, like any other password (checking is cheap; hashing is not).
    for user in users:
        password_check(DEMO_PASSWORD, user=user)
    User.objects.filter(pk__in=[u.pk for u in users]).update(password=make_password(DEMO_PASSWORD))
    record_event(
        actor=ACTOR,
        action="demo.load",
        subject_type="org.user",
        subject_id="",
        subject_label="演示账号密码",
        new={"password_set_for": [u.username for u in users]},
    )
    return sites, units, users


def _load_network(plan: CityPlan, units: dict[str, OrgUnit]) -> tuple[dict[str, int], list[Event]]:
    topo = plan.topology
    ids = {m.__name__: bulk.next_id(m) for m in (District, Substation, Feeder, GridDevice, TransformerArea)}
    district_unit = [units[d.repair_center].pk for d in plan.districts]
    events = []
    d0 = ids["District"]
    bulk.insert_rows(
        District,
        ["id", "code", "name", "area_class"],
        [(d0 + i, d.code, d.name, d.area_class) for i, d in enumerate(plan.districts)],
    )
    events.append(_events(plan, District, d0, len(plan.districts)))
    s0 = ids["Substation"]
    ss_unit = [district_unit[d] for d in topo.ss_district.tolist()]
    n_ss = bulk.insert_rows(
        Substation,
        ["id", "code", "name", "voltage_kv", "lat", "lon", "unit"],
        zip(
            range(s0, s0 + len(topo.ss_code)),
            topo.ss_code,
            topo.ss_name,
            [110] * len(topo.ss_code),
            topo.ss_lat.tolist(),
            topo.ss_lon.tolist(),
            ss_unit,
            strict=True,
        ),
    )
    events.append(_events(plan, Substation, s0, n_ss))
    f0 = ids["Feeder"]
    fd_ss = topo.fd_ss.tolist()
    n_fd = bulk.insert_rows(
        Feeder,
        ["id", "code", "name", "substation", "voltage_kv", "unit"],
        zip(
            range(f0, f0 + len(fd_ss)),
            topo.fd_code,
            topo.fd_name,
            [s0 + s for s in fd_ss],
            [10] * len(fd_ss),
            [ss_unit[s] for s in fd_ss],
            strict=True,
        ),
    )
    events.append(_events(plan, Feeder, f0, n_fd))
    # The network below the feeders: ids are known up front, so upstreams and ties are written in the same rows
    # (the foreign keys are checked at commit).
    g0 = ids["GridDevice"]
    net = plan.network
    n_dev = bulk.insert_rows(
        GridDevice,
        ["id", "code", "name", "kind", "feeder", "upstream", "tie_to", "normally_open", "is_open", "lat", "lon"],
        zip(
            range(g0, g0 + len(net.code)),
            net.code,
            net.name,
            net.kind,
            [f0 + f for f in net.feeder.tolist()],
            [g0 + u if u >= 0 else None for u in net.upstream.tolist()],
            [g0 + t if t >= 0 else None for t in net.tie_to.tolist()],
            net.normally_open.tolist(),
            net.normally_open.tolist(),  # the demo starts in its normal running arrangement
            net.lat.tolist(),
            net.lon.tolist(),
            strict=True,
        ),
    )
    events.append(_events(plan, GridDevice, g0, n_dev, ties=int(net.normally_open.sum())))
    t0 = ids["TransformerArea"]
    ta_d = topo.ta_district.tolist()
    n_ta = bulk.insert_rows(
        TransformerArea,
        ["id", "code", "name", "feeder", "rated_kva", "lat", "lon", "district", "unit", "device"],
        zip(
            range(t0, t0 + len(ta_d)),
            topo.ta_code,
            topo.ta_name,
            [f0 + f for f in topo.ta_fd.tolist()],
            topo.ta_kva.tolist(),
            topo.ta_lat.tolist(),
            topo.ta_lon.tolist(),
            [d0 + d for d in ta_d],
            [district_unit[d] for d in ta_d],
            [g0 + g if g >= 0 else None for g in net.ta_device.tolist()],
            strict=True,
        ),
    )
    events.append(_events(plan, TransformerArea, t0, n_ta))
    return ids, events


def _load_ledger(
    plan: CityPlan,
    *,
    customer0: int,
    sp0: int,
    contact0: int,
    district0: int,
    district_unit: list[int],
    ta0: int,
    tick: Callable[[int], None],
) -> None:
    """Service points, customers and contacts, a chunk at a time so strings never pile up in memory."""
    c = plan.customers
    prefixes = text.ta_prefixes(plan)
    ctype = list(CUSTOMER_TYPES)
    category = list(CATEGORIES)
    voltage = list(VOLTAGES)
    industry = [*INDUSTRY_NAMES, ""]  # index -1 → no industry (residents)
    important = list(IMPORTANT_LEVELS)
    status = list(STATUSES)
    area = [d.area_class for d in plan.districts]
    epoch = dt.date(1970, 1, 1).toordinal()
    opened_cache: dict[int, str] = {}

    def iso(day: int) -> str:
        if day not in opened_cache:
            opened_cache[day] = dt.date.fromordinal(epoch + day).isoformat()
        return opened_cache[day]

    for lo in range(0, c.n, CHUNK):
        hi = min(lo + CHUNK, c.n)
        n = hi - lo
        accounts = text.account_numbers(plan, lo, hi)
        names_ = text.customer_names(plan, lo, hi)
        addresses = text.addresses(plan, lo, hi, prefixes)
        lat, lon = c.lat[lo:hi].tolist(), c.lon[lo:hi].tolist()
        sp_ids = range(sp0 + lo, sp0 + hi)
        cust_ids = range(customer0 + lo, customer0 + hi)
        bulk.insert_rows(
            ServicePoint,
            ["id", "code", "transformer_area", "meter_no", "address", "lat", "lon"],
            zip(
                sp_ids,
                text.service_point_codes(accounts),
                (ta0 + t for t in c.ta[lo:hi].tolist()),
                text.meter_numbers(accounts),
                addresses,
                lat,
                lon,
                strict=True,
            ),
        )
        d = c.district[lo:hi].tolist()
        bulk.insert_rows(
            Customer,
            [
                "id",
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
            ],
            zip(
                cust_ids,
                accounts,
                names_,
                [ctype[x] for x in c.ctype[lo:hi].tolist()],
                [category[x] for x in c.category[lo:hi].tolist()],
                [industry[x] for x in c.industry[lo:hi].tolist()],
                [voltage[x] for x in c.voltage[lo:hi].tolist()],
                [f"{x:.1f}" for x in c.contract_kva[lo:hi].tolist()],
                addresses,
                [district0 + x for x in d],
                [area[x] for x in d],
                lat,
                lon,
                sp_ids,
                [district_unit[x] for x in d],
                [important[x] for x in c.important[lo:hi].tolist()],
                c.sensitive[lo:hi].tolist(),
                [iso(x) for x in c.opened_on[lo:hi].tolist()],
                [status[x] for x in c.status[lo:hi].tolist()],
                strict=True,
            ),
        )
        is_res = (c.ctype[lo:hi] == 0).tolist()
        bulk.insert_rows(
            Contact,
            ["id", "customer", "name", "phone", "kind", "is_primary"],
            zip(
                range(contact0 + lo, contact0 + hi),
                cust_ids,
                text.contact_names(plan, lo, hi, names_),
                text.phones(plan, lo, hi),
                [Contact.Kind.SELF.value if r else Contact.Kind.ELECTRICAL.value for r in is_res],
                [True] * n,
                strict=True,
            ),
        )
        tick(n)


def _load_vehicles(plan: CityPlan, units: dict[str, OrgUnit]) -> tuple[int, int]:
    """Each vehicle with its GPS device (registered in the GPS app, named after the plate)."""
    v = plan.vehicles
    d0 = bulk.next_id(Device)
    bulk.insert_rows(
        Device,
        ["id", "unique_id", "name", "disabled"],
        zip(range(d0, d0 + len(v.plate)), v.gps_device_id, v.plate, [False] * len(v.plate), strict=True),
    )
    v0 = bulk.next_id(Vehicle)
    count = bulk.insert_rows(
        Vehicle,
        ["id", "plate", "crew", "device", "crew_type", "status", "home_lat", "home_lon"],
        zip(
            range(v0, v0 + len(v.plate)),
            v.plate,
            [units[c].pk for c in v.crew],
            range(d0, d0 + len(v.plate)),
            v.crew_type,
            ["idle"] * len(v.plate),
            v.lat.tolist(),
            v.lon.tolist(),
            strict=True,
        ),
    )
    return v0, count


@contextlib.contextmanager
def _bars(progress: bool, n: int) -> Iterator[tuple[Callable[[int], None], Callable[[int], None]]]:
    if not progress:
        yield (lambda k: None), (lambda k: None)
        return
    from tqdm import tqdm

    lock = threading.Lock()
    with (
        tqdm(total=n, desc="database ", unit="cust", position=0, dynamic_ncols=True) as db_bar,
        tqdm(total=n, desc="analytics", unit="cust", position=1, dynamic_ncols=True) as pq_bar,
    ):

        def db_tick(k: int) -> None:
            with lock:
                db_bar.update(k)

        def pq_tick(k: int) -> None:
            with lock:
                pq_bar.update(k)

        yield db_tick, pq_tick


def _publish(staging: Path, target: Path) -> None:
    """Replace the previous demo files with the new ones; other files in the directory stay."""
    for name in OUTPUTS:
        old = target / name
        if old.is_dir():
            shutil.rmtree(old)
        elif old.exists():
            old.unlink()
        (staging / name).rename(old)
    staging.rmdir()


def build_demo_city(
    *,
    seed: int,
    customers: int,
    analytics_dir: Path,
    progress: bool,
    data_end: dt.date = DATA_END,
    workers: int = 2,
) -> DemoSummary:
    """Load the demo city into an empty database and write its analytics files; the same seed, the same city.

    Raises DemoDataExistsError if any customer exists, DemoConflictError if demo names are already taken,
    ValueError for a bad seed or size.
    """
    started = time.perf_counter()
    existing = Customer.objects.count()
    if existing:
        raise DemoDataExistsError(existing)
    plan = plan_city(seed=seed, customers=customers, data_end=data_end)
    year = usage.data_year(seed, data_end)
    plan_seconds = time.perf_counter() - started
    analytics_dir = Path(analytics_dir)
    analytics_dir.mkdir(parents=True, exist_ok=True)
    staging = analytics_dir / f"{STAGING_PREFIX}{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    cancel = threading.Event()
    export: Future[analytics.AnalyticsResult] | None = None
    db_started = time.perf_counter()
    with _bars(progress, plan.n) as (db_tick, pq_tick), ThreadPoolExecutor(max_workers=1) as runner:
        try:
            with transaction.atomic(), bulk.fast_sqlite():
                existing = Customer.objects.count()  # again, now inside the write transaction
                if existing:
                    raise DemoDataExistsError(existing)
                conflicts = _conflicts(plan)
                if conflicts:
                    raise DemoConflictError(
                        "the database already has records with the demo's names ("
                        + "; ".join(conflicts)
                        + "). Load the demo into a fresh database: remove var/gridcare.sqlite3 and migrate."
                    )
                sites, units, users = _create_org(plan)
                district_unit = [units[d.repair_center].pk for d in plan.districts]
                customer0 = bulk.next_id(Customer)
                # The analytics files only need the customer ids, so they are written while the rows load.
                export = runner.submit(
                    analytics.write_analytics,
                    plan,
                    id_base=customer0,
                    unit_ids=district_unit,
                    out_dir=staging,
                    year=year,
                    workers=workers,
                    cancel=cancel,
                    tick=pq_tick,
                )
                ids, events = _load_network(plan, units)
                sp0, contact0 = bulk.next_id(ServicePoint), bulk.next_id(Contact)
                _load_ledger(
                    plan,
                    customer0=customer0,
                    sp0=sp0,
                    contact0=contact0,
                    district0=ids["District"],
                    district_unit=district_unit,
                    ta0=ids["TransformerArea"],
                    tick=db_tick,
                )
                events += [
                    _events(plan, ServicePoint, sp0, plan.n),
                    _events(plan, Customer, customer0, plan.n),
                    _events(plan, Contact, contact0, plan.n),
                ]
                # Important customers are looked after by the marketing department's account manager.
                manager = next((u for u in users if u.username == "dept"), None)
                if manager is not None:
                    managed = (
                        Customer.objects.filter(pk__gte=customer0)
                        .exclude(important_level="")
                        .update(account_manager=manager)
                    )
                    events.append(
                        build_event(
                            actor=ACTOR,
                            action="demo.account_managers",
                            subject_type="customers.customer",
                            subject_label="重要客户的客户经理",
                            new={"account_manager": manager.username, "customers": managed},
                        )
                    )
                v0, n_vehicles = _load_vehicles(plan, units)
                events.append(_events(plan, Vehicle, v0, n_vehicles))
                bulk.reset_sequences(
                    [
                        District,
                        Substation,
                        Feeder,
                        GridDevice,
                        TransformerArea,
                        ServicePoint,
                        Customer,
                        Contact,
                        Device,
                        Vehicle,
                    ]
                )
                db_seconds = time.perf_counter() - db_started
                result = export.result()  # a failed export rolls the database back too
                events.append(
                    build_event(
                        actor=ACTOR,
                        action="demo.load",
                        subject_type="analytics",
                        subject_id=f"seed-{seed}",
                        subject_label="演示城市用电数据 (Parquet)",
                        new={
                            "seed": seed,
                            "dir": str(analytics_dir),
                            "data_end": data_end,
                            "customers": result.customer_rows,
                            "daily_kwh_rows": result.daily_rows,
                            "load_96_rows": result.load96_rows,
                            "payment_rows": result.payment_rows,
                            "bytes": result.bytes_written,
                        },
                    )
                )
                record_events(events)
        except BaseException:
            cancel.set()  # stop the export at its next block, and wait so no file appears after the cleanup
            if export is not None:
                wait_for([export])
            shutil.rmtree(staging, ignore_errors=True)
            raise
    _publish(staging, analytics_dir)
    return DemoSummary(
        seed=seed,
        customers=plan.n,
        data_end=data_end,
        sites=len(sites),
        org_units=len(units),
        users=len(users),
        districts=len(plan.districts),
        substations=len(plan.topology.ss_code),
        feeders=len(plan.topology.fd_code),
        grid_devices=len(plan.network.code),
        transformer_areas=len(plan.topology.ta_code),
        service_points=plan.n,
        contacts=plan.n,
        vehicles=n_vehicles,
        daily_kwh_rows=result.daily_rows,
        load_96_rows=result.load96_rows,
        payment_rows=result.payment_rows,
        analytics_bytes=result.bytes_written,
        analytics_dir=analytics_dir,
        plan_seconds=plan_seconds,
        db_seconds=db_seconds,
        analytics_seconds=result.seconds,
        elapsed_seconds=time.perf_counter() - started,
    )
