"""The demo city as numbers: topology, customers and their usage parameters, drawn from one seed.

Pure numpy, no database: `plan_city()` decides everything, and the loaders (`generator.py`, `analytics.py`)
only turn the arrays into rows. Each concern draws from its own stream (`_rng(seed, STREAM)`), so adding
a column to one part never changes the numbers of another, and the same seed always gives the same city.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np

from gridcare.demo import names
from gridcare.demo.network import Network, plan_network
from gridcare.demo.spec import DISTRICTS, UNITS, DistrictSpec

MAX_CUSTOMERS = 3_000_000  # account numbers carry a 7-digit sequence per district

# Codes as stored in the database (they mirror the TextChoices in gridcare.customers.models; a test checks).
CUSTOMER_TYPES = ("lv_resident", "lv_business", "hv")
RESIDENT, LV_BUSINESS, HV = 0, 1, 2
CATEGORIES = ("resident", "commercial", "large_industry", "agriculture", "other")
CAT_RESIDENT, CAT_COMMERCIAL, CAT_INDUSTRY, CAT_AGRICULTURE, CAT_OTHER = range(5)
VOLTAGES = ("220V", "380V", "10kV", "35kV", "110kV")
IMPORTANT_LEVELS = ("", "special", "first", "second", "temporary")
STATUSES = ("normal", "suspended", "closed")
SUSPENDED, CLOSED = 1, 2
CREW_TYPES = ("both", "lv", "mv")

# Load-curve shapes for the 96-point curves (see usage.SHAPES).
SHAPE_DOUBLE_PEAK, SHAPE_DAYTIME, SHAPE_FLAT, SHAPE_DAY_SHIFT, SHAPE_NIGHT = range(5)

RATED_KVA = np.array([100, 200, 315, 400, 630, 800])
HV_KVA_10 = np.array([200, 250, 315, 400, 500, 630, 800, 1000, 1250, 1600, 2000, 2500, 3150, 4000, 5000, 6300])

# One stream per concern; numbers are arbitrary but must never change.
STREAM_TOPOLOGY, STREAM_CUSTOMERS, STREAM_TEXT, STREAM_USAGE, STREAM_ORG = 11, 12, 13, 14, 15
STREAM_NETWORK = 16  # the devices below the feeders (gridcare.demo.network)
STREAM_WEATHER, STREAM_DAILY, STREAM_PAYMENTS, STREAM_LOAD96 = 21, 22, 23, 24


def rng_for(seed: int, *stream: int) -> np.random.Generator:
    """A generator for one concern of one seed; independent of every other stream."""
    return np.random.default_rng([seed, *stream])


def _pick(rng: np.random.Generator, cum: np.ndarray, group: np.ndarray) -> np.ndarray:
    """For each row, an index drawn from the probability row `cum[group[i]]` (cumulative, last = 1)."""
    u = rng.random(int(group.shape[0]))
    table = cum[group]
    return (u[:, None] >= table[:, :-1]).sum(axis=1).astype(np.int8)


def _cumulative(rows: list[list[float]]) -> np.ndarray:
    arr = np.asarray(rows, dtype=np.float64)
    arr = arr / arr.sum(axis=1, keepdims=True)
    return np.cumsum(arr, axis=1)


def _scatter(
    rng: np.random.Generator, lat: np.ndarray, lon: np.ndarray, radius: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """Points uniformly in a disc of `radius` degrees (of latitude) around each centre."""
    n = int(lat.shape[0])
    r = np.asarray(radius) * np.sqrt(rng.random(n))
    theta = rng.random(n) * 2 * np.pi
    return lat + r * np.sin(theta), lon + r * np.cos(theta) / np.cos(np.radians(lat))


@dataclass
class Topology:
    ss_district: np.ndarray
    ss_lat: np.ndarray
    ss_lon: np.ndarray
    ss_code: list[str]
    ss_name: list[str]
    fd_ss: np.ndarray
    fd_code: list[str]
    fd_name: list[str]
    ta_fd: np.ndarray
    ta_district: np.ndarray
    ta_lat: np.ndarray
    ta_lon: np.ndarray
    ta_kva: np.ndarray
    ta_code: list[str]
    ta_name: list[str]
    ta_place: list[str]  # address up to the house number: "解放路" or "瑶溪镇上坞村"
    ta_stem: list[str]  # a short local name for businesses ("解放", "瑶溪")
    ta_village: list[str]  # "" in the city
    ta_house: np.ndarray  # first house number of the block the area supplies
    ta_sizes: np.ndarray  # customers per area


@dataclass
class Customers:
    n: int
    district: np.ndarray
    ta: np.ndarray
    ctype: np.ndarray
    category: np.ndarray
    voltage: np.ndarray
    contract_kva: np.ndarray
    industry: np.ndarray  # index into INDUSTRY_NAMES, -1 for residents
    important: np.ndarray  # index into IMPORTANT_LEVELS
    template: np.ndarray  # index into names.IMPORTANT_TEMPLATES, -1 if not important
    sensitive: np.ndarray
    opened_on: np.ndarray  # days since 1970-01-01
    status: np.ndarray
    stop_day: np.ndarray  # day index in the data year from which a closed/suspended customer stops; 365 = never
    lat: np.ndarray
    lon: np.ndarray
    account_no: np.ndarray  # 10-digit integers
    # Text, as indices into the word pools; strings are made per slice by `text.py`.
    surname: np.ndarray
    given1: np.ndarray
    given2: np.ndarray  # -1: one-character given name
    contact_surname: np.ndarray
    contact_given1: np.ndarray
    contact_given2: np.ndarray
    brand: np.ndarray
    kind: np.ndarray
    number: np.ndarray  # house number along the road or in the village
    building: np.ndarray
    entrance: np.ndarray
    floor: np.ndarray
    room: np.ndarray
    phone: np.ndarray  # 11-digit integers
    # Usage model (see usage.py).
    base_kwh: np.ndarray
    cooling: np.ndarray
    heating: np.ndarray
    farming: np.ndarray
    offday: np.ndarray
    festival: np.ndarray
    trend: np.ndarray
    sigma: np.ndarray
    shape: np.ndarray
    prepaid: np.ndarray
    payer: np.ndarray  # 0 punctual, 1 late, 2 in arrears
    channel: np.ndarray  # preferred payment channel, index into usage.CHANNELS


@dataclass
class Vehicles:
    crew: list[str]
    plate: list[str]
    gps_device_id: list[str]
    crew_type: list[str]
    lat: np.ndarray
    lon: np.ndarray


@dataclass
class CityPlan:
    seed: int
    data_end: dt.date
    districts: tuple[DistrictSpec, ...]
    topology: Topology
    customers: Customers
    vehicles: Vehicles
    network: Network
    managers: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)  # unit code → (name, phone, title)

    @property
    def n(self) -> int:
        return self.customers.n


INDUSTRY_NAMES: tuple[str, ...] = tuple(
    dict.fromkeys(
        [i for cat in ("commercial", "large_industry", "agriculture", "other") for i in names.INDUSTRIES[cat]]
        + [t[1] for t in names.IMPORTANT_TEMPLATES]
    )
)
_INDUSTRY_BY_CATEGORY = {
    CATEGORIES.index(cat): np.array([INDUSTRY_NAMES.index(i) for i in names.INDUSTRIES[cat]])
    for cat in ("commercial", "large_industry", "agriculture", "other")
}
SURNAME_CHARS = [s for s, _ in names.SURNAMES]
_SURNAME_P = np.array([w for _, w in names.SURNAMES]) / sum(w for _, w in names.SURNAMES)


def _district_counts(n: int) -> list[int]:
    counts = [round(n * d.share) for d in DISTRICTS[:-1]]
    counts = [min(c, n - sum(counts[:i])) for i, c in enumerate(counts)]
    return [*counts, n - sum(counts)]


def _topology(seed: int, counts: list[int]) -> Topology:
    rng = rng_for(seed, STREAM_TOPOLOGY)
    ss_stems = [a + b for a in names.SUBSTATION_STEMS_FIRST for b in names.SUBSTATION_STEMS_SECOND]
    roads = [s + k for s in names.ROAD_STEMS for k in names.ROAD_KINDS]
    villages = [a + b for a in names.VILLAGE_FIRST for b in names.VILLAGE_SECOND]
    ss_d, ss_lat, ss_lon, fd_ss, ta_fd, ta_d, ta_sizes = [], [], [], [], [], [], []
    ta_lat, ta_lon = [], []
    n_ss = n_fd = 0
    for d, (spec, n_d) in enumerate(zip(DISTRICTS, counts, strict=True)):
        n_ta = max(1, round(n_d / spec.ta_size))
        per_feeder = 14 if spec.area_class == "urban" else 18
        d_fd = max(1, math.ceil(n_ta / per_feeder))
        d_ss = max(1, math.ceil(d_fd / 8))
        lat, lon = _scatter(rng, np.full(d_ss, spec.lat), np.full(d_ss, spec.lon), spec.radius_deg)
        ss_d.append(np.full(d_ss, d))
        ss_lat.append(lat)
        ss_lon.append(lon)
        # Feeders and areas are spread evenly over their parents, so every parent has at least one child.
        f_parent = np.concatenate(
            [np.full(len(part), i) for i, part in enumerate(np.array_split(np.arange(d_fd), d_ss))]
        )
        f_lat, f_lon = _scatter(rng, lat[f_parent], lon[f_parent], spec.radius_deg * 0.35)
        fd_ss.append(f_parent + n_ss)
        t_parent = np.concatenate(
            [np.full(len(part), i) for i, part in enumerate(np.array_split(np.arange(n_ta), d_fd))]
        )
        t_lat, t_lon = _scatter(rng, f_lat[t_parent], f_lon[t_parent], spec.radius_deg * 0.2)
        ta_fd.append(t_parent + n_fd)
        ta_d.append(np.full(n_ta, d))
        ta_lat.append(t_lat)
        ta_lon.append(t_lon)
        # Area sizes vary around the district's typical size (a Dirichlet share of the district's customers).
        weights = rng.dirichlet(np.full(n_ta, 25.0)) if n_ta > 1 else np.ones(1)
        ta_sizes.append(rng.multinomial(n_d, weights))
        n_ss += d_ss
        n_fd += d_fd
    topo_ss_d = np.concatenate(ss_d).astype(np.int8)
    topo_fd_ss = np.concatenate(fd_ss).astype(np.int32)
    topo_ta_fd = np.concatenate(ta_fd).astype(np.int32)
    topo_ta_d = np.concatenate(ta_d).astype(np.int8)
    sizes = np.concatenate(ta_sizes).astype(np.int32)
    n_ta_all = int(sizes.shape[0])

    # Names and codes: a few thousand rows at most, so plain Python is fine here.
    stems = rng.choice(len(ss_stems), size=n_ss, replace=n_ss > len(ss_stems))
    ss_name = [f"{ss_stems[s]}变" for s in stems]
    seen: dict[str, int] = {}
    for i, nm in enumerate(ss_name):  # the odd duplicate stem (only in huge cities) gets a number
        seen[nm] = seen.get(nm, 0) + 1
        if seen[nm] > 1:
            ss_name[i] = f"{nm[:-1]}{seen[nm]}变"
    ss_code = [f"SS{DISTRICTS[d].digit}{i + 1:04d}" for i, d in enumerate(topo_ss_d.tolist())]
    fd_code, fd_name = [], []
    per_ss: dict[int, int] = {}
    for i, s in enumerate(topo_fd_ss.tolist()):
        per_ss[s] = per_ss.get(s, 0) + 1
        fd_code.append(f"FD{DISTRICTS[topo_ss_d[s]].digit}{i + 1:05d}")
        fd_name.append(f"10kV {ss_name[s][:-1]}{per_ss[s]:02d}线")
    kva_per_customer = np.array([2.2, 1.6, 1.2])[topo_ta_d] * rng.lognormal(0.0, 0.25, n_ta_all)
    need = sizes * kva_per_customer
    ta_kva = RATED_KVA[np.minimum(np.searchsorted(RATED_KVA, need), len(RATED_KVA) - 1)]
    road_idx = rng.integers(0, len(roads), n_ta_all)
    village_idx = rng.integers(0, len(villages), n_ta_all)
    house = rng.integers(1, 400, n_ta_all).astype(np.int32)
    ta_code, ta_name, ta_place, ta_stem, ta_village = [], [], [], [], []
    per_place: dict[str, int] = {}
    for i in range(n_ta_all):
        spec = DISTRICTS[topo_ta_d[i]]
        ta_code.append(f"TA{spec.digit}{i + 1:06d}")
        if spec.area_class == "urban":
            road = roads[road_idx[i]]
            place, stem, village = road, names.ROAD_STEMS[road_idx[i] // len(names.ROAD_KINDS)], ""
        else:
            towns = names.TOWNS[spec.area_class]
            town = towns[topo_fd_ss[topo_ta_fd[i]] % len(towns)]  # a substation supplies one town
            village = villages[village_idx[i]] + "村"
            place, stem = f"{town}镇{village}", town
        per_place[place] = per_place.get(place, 0) + 1
        ta_name.append(f"{place}{per_place[place]}#公变")
        ta_place.append(place)
        ta_stem.append(stem)
        ta_village.append(village)
    return Topology(
        ss_district=topo_ss_d,
        ss_lat=np.concatenate(ss_lat),
        ss_lon=np.concatenate(ss_lon),
        ss_code=ss_code,
        ss_name=ss_name,
        fd_ss=topo_fd_ss,
        fd_code=fd_code,
        fd_name=fd_name,
        ta_fd=topo_ta_fd,
        ta_district=topo_ta_d,
        ta_lat=np.concatenate(ta_lat),
        ta_lon=np.concatenate(ta_lon),
        ta_kva=ta_kva,
        ta_code=ta_code,
        ta_name=ta_name,
        ta_place=ta_place,
        ta_stem=ta_stem,
        ta_village=ta_village,
        ta_house=house,
        ta_sizes=sizes,
    )


def _customers(seed: int, topo: Topology, data_end: dt.date) -> Customers:
    rng = rng_for(seed, STREAM_CUSTOMERS)
    ta = np.repeat(np.arange(topo.ta_sizes.shape[0], dtype=np.int32), topo.ta_sizes)
    n = int(ta.shape[0])
    district = topo.ta_district[ta]
    area = district  # districts are ordered urban, rural, remote

    # Customer type: ~88% low-voltage residents, ~10% low-voltage businesses, ~1.5% high voltage.
    ctype = _pick(rng, _cumulative([[88.5, 10.0, 1.5], [87.5, 11.0, 1.5], [90.0, 9.0, 1.0]]), area)
    # Category by type and area (agriculture mostly outside the city).
    cat_lvb = _pick(rng, _cumulative([[88, 2, 10], [58, 34, 8], [55, 38, 7]]), area)
    cat_hv = _pick(rng, _cumulative([[33, 47, 0, 20], [30, 45, 10, 15], [30, 40, 15, 15]]), area)
    category = np.zeros(n, dtype=np.int8)
    category[ctype == LV_BUSINESS] = np.array([CAT_COMMERCIAL, CAT_AGRICULTURE, CAT_OTHER], np.int8)[
        cat_lvb[ctype == LV_BUSINESS]
    ]
    category[ctype == HV] = np.array([CAT_COMMERCIAL, CAT_INDUSTRY, CAT_AGRICULTURE, CAT_OTHER], np.int8)[
        cat_hv[ctype == HV]
    ]

    voltage = np.zeros(n, dtype=np.int8)
    u = rng.random(n)
    voltage[(ctype == RESIDENT) & (u < 0.06)] = 1
    voltage[(ctype == LV_BUSINESS) & (u < 0.7)] = 1
    hv = ctype == HV
    voltage[hv] = 2 + (u[hv] > 0.88).astype(np.int8) + (u[hv] > 0.98).astype(np.int8)
    # 35/110 kV supply is for big factories and commercial complexes, not farms or schools.
    voltage[hv & ((category == CAT_AGRICULTURE) | (category == CAT_OTHER))] = 2

    # Contract capacity (kVA): residents 4–12 kVA, shops 5–100, high voltage from transformer sizes upwards.
    kva = np.empty(n, dtype=np.float64)
    res_kva = np.array([4.0, 6.0, 8.0, 10.0])[_pick(rng, _cumulative([[20, 35, 30, 15]]), np.zeros(n, np.int8))]
    kva[:] = np.where(voltage == 1, res_kva * 2, res_kva)
    lvb = ctype == LV_BUSINESS
    kva[lvb] = np.clip(np.round(rng.lognormal(np.log(25), 0.7, int(lvb.sum()))), 5, 100)
    single_phase = lvb & (voltage == 0)  # a 220 V shop is small
    kva[single_phase] = np.minimum(kva[single_phase], rng.choice([8.0, 10.0, 12.0, 16.0, 20.0], n)[single_phase])
    hv_kva = HV_KVA_10[np.clip(np.round(rng.normal(5.0, 2.5, n)).astype(int), 0, len(HV_KVA_10) - 1)]
    # 大工业 (large industry) starts at 315 kVA by tariff rule.
    hv_kva = np.where(category == CAT_INDUSTRY, np.maximum(hv_kva, 315), hv_kva)
    hv_kva = np.where(voltage == 3, rng.choice([6300, 8000, 10000, 12500, 20000, 31500], n), hv_kva)
    hv_kva = np.where(voltage == 4, rng.choice([31500, 40000, 50000, 63000], n), hv_kva)
    kva[hv] = hv_kva[hv]

    industry = np.full(n, -1, dtype=np.int16)
    for cat, pool in _INDUSTRY_BY_CATEGORY.items():
        sel = (category == cat) & (ctype != RESIDENT)
        industry[sel] = pool[rng.integers(0, len(pool), int(sel.sum()))]

    # Important customers (重要客户): a couple per cent of the high-voltage ones, at least a few in any city.
    important = np.zeros(n, dtype=np.int8)
    template = np.full(n, -1, dtype=np.int16)
    hv_idx = np.flatnonzero(hv)
    k = min(len(hv_idx), max(3, round(0.02 * len(hv_idx))))
    if k:
        chosen = np.sort(rng.choice(hv_idx, size=k, replace=False))
        tpl = rng.integers(0, len(names.IMPORTANT_TEMPLATES), k)
        template[chosen] = tpl
        grades = _cumulative([list(t[3]) for t in names.IMPORTANT_TEMPLATES])
        important[chosen] = 1 + _pick(rng, grades, tpl)
        category[chosen] = np.array([CATEGORIES.index(t[2]) for t in names.IMPORTANT_TEMPLATES], np.int8)[tpl]
        industry[chosen] = np.array([INDUSTRY_NAMES.index(t[1]) for t in names.IMPORTANT_TEMPLATES], np.int16)[tpl]
        kva[chosen] = np.maximum(kva[chosen], 630)

    sensitive = rng.random(n) < 0.005
    # Opening dates over 30 years, a little more often recently as the city grew.
    age = np.floor(30 * 365.25 * rng.random(n) ** 1.1).astype(np.int32)
    opened_on = (np.int32((data_end - dt.date(1970, 1, 1)).days) - age).astype(np.int32)
    u = rng.random(n)
    p_suspend = np.where(ctype == RESIDENT, 0.006, 0.03)
    status = np.where(u < 0.015, CLOSED, np.where(u < 0.015 + p_suspend, SUSPENDED, 0)).astype(np.int8)
    stop_day = np.full(n, 365, dtype=np.int16)
    closed = status == CLOSED
    stop_day[closed] = np.where(rng.random(int(closed.sum())) < 0.4, 0, rng.integers(0, 365, int(closed.sum())))
    susp = status == SUSPENDED
    stop_day[susp] = rng.integers(120, 365, int(susp.sum()))

    spread = np.array([0.0012, 0.004, 0.006])[area]
    lat = topo.ta_lat[ta] + rng.normal(0, 1, n) * spread
    lon = topo.ta_lon[ta] + rng.normal(0, 1, n) * spread / np.cos(np.radians(topo.ta_lat[ta]))

    # Account numbers: "33" + district digit + a 7-digit sequence with small gaps (closed or moved accounts).
    account = np.empty(n, dtype=np.int64)
    digits = np.array([d.digit for d in DISTRICTS])
    for d in range(len(DISTRICTS)):
        sel = np.flatnonzero(district == d)
        seq = np.cumsum(rng.integers(1, 4, sel.shape[0]))
        account[sel] = (330 + digits[d]) * 10_000_000 + seq

    text = rng_for(seed, STREAM_TEXT)
    n_given = len(names.GIVEN_CHARS)
    surname = text.choice(len(SURNAME_CHARS), size=n, p=_SURNAME_P).astype(np.int16)
    given1 = text.integers(0, n_given, n, dtype=np.int16)
    given2 = np.where(text.random(n) < 0.25, -1, text.integers(0, n_given, n)).astype(np.int16)
    contact_surname = text.choice(len(SURNAME_CHARS), size=n, p=_SURNAME_P).astype(np.int16)
    contact_given1 = text.integers(0, n_given, n, dtype=np.int16)
    contact_given2 = np.where(text.random(n) < 0.25, -1, text.integers(0, n_given, n)).astype(np.int16)
    brand = text.integers(0, len(names.BRANDS), n, dtype=np.int16)
    kind = text.integers(0, 1000, n, dtype=np.int16)  # taken modulo the size of whichever pool applies
    number = (topo.ta_house[ta] + text.integers(0, 60, n)).astype(np.int32)
    building = text.integers(1, 31, n, dtype=np.int16)
    entrance = text.integers(1, 5, n, dtype=np.int16)
    floor = text.integers(1, 34, n, dtype=np.int16)
    room = text.integers(1, 5, n, dtype=np.int16)
    prefixes = np.array(names.PHONE_PREFIXES, dtype=np.int64)
    phone = prefixes[text.integers(0, len(prefixes), n)] * 100_000_000 + text.integers(0, 100_000_000, n)

    usage = _usage_parameters(seed, n, ctype, category, voltage, area, kva, important)
    return Customers(
        n=n,
        district=district,
        ta=ta,
        ctype=ctype,
        category=category,
        voltage=voltage,
        contract_kva=np.round(kva, 1),
        industry=industry,
        important=important,
        template=template,
        sensitive=sensitive,
        opened_on=opened_on,
        status=status,
        stop_day=stop_day,
        lat=lat,
        lon=lon,
        account_no=account,
        surname=surname,
        given1=given1,
        given2=given2,
        contact_surname=contact_surname,
        contact_given1=contact_given1,
        contact_given2=contact_given2,
        brand=brand,
        kind=kind,
        number=number,
        building=building,
        entrance=entrance,
        floor=floor,
        room=room,
        phone=phone,
        **usage,
    )


def _usage_parameters(
    seed: int,
    n: int,
    ctype: np.ndarray,
    category: np.ndarray,
    voltage: np.ndarray,
    area: np.ndarray,
    kva: np.ndarray,
    important: np.ndarray,
) -> dict[str, np.ndarray]:
    """Per-customer parameters of the daily-usage model in usage.py (magnitudes in kWh per day)."""
    rng = rng_for(seed, STREAM_USAGE)
    f32 = np.float32
    res = category == CAT_RESIDENT
    com = category == CAT_COMMERCIAL
    ind = category == CAT_INDUSTRY
    agr = category == CAT_AGRICULTURE
    oth = category == CAT_OTHER

    # Residents: a city flat uses ~6 kWh a day, rural homes less; a share of homes stand empty (空置).
    median = np.array([6.0, 5.0, 3.8])[area] * np.where(voltage == 1, 1.8, 1.0)  # 380 V homes: heat pumps, workshops
    base = median * rng.lognormal(0.0, 0.55, n)
    # Non-residents: capacity × 24 h × a load factor typical of the category.
    lf_median = np.select([com, ind, agr, oth], [0.12, 0.35, 0.08, 0.10], 0.1)
    lf_median = np.where((ctype == HV) & com, 0.22, lf_median)
    lf_median = np.where((ctype == HV) & oth, 0.18, lf_median)
    lf_median = np.where(important > 0, 0.3, lf_median)
    lf = np.clip(lf_median * rng.lognormal(0.0, 0.5, n), 0.005, 0.8)
    base = np.where(res, base, kva * 24 * lf)
    vacant_p = np.array([0.06, 0.09, 0.12])[area] * res
    vacant = rng.random(n) < vacant_p
    base = np.where(vacant, rng.uniform(0.0, 0.4, n), base)

    def u(lo: float, hi: float) -> np.ndarray:
        return rng.uniform(lo, hi, n)

    # Sensitivities per degree of cooling (above 24 °C) and heating (below 12 °C) need.
    cooling = np.select([res, com, oth, ind], [u(0.08, 0.22), u(0.06, 0.15), u(0.05, 0.12), u(0.01, 0.04)], 0.0)
    heating = np.select([res, com, oth], [u(0.03, 0.09), u(0.01, 0.05), u(0.01, 0.04)], 0.0)
    farming = np.where(agr, u(0.8, 2.5), 0.0)  # summer irrigation and spring tea processing
    # Weekends and public holidays: homes use more, offices and factories less, shops either way.
    offday = np.select([res, com, ind, oth], [u(1.03, 1.12), u(0.55, 1.15), u(0.75, 0.95), u(0.4, 0.7)], 1.0)
    # Spring Festival: factories stop, shops half close; city homes empty out while villages fill up.
    festival = np.select(
        [res & (area == 0), res, com, ind, oth, agr],
        [u(0.1, 0.2), u(-0.35, -0.15), u(0.2, 0.5), u(0.5, 0.8), u(0.3, 0.5), u(0.0, 0.2)],
        0.0,
    )
    trend = rng.normal(0.02, 0.06, n)  # yearly growth: new appliances, EVs, business growth or decline
    sigma = np.select([res, com, ind, agr], [0.18, 0.12, 0.08, 0.25], 0.12) * np.where(vacant, 2.0, 1.0)
    is_hv_night = (ctype == HV) & (rng.random(n) < 0.08)  # ice storage, electric boilers
    shift = rng.random(n) < 0.5
    shape = np.select(
        [res, agr | is_hv_night, ind & shift, ind, com | oth],
        [SHAPE_DOUBLE_PEAK, SHAPE_NIGHT, SHAPE_FLAT, SHAPE_DAY_SHIFT, SHAPE_DAYTIME],
        SHAPE_DAYTIME,
    )
    # 费控 (prepaid smart-meter) accounts: most homes, some shops, no high-voltage customers.
    prepaid = rng.random(n) < np.select([ctype == RESIDENT, ctype == LV_BUSINESS], [0.6, 0.3], 0.0)
    payer = _pick(rng, _cumulative([[90, 8, 2]]), np.zeros(n, np.int8))
    # Channels: 微信, 支付宝, 网银, 营业厅, 代扣 (see usage.CHANNELS); businesses prefer online banking.
    channel = _pick(rng, _cumulative([[40, 30, 5, 10, 15], [10, 5, 50, 10, 25]]), (ctype != RESIDENT).astype(np.int8))
    return {
        "base_kwh": base.astype(f32),
        "cooling": cooling.astype(f32),
        "heating": heating.astype(f32),
        "farming": farming.astype(f32),
        "offday": offday.astype(f32),
        "festival": festival.astype(f32),
        "trend": trend.astype(f32),
        "sigma": sigma.astype(f32),
        "shape": shape.astype(np.int8),
        "prepaid": prepaid,
        "payer": payer,
        "channel": channel,
    }


def _org(seed: int) -> tuple[Vehicles, dict[str, list[tuple[str, str, str]]]]:
    from gridcare.demo.spec import GPS_PREFIX, PLATE_PREFIX, SITES, VEHICLES_PER_CREW

    rng = rng_for(seed, STREAM_ORG)
    sites = {s.code: s for s in SITES}
    managers: dict[str, list[tuple[str, str, str]]] = {}
    for unit in UNITS:
        titles = ("总经理", "副总经理") if unit.kind == "company" else ("主任", "副主任")
        if unit.kind == "crew":
            titles = ("班长", "副班长")
        people = []
        for title in titles:
            given = rng.integers(0, len(names.GIVEN_CHARS), 2)
            name = SURNAME_CHARS[rng.choice(len(SURNAME_CHARS), p=_SURNAME_P)] + "".join(
                names.GIVEN_CHARS[i] for i in given
            )
            phone = f"{names.PHONE_PREFIXES[rng.integers(len(names.PHONE_PREFIXES))]}{rng.integers(10**8):08d}"
            people.append((name, phone, title))
        managers[unit.code] = people
    crews = [u for u in UNITS if u.kind == "crew"]
    count = len(crews) * VEHICLES_PER_CREW
    numbers = rng.choice(9000, size=count, replace=False) + 1000
    crew_of, lat, lon, crew_type = [], [], [], []
    for i, crew in enumerate(crews):
        site = sites[crew.site]
        for j in range(VEHICLES_PER_CREW):
            crew_of.append(crew.code)
            crew_type.append(CREW_TYPES[(i + j) % len(CREW_TYPES)])
            lat.append(site.lat + rng.normal(0, 0.002))
            lon.append(site.lon + rng.normal(0, 0.002))
    return Vehicles(
        crew=crew_of,
        plate=[f"{PLATE_PREFIX}{x}" for x in numbers.tolist()],
        gps_device_id=[f"{GPS_PREFIX}{i + 1:04d}" for i in range(count)],
        crew_type=crew_type,
        lat=np.array(lat),
        lon=np.array(lon),
    ), managers


def plan_city(*, seed: int, customers: int, data_end: dt.date) -> CityPlan:
    """Everything about the demo city that the seed decides; no database, no files, no clock."""
    if seed < 0:
        raise ValueError("seed must be zero or positive")
    if not 1 <= customers <= MAX_CUSTOMERS:
        raise ValueError(f"customers must be between 1 and {MAX_CUSTOMERS}")
    topo = _topology(seed, _district_counts(customers))
    cust = _customers(seed, topo, data_end)
    vehicles, managers = _org(seed)
    network = plan_network(rng_for(seed, STREAM_NETWORK), topo, [d.area_class for d in DISTRICTS])
    return CityPlan(
        seed=seed,
        data_end=data_end,
        districts=DISTRICTS,
        topology=topo,
        customers=cust,
        vehicles=vehicles,
        network=network,
        managers=managers,
    )
