"""Units, managers, roles and the data scope that keeps one repair centre out of another's data."""

from __future__ import annotations

import pytest

from gridcare.core.errors import ServiceError
from gridcare.core.models import Event
from gridcare.customers.selectors import customers_visible
from gridcare.org.models import OrgUnit
from gridcare.org.roles import Role
from gridcare.org.scope import units_visible
from gridcare.org.services import ManagerSpec, orgunit_create, user_create
from tests import factories as f
from tests.conftest import City


def test_a_unit_needs_two_managers(db: None) -> None:
    with pytest.raises(ServiceError, match="至少需要 2 名负责人"):
        orgunit_create(
            code="X",
            name="X",
            kind=OrgUnit.Kind.CREW,
            site=f.make_site(),
            duty_phone="1",
            managers=[ManagerSpec("a", "1")],
            actor=None,
        )
    assert not OrgUnit.objects.filter(code="X").exists()


def test_unit_paths_form_a_tree_and_creation_is_audited(city: City) -> None:
    assert city.crew_north.path == f"{city.north.path}{city.crew_north.pk}/"
    assert city.crew_north.path.startswith(city.company.path)
    assert Event.objects.filter(action="orgunit.create", subject_id=str(city.crew_north.pk)).exists()
    assert city.crew_north.managers.count() == 2


def test_same_site_rule(city: City) -> None:
    assert city.north.same_site(city.crew_north)
    assert not city.north.same_site(city.south)


def test_repair_centre_user_sees_only_its_own_customers(city: City) -> None:
    visible = set(customers_visible(user=city.dispatcher_north))
    assert city.north_customer in visible
    assert city.south_customer not in visible


def test_crew_sees_its_repair_centres_area_through_the_scope_unit(city: City) -> None:
    visible = set(customers_visible(user=city.crew_member))
    assert visible == {city.north_customer}


def test_95598_agents_see_the_whole_company_and_admins_everything(city: City) -> None:
    both = {city.north_customer, city.south_customer}
    assert set(customers_visible(user=city.agent)) == both
    assert set(customers_visible(user=city.admin)) == both
    assert city.south in set(units_visible(city.admin))
    assert city.south not in set(units_visible(city.dispatcher_north))


def test_every_role_exists() -> None:
    assert {r.value for r in Role} == {
        "agent",
        "shift_lead",
        "dispatcher",
        "crew",
        "department",
        "quality",
        "analyst",
        "admin",
        "ivr",  # the IVR system's own account (storm mode's lookup and one-line call)
    }


def test_user_without_unit_is_refused_unless_admin(db: None) -> None:
    with pytest.raises(ServiceError, match="必须属于一个单位"):
        user_create(username="x", password="p" * 10, role=Role.AGENT, unit=None, actor=None)
    admin = user_create(username="root2", password="p" * 10, role=Role.ADMIN, unit=None, actor=None)
    assert admin.is_superuser and admin.is_staff
