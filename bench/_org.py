"""The smallest organisation a repair benchmark needs: a company, its 95598 centre with an agent, one repair centre.
Call inside a transaction after migrating; shared by bench_repair.py and bench_storm_online.py."""

from __future__ import annotations

from typing import Any


def repair_org() -> tuple[Any, Any]:
    """Returns (the repair centre, an agent of the 95598 centre)."""
    from gridcare.org.roles import Role
    from gridcare.org.services import ManagerSpec, orgunit_create, site_create, user_create

    site = site_create(code="S", name="城区", actor=None)
    mgr = [ManagerSpec("甲", "13900000001"), ManagerSpec("乙", "13900000002")]
    company = orgunit_create(code="C", name="公司", kind="company", site=site, duty_phone="1", managers=mgr, actor=None)
    center = orgunit_create(
        code="95598", name="95598", kind="center_95598", site=site, duty_phone="2", managers=mgr, parent=company,
        scope_unit=company, actor=None,
    )  # fmt: skip
    rc = orgunit_create(
        code="RC", name="报修中心", kind="repair_center", site=site, duty_phone="3", managers=mgr, parent=company,
        actor=None,
    )  # fmt: skip
    agent = user_create(username="agent", password=None, role=Role.AGENT, unit=center, actor=None)
    return rc, agent
