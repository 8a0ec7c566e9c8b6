"""Follow-up tasks: the account manager named on the task sees and completes it from the page with an outcome note
(an audit event), shift leads see and complete any; others get the policy's answers; the admin is read-only."""

from __future__ import annotations

import pytest
from django.test import Client

from gridcare.core.errors import Conflict, ServiceError
from gridcare.core.models import Event
from gridcare.notices import selectors, services
from gridcare.notices.models import FollowUpTask
from tests import factories as f
from tests.conftest import City
from tests.notices.test_outages import NOW, planned


@pytest.fixture
def tasks(city: City) -> dict[str, FollowUpTask]:
    """One task named to the VIP's account manager (the marketing department's handler), one in the unit's queue."""
    vip = f.make_customer(city.north, city.north_net.areas[1], important_level="first", account_manager=city.handler)
    touchy = f.make_customer(city.north, city.north_net.areas[1], is_sensitive=True)
    notice = services.outage_publish(outage=planned(city), actor=None, now=NOW)
    return {
        "named": FollowUpTask.objects.get(notice=notice, customer=vip),
        "queue": FollowUpTask.objects.get(notice=notice, customer=touchy),
    }


def done(client: Client, task: FollowUpTask, note: str = "已电话告知停电安排，客户已备自备电源") -> int:
    return client.post(f"/notices/follow-ups/{task.pk}/done/", {"note": note}).status_code


def test_the_account_manager_sees_their_task_and_completes_it_from_the_page_with_an_audit_event(
    city: City, tasks: dict[str, FollowUpTask], client: Client
) -> None:
    client.force_login(city.handler)
    page = client.get("/notices/follow-ups/")
    assert page.status_code == 200
    body = page.content.decode()
    assert tasks["named"].customer.account_no in body and 'data-testid="follow-up-done"' in body
    assert tasks["queue"].customer.account_no not in body  # another unit's queue is not theirs

    assert done(client, tasks["named"]) == 302
    task = FollowUpTask.objects.get(pk=tasks["named"].pk)
    assert task.status == FollowUpTask.Status.DONE and task.note.startswith("已电话告知") and task.done_at
    event = Event.objects.get(action="notice.follow_up_done", subject_id=str(task.pk))
    assert event.actor == city.handler and event.note == task.note
    assert event.old == {"status": "open"} and event.new["status"] == "done"
    # Done once: a second completion changes nothing and says so.
    assert done(client, task) == 302
    assert Event.objects.filter(action="notice.follow_up_done").count() == 1


def test_an_empty_outcome_note_is_refused_and_the_task_stays_open(
    city: City, tasks: dict[str, FollowUpTask], client: Client
) -> None:
    client.force_login(city.handler)
    assert done(client, tasks["named"], note="   ") == 302
    assert FollowUpTask.objects.get(pk=tasks["named"].pk).status == FollowUpTask.Status.OPEN
    with pytest.raises(ServiceError, match="跟进结果"):
        services.follow_up_complete(task=tasks["named"], note="", actor=city.handler, now=NOW)
    services.follow_up_complete(task=tasks["named"], note="已联系", actor=city.handler, now=NOW)
    with pytest.raises(Conflict):
        services.follow_up_complete(task=tasks["named"], note="再次", actor=city.handler, now=NOW)


def test_who_sees_which_task(city: City, tasks: dict[str, FollowUpTask]) -> None:
    def seen(user: object) -> set[int]:
        return set(selectors.follow_ups_visible(user=user).values_list("pk", flat=True))

    named, queue = tasks["named"].pk, tasks["queue"].pk
    assert seen(city.handler) == {named}  # by name, although the customer is in another unit
    assert seen(city.dispatcher_north) == {queue}  # the unit's queue, not a task named to someone else
    assert seen(city.dispatcher_south) == set()
    assert seen(city.shift_lead) == {named, queue} and seen(city.admin) == {named, queue}


def test_only_the_named_manager_a_shift_lead_or_an_administrator_may_complete_a_task(
    city: City, tasks: dict[str, FollowUpTask]
) -> None:
    def as_user(user: object, task: FollowUpTask) -> int:
        c = Client()
        c.force_login(user)  # type: ignore[arg-type]
        return done(c, task)

    # Not theirs: the role's 403, which says nothing about the task (as for every action of the policy table).
    assert as_user(city.agent, tasks["named"]) == 403
    assert as_user(city.dispatcher_south, tasks["queue"]) == 403
    assert as_user(city.dispatcher_north, tasks["named"]) == 403  # named to someone else, even in their unit
    assert as_user(city.crew_member, tasks["queue"]) == 403  # a crew under the unit does not hold its queue
    assert FollowUpTask.objects.filter(status=FollowUpTask.Status.DONE).count() == 0
    assert as_user(city.dispatcher_north, tasks["queue"]) == 302  # the unit's queue is worked by its people
    assert as_user(city.shift_lead, tasks["named"]) == 302  # the shift lead may close any task
    assert FollowUpTask.objects.filter(status=FollowUpTask.Status.DONE).count() == 2


def test_an_administrator_completes_any_task(city: City, tasks: dict[str, FollowUpTask], client: Client) -> None:
    client.force_login(city.admin)
    assert done(client, tasks["named"]) == 302
    assert FollowUpTask.objects.get(pk=tasks["named"].pk).status == FollowUpTask.Status.DONE


def test_the_admin_shows_tasks_read_only_so_no_edit_bypasses_the_audit_event(
    city: City, tasks: dict[str, FollowUpTask], client: Client
) -> None:
    client.force_login(city.admin)
    url = f"/admin/notices/followuptask/{tasks['named'].pk}/change/"
    assert client.get(url).status_code == 200
    r = client.post(url, {"status": "done", "note": "后台改的"})
    assert r.status_code == 403
    assert FollowUpTask.objects.get(pk=tasks["named"].pk).status == FollowUpTask.Status.OPEN
