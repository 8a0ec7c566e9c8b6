"""The usage model of the demo city: the data year's calendar and weather, daily kWh, bills and 96-point curves.

Pure numpy on slices of a `CityPlan`; every random draw comes from a stream named by the seed and the
block number, so a block gives the same numbers whichever thread computes it and in whatever order.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

import numpy as np

from gridcare.demo.plan import (
    CAT_INDUSTRY,
    CATEGORIES,
    CLOSED,
    LV_BUSINESS,
    RESIDENT,
    STREAM_DAILY,
    STREAM_LOAD96,
    STREAM_PAYMENTS,
    STREAM_WEATHER,
    SUSPENDED,
    CityPlan,
    rng_for,
)

DAYS = 365
EPOCH = dt.date(1970, 1, 1)
ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")
CHANNELS = ("微信", "支付宝", "网银", "营业厅", "代扣")
LOAD96_DAYS = 90
LOAD96_MAX_CUSTOMERS = 1000

# 春节 (Chinese New Year's Day). The demo only needs the years around its data year; a year missing here
# simply has no festival dip rather than failing.
SPRING_FESTIVAL = {
    2020: dt.date(2020, 1, 25), 2021: dt.date(2021, 2, 12), 2022: dt.date(2022, 2, 1),
    2023: dt.date(2023, 1, 22), 2024: dt.date(2024, 2, 10), 2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17), 2027: dt.date(2027, 2, 6), 2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13), 2030: dt.date(2030, 2, 3), 2031: dt.date(2031, 1, 23),
    2032: dt.date(2032, 2, 11),
}  # fmt: skip

# Tariffs in yuan/kWh, roughly Zhejiang's published catalogue prices.
RESIDENT_TIERS = ((230, 0.538), (400, 0.588), (float("inf"), 0.838))  # monthly kWh thresholds
ENERGY_PRICE = {"commercial": 0.70, "large_industry": 0.62, "agriculture": 0.48, "other": 0.66}
CAPACITY_CHARGE = 30.0  # yuan per kVA and month, large industry's basic charge (基本电费)


@dataclass(frozen=True)
class Bill:
    month: dt.date  # first day of the billed month
    lo: int  # day indices of the month in the data year
    hi: int
    issued_on: dt.date
    due_on: dt.date


@dataclass(frozen=True)
class DataYear:
    """The 365 days ending on `data_end` and what the model needs to know about each of them."""

    data_end: dt.date
    first_day: int  # days since 1970-01-01
    day_numbers: np.ndarray  # int32, days since 1970-01-01
    offday: np.ndarray  # weekend or public holiday (make-up working days count as working days)
    festival: np.ndarray  # 0…1: how deep into the Spring Festival shutdown the day is
    cooling: np.ndarray  # degrees above 24 °C (daily mean)
    heating: np.ndarray  # degrees below 12 °C
    farming: np.ndarray  # 0…1: spring tea processing and summer irrigation
    years: np.ndarray  # (day - middle of the year) / 365, for the trend
    temperature: np.ndarray
    bills: tuple[Bill, ...]


def _is_offday(day: dt.date) -> bool:
    import chinese_calendar

    try:
        return not chinese_calendar.is_workday(day)
    except NotImplementedError:  # years the calendar package does not know yet: weekends only
        return day.weekday() >= 5


def _festival_weight(days: list[dt.date]) -> np.ndarray:
    out = np.zeros(len(days), dtype=np.float32)
    for year in {days[0].year, days[-1].year}:
        sf = SPRING_FESTIVAL.get(year)
        if sf is None:
            continue
        delta = np.array([(d - sf).days for d in days], dtype=np.float32)
        # Ramps down a week before, shut from New Year's Eve to day 6, back to work by the Lantern Festival.
        w = np.where((delta >= -2) & (delta <= 6), 1.0, 0.0)
        w = np.where((delta >= -10) & (delta < -2), (delta + 10) / 8, w)
        w = np.where((delta > 6) & (delta <= 20), (20 - delta) / 14, w)
        out = np.maximum(out, w.astype(np.float32))
    return out


def _bills(days: list[dt.date], data_end: dt.date) -> tuple[Bill, ...]:
    """Full calendar months in the year whose bill (issued the 1st of the next month) is out by `data_end`."""
    out = []
    lo = 0
    while lo < len(days):
        start = days[lo]
        hi = lo
        while hi < len(days) and days[hi].month == start.month:
            hi += 1
        issued = days[hi - 1] + dt.timedelta(days=1)
        if start.day == 1 and issued.month != start.month and issued <= data_end:
            out.append(Bill(start, lo, hi, issued, issued.replace(day=25)))
        lo = hi
    return tuple(out)


def data_year(seed: int, data_end: dt.date) -> DataYear:
    days = [data_end - dt.timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    numbers = np.array([(d - EPOCH).days for d in days], dtype=np.int32)
    doy = np.array([d.timetuple().tm_yday for d in days], dtype=np.float64)
    # A Hangzhou-like climate: ~5 °C in January, ~29 °C at the end of July, with spells of a few days.
    rng = rng_for(seed, STREAM_WEATHER)
    spell = np.zeros(DAYS)
    shocks = rng.normal(0.0, 1.2, DAYS)
    for i in range(1, DAYS):
        spell[i] = 0.7 * spell[i - 1] + shocks[i]
    temperature = 17.0 - 12.0 * np.cos(2 * np.pi * (doy - 28) / 365.25) + spell
    farming = np.exp(-(((doy - 205) / 30) ** 2)) + 0.7 * np.exp(-(((doy - 100) / 14) ** 2))
    f32 = np.float32
    return DataYear(
        data_end=data_end,
        first_day=int(numbers[0]),
        day_numbers=numbers,
        offday=np.array([_is_offday(d) for d in days]),
        festival=_festival_weight(days),
        cooling=np.maximum(temperature - 24, 0).astype(f32),
        heating=np.maximum(12 - temperature, 0).astype(f32),
        farming=farming.astype(f32),
        years=((np.arange(DAYS) - DAYS / 2) / 365).astype(f32),
        temperature=temperature.astype(f32),
        bills=_bills(days, data_end),
    )


def daily_kwh(plan: CityPlan, year: DataYear, lo: int, hi: int, block: int) -> np.ndarray:
    """kWh per day for customers lo…hi-1: shape (hi-lo, 365), float32 rounded to 0.1 kWh."""
    c = plan.customers
    rng = rng_for(plan.seed, STREAM_DAILY, block)
    sl = slice(lo, hi)
    col = np.s_[:, None]
    sigma = c.sigma[sl]
    # Day-to-day noise is log-normal with mean 1, so it does not shift the customer's average.
    kwh = rng.standard_normal((hi - lo, DAYS), dtype=np.float32)
    kwh *= sigma[col]
    kwh -= (sigma * sigma / 2)[col]
    np.exp(kwh, out=kwh)
    weather = c.cooling[sl][col] * year.cooling
    weather += c.heating[sl][col] * year.heating
    weather += c.farming[sl][col] * year.farming
    weather += 1.0
    kwh *= weather
    del weather
    kwh *= np.where(year.offday, c.offday[sl][col], np.float32(1.0))
    kwh *= 1.0 - c.festival[sl][col] * year.festival
    kwh *= 1.0 + c.trend[sl][col] * year.years
    kwh *= c.base_kwh[sl][col]
    day = np.arange(DAYS, dtype=np.int32)
    start = c.opened_on[sl] - year.first_day
    np.putmask(kwh, day < start[col], 0.0)  # not yet connected
    stop = c.stop_day[sl][col]
    status = c.status[sl][col]
    np.putmask(kwh, (status == CLOSED) & (day >= stop), 0.0)
    suspended = (status == SUSPENDED) & (day >= stop)  # 暂停: only the standby load is left
    kwh[suspended] *= 0.02
    np.maximum(kwh, 0.0, out=kwh)
    return np.round(kwh, 1, out=kwh)


def monthly_kwh(year: DataYear, kwh: np.ndarray) -> np.ndarray:
    """Sum of daily kWh per bill month: shape (customers, bills), float64."""
    sums = np.zeros((kwh.shape[0], len(year.bills)))
    for j, bill in enumerate(year.bills):
        sums[:, j] = kwh[:, bill.lo : bill.hi].sum(axis=1, dtype=np.float64)
    return sums


def bill_amounts(category: np.ndarray, kva: np.ndarray, kwh: np.ndarray) -> np.ndarray:
    """Yuan per bill; residents pay by monthly tiers (阶梯电价), large industry adds a capacity charge."""
    amount = np.zeros_like(kwh)
    lower = 0.0
    for upper, price in RESIDENT_TIERS:
        amount += np.clip(kwh - lower, 0, upper - lower) * price
        lower = upper
    for name, price in ENERGY_PRICE.items():
        sel = category == CATEGORIES.index(name)
        amount[sel] = kwh[sel] * price
    industry = category == CAT_INDUSTRY
    amount[industry] += (kva[industry] * CAPACITY_CHARGE)[:, None] * (kwh[industry] > 0)
    return np.round(amount, 2)


@dataclass
class Payments:
    customer: np.ndarray  # index into the plan's customers
    month: np.ndarray  # days since 1970, first day of the month
    billed_kwh: np.ndarray
    amount: np.ndarray
    due_on: np.ndarray
    paid_on: np.ndarray  # days since 1970; -1 when unpaid
    channel: np.ndarray  # index into CHANNELS; -1 when unpaid
    balance: np.ndarray  # prepaid balance after the bill, NaN for post-paid accounts


def payments(plan: CityPlan, year: DataYear, lo: int, hi: int, block: int, monthly: np.ndarray) -> Payments:
    """Monthly bills of customers lo…hi-1 and how they were paid, as of the data year's last day."""
    c = plan.customers
    rng = rng_for(plan.seed, STREAM_PAYMENTS, block)
    n, m = hi - lo, len(year.bills)
    sl = slice(lo, hi)
    billed = np.round(monthly)
    amount = bill_amounts(c.category[sl], c.contract_kva[sl], billed)
    month_end = np.array([(b.month - EPOCH).days + (b.hi - b.lo) - 1 for b in year.bills], dtype=np.int32)
    month_lo = np.array([b.lo for b in year.bills])
    issued = np.array([(b.issued_on - EPOCH).days for b in year.bills], dtype=np.int32)
    due = np.array([(b.due_on - EPOCH).days for b in year.bills], dtype=np.int32)
    exists = c.opened_on[sl][:, None] <= month_end[None, :]
    exists &= ~((c.status[sl] == CLOSED)[:, None] & (c.stop_day[sl][:, None] <= month_lo[None, :]))

    payer = c.payer[sl][:, None]
    on_time = issued + rng.integers(0, 24, (n, m))
    late = due + rng.integers(1, 46, (n, m))
    paid = np.where((payer == 0) | ((payer == 1) & (rng.random((n, m)) < 0.4)), on_time, late)
    # Customers in arrears (欠费) stopped paying one to four bills ago.
    stopped = m - rng.integers(1, 5, n)
    paid = np.where((payer == 2) & (np.arange(m)[None, :] >= stopped[:, None]), -1, paid)

    # Prepaid (费控) accounts: the bill is taken from the balance, which the customer tops up when low.
    prepaid = c.prepaid[sl]
    balance = np.full((n, m), np.nan)
    bal = rng.uniform(30, 300, n)
    top_up_p = np.array([0.95, 0.6, 0.25])[c.payer[sl]]
    for j in range(m):
        bal = bal - np.where(exists[:, j], amount[:, j], 0.0)
        low = (bal < 50) & (rng.random(n) < top_up_p)
        bal = np.where(low, bal + (np.ceil((100 - bal) / 100) + rng.integers(0, 3, n)) * 100, bal)
        balance[:, j] = np.round(bal, 2)
    paid = np.where(prepaid[:, None], np.where(balance >= 0, issued[None, :], -1), paid)
    balance[~prepaid] = np.nan
    paid = np.where(paid > (year.data_end - EPOCH).days, -1, paid)

    own = c.channel[sl][:, None]
    channel = np.where(rng.random((n, m)) < 0.9, own, rng.integers(0, len(CHANNELS), (n, m))).astype(np.int8)
    channel[paid < 0] = -1

    rows, cols = np.nonzero(exists)
    return Payments(
        customer=(rows + lo).astype(np.int64),
        month=np.array([(b.month - EPOCH).days for b in year.bills], dtype=np.int32)[cols],
        billed_kwh=billed[rows, cols].astype(np.int64),
        amount=amount[rows, cols],
        due_on=due[cols],
        paid_on=paid[rows, cols].astype(np.int32),
        channel=channel[rows, cols],
        balance=balance[rows, cols],
    )


def load96_sample(plan: CityPlan) -> np.ndarray:
    """Sorted customer indices with 96-point curves: mostly homes, but shops and large customers too."""
    c = plan.customers
    rng = rng_for(plan.seed, STREAM_LOAD96)
    k = min(c.n, LOAD96_MAX_CUSTOMERS)
    groups = [
        np.flatnonzero(c.ctype == RESIDENT),
        np.flatnonzero(c.ctype == LV_BUSINESS),
        np.flatnonzero(c.ctype > LV_BUSINESS),
    ]
    want = [round(k * 0.6), round(k * 0.25)]
    want.append(k - sum(want))
    picked = []
    for group, w in zip(groups, want, strict=True):
        picked.append(rng.choice(group, size=min(w, len(group)), replace=False))
    chosen = np.concatenate(picked)
    if len(chosen) < k:  # a small city lacks large customers: fill up from everyone else
        rest = np.setdiff1d(np.arange(c.n), chosen)
        chosen = np.concatenate([chosen, rng.choice(rest, size=k - len(chosen), replace=False)])
    return np.sort(chosen)


def _shapes() -> np.ndarray:
    """Daily shapes (rows sum to 1) for the plan's SHAPE_* classes, at 15-minute resolution."""
    h = (np.arange(96) + 0.5) / 4

    def bump(centre: float, width: float) -> np.ndarray:
        return np.exp(-(((h - centre) / width) ** 2))

    def window(start: float, end: float) -> np.ndarray:
        return 1 / (1 + np.exp(-(h - start) * 2)) / (1 + np.exp((h - end) * 2))

    shapes = np.stack(
        [
            0.3 + 0.5 * bump(7.5, 1.2) + 0.25 * bump(12, 1.5) + 1.0 * bump(20, 1.8),  # homes: morning and evening
            0.2 + window(8.5, 21),  # shops and offices: the working day
            1.0 - 0.1 * bump(12, 0.8) - 0.05 * bump(18, 0.5),  # three-shift industry
            0.15 + window(8, 17.5) - 0.3 * bump(12, 0.6),  # day-shift industry with a lunch break
            0.15 + window(22, 30) + window(-2, 6),  # night load: irrigation, ice storage, electric boilers
        ]
    )
    return shapes / shapes.sum(axis=1, keepdims=True)


SHAPES = _shapes()


def load96(
    plan: CityPlan, year: DataYear, sample: np.ndarray, daily: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """15-minute kW for the sample over the year's last 90 days: (customer index, UTC epoch seconds, kW).

    `daily` holds the sample's daily kWh for those days, so a curve adds up to the customer's day.
    Timestamps are the start of each interval, from local midnight (Asia/Shanghai).
    """
    rng = rng_for(plan.seed, STREAM_LOAD96, 1)
    k = int(sample.shape[0])
    shift = rng.integers(-4, 5, k)  # households and firms keep slightly different hours
    shapes = SHAPES[plan.customers.shape[sample]]
    shapes = np.stack([np.roll(s, int(d)) for s, d in zip(shapes, shift, strict=True)]) if k else shapes
    noise = rng.lognormal(0.0, 0.08, (k, LOAD96_DAYS, 96))
    kw = daily[:, :, None] * shapes[:, None, :] * 4 * noise  # kWh per quarter hour × 4 = kW
    kw /= noise.mean(axis=2, keepdims=True)
    days = year.day_numbers[-LOAD96_DAYS:]
    midnight = np.array(
        [int(dt.datetime.combine(EPOCH + dt.timedelta(days=int(d)), dt.time(), tzinfo=ZONE).timestamp()) for d in days],
        dtype=np.int64,
    )
    ts = midnight[:, None] + np.arange(96, dtype=np.int64)[None, :] * 900
    return (
        np.repeat(sample.astype(np.int64), LOAD96_DAYS * 96),
        np.tile(ts.ravel(), k),
        np.round(kw.astype(np.float32).ravel(), 3),
    )
