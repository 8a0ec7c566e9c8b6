"""Turns the plan's word indices into the strings stored in the ledger (names, addresses, phones, codes).

Works on a slice of customers at a time, so a million customers never sit in memory as Python strings at once.
"""

from __future__ import annotations

import numpy as np

from gridcare.demo import names
from gridcare.demo.plan import (
    CAT_AGRICULTURE,
    CAT_OTHER,
    CATEGORIES,
    HV,
    SURNAME_CHARS,
    CityPlan,
)

_SURNAMES = np.array(SURNAME_CHARS, dtype=object)
_GIVEN = np.array([*names.GIVEN_CHARS, ""], dtype=object)  # index -1 → "" (one-character given names)


def person_names(surname: np.ndarray, given1: np.ndarray, given2: np.ndarray) -> list[str]:
    # Object arrays concatenate element-wise in C, much faster than a Python loop over a million rows.
    return list(_SURNAMES[surname] + _GIVEN[given1] + _GIVEN[given2])


def account_numbers(plan: CityPlan, lo: int, hi: int) -> list[str]:
    return list(map(str, plan.customers.account_no[lo:hi].tolist()))


def phones(plan: CityPlan, lo: int, hi: int) -> list[str]:
    return list(map(str, plan.customers.phone[lo:hi].tolist()))


def service_point_codes(accounts: list[str]) -> list[str]:
    return ["JLD" + a for a in accounts]  # 计量点 code follows the account it supplies


def meter_numbers(accounts: list[str]) -> list[str]:
    # Asset numbers in the provincial style: a fixed prefix, the account and a check digit.
    return [f"3330001{a}{sum(map(int, a)) % 10}" for a in accounts]


def _business_name(plan: CityPlan, i: int) -> str:
    c, topo = plan.customers, plan.topology
    ta = int(c.ta[i])
    stem, village = topo.ta_stem[ta], topo.ta_village[ta]
    brand = names.BRANDS[c.brand[i]]
    kind = int(c.kind[i])
    category = int(c.category[i])
    if c.template[i] >= 0:
        tpl = names.IMPORTANT_TEMPLATES[c.template[i]][0]
        return tpl.format(n=kind % 9 + 1, b=stem)
    if c.ctype[i] == HV:
        words = names.HV_WORDS[CATEGORIES[category]] if CATEGORIES[category] in names.HV_WORDS else ("实业",)
        word = words[kind % len(words)]
        if category == CAT_OTHER:
            return f"{names.CITY}{stem}{word}"
        return f"{names.CITY_SHORT}{brand}{word}有限公司"
    if category == CAT_AGRICULTURE:
        return f"{village or stem}{names.FARM_KINDS[kind % len(names.FARM_KINDS)]}"
    if category == CAT_OTHER:
        return f"{village or topo.ta_place[ta]}{names.PUBLIC_KINDS[kind % len(names.PUBLIC_KINDS)]}"
    return f"{stem}{brand}{names.SHOP_KINDS[kind % len(names.SHOP_KINDS)]}"


def customer_names(plan: CityPlan, lo: int, hi: int) -> list[str]:
    c = plan.customers
    out = person_names(c.surname[lo:hi], c.given1[lo:hi], c.given2[lo:hi])
    for i in np.flatnonzero(c.ctype[lo:hi] != 0).tolist():
        out[i] = _business_name(plan, lo + i)
    return out


def contact_names(plan: CityPlan, lo: int, hi: int, customer_names_: list[str]) -> list[str]:
    """Residents are their own contact; a business names its electrician or accountant."""
    c = plan.customers
    others = person_names(c.contact_surname[lo:hi], c.contact_given1[lo:hi], c.contact_given2[lo:hi])
    is_res = (c.ctype[lo:hi] == 0).tolist()
    return [own if res else other for own, other, res in zip(customer_names_, others, is_res, strict=True)]


def ta_prefixes(plan: CityPlan) -> list[str]:
    topo = plan.topology
    return [
        f"{names.CITY}{plan.districts[d].name}{place}"
        for d, place in zip(topo.ta_district.tolist(), topo.ta_place, strict=True)
    ]


def addresses(plan: CityPlan, lo: int, hi: int, prefixes: list[str]) -> list[str]:
    c, topo = plan.customers, plan.topology
    ta = c.ta[lo:hi]
    urban_home = ((topo.ta_district[ta] == 0) & (c.ctype[lo:hi] == 0)).tolist()
    # City homes sit in the compound at the area's house number; everyone else along the road or village.
    house = np.where(urban_home, topo.ta_house[ta], c.number[lo:hi]).tolist()
    rows = zip(
        ta.tolist(),
        house,
        urban_home,
        c.building[lo:hi].tolist(),
        c.entrance[lo:hi].tolist(),
        c.floor[lo:hi].tolist(),
        c.room[lo:hi].tolist(),
        strict=True,
    )
    return [
        f"{prefixes[t]}{h}号{b}幢{e}单元{f}{r:02d}室" if home else f"{prefixes[t]}{h}号"
        for t, h, home, b, e, f, r in rows
    ]
