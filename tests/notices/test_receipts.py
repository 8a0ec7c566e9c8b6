"""Gateway delivery receipts: sent → delivered or failed with the gateway's words, refused cleanly when wrong."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from gridcare.notices import delivery, services
from gridcare.notices.audiences import Audience
from gridcare.notices.models import DeliveryAttempt, Message, MessageStatus, Notice
from gridcare.org.services import token_create
from tests import factories as f
from tests.conftest import City, login
from tests.notices.conftest import Gateway, make_config
from tests.notices.test_delivery import DyingSms, WorkerKilled

SH = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 10, 8, 10, 0, tzinfo=SH)
SECRET = "receipt-secret-7f3a"
URL = "/api/v1/notices/receipts/sms"


@pytest.fixture
def sent(city: City, sms_gateway: Gateway, use_config: Any, tmp_path: Path) -> Notice:
    """An announcement to three customers, sent through the local gateway (which answers with ids gw-1 …)."""
    use_config(make_config(tmp_path, gateway=sms_gateway, GRIDCARE_NOTICE_RECEIPT_TOKEN=SECRET))
    for i in range(2):
        f.make_customer(city.north, city.north_net.areas[i])
    notice = services.announcement_send(
        title="电价调整公告",
        text="自11月1日起执行新的分时电价。",
        audience=Audience(feeders=[city.north_net.feeder]),
        channels=["sms"],
        actor=None,
        now=NOW,
    )
    assert delivery.deliver_all(NOW) == 3
    assert set(Message.objects.filter(notice=notice).values_list("status", flat=True)) == {MessageStatus.SENT}
    return notice


def post(client: Client, body: Any, *, token: str | None = SECRET, url: str = URL, **headers: str) -> Any:
    if token is not None:
        headers["HTTP_X_GRIDCARE_TOKEN"] = token
    return client.post(url, body, content_type="application/json", **headers)


def by_ref(ref: str) -> Message:
    return Message.objects.get(channel="sms", provider_ref=ref)


def refs(notice: Notice) -> list[str]:
    return list(Message.objects.filter(notice=notice).order_by("id").values_list("provider_ref", flat=True))


def test_a_receipt_moves_a_sent_message_to_delivered_or_failed_with_the_gateways_answer_in_the_log(
    sent: Notice, client: Client
) -> None:
    ok_ref, bad_ref, _ = refs(sent)
    assert ok_ref.startswith("gw-") and bad_ref.startswith("gw-")  # the ids the gateway answered with

    r = post(client, {"ref": ok_ref, "delivered": True, "detail": "DELIVRD 2026-10-08 10:00:05"})
    assert r.status_code == 200, r.content
    assert r.json() == {"ref": ok_ref, "status": "delivered", "updated": 1}
    r = post(client, {"ref": bad_ref, "delivered": False, "detail": "UNDELIV MK:0001 空号"})
    assert r.status_code == 200 and r.json()["status"] == "failed"

    ok, bad = by_ref(ok_ref), by_ref(bad_ref)
    assert ok.status == MessageStatus.DELIVERED and ok.delivered_at is not None
    assert bad.status == MessageStatus.FAILED and bad.delivered_at is None and "空号" in bad.last_error
    assert list(ok.log.values_list("outcome", flat=True)) == ["sent", "delivered"]
    assert list(bad.log.values_list("outcome", flat=True)) == ["sent", "failed"]
    assert "DELIVRD 2026-10-08 10:00:05" in ok.log.last().detail  # type: ignore[union-attr]
    failed_entry = bad.log.last()
    assert failed_entry is not None and "UNDELIV MK:0001 空号" in failed_entry.detail
    assert failed_entry.worker == "短信网关回执"
    # The third message was not mentioned and stays sent.
    assert Message.objects.filter(notice=sent, status=MessageStatus.SENT).count() == 1


def test_a_repeated_receipt_is_harmless_and_a_contradicting_one_is_refused(sent: Notice, client: Client) -> None:
    ref = refs(sent)[0]
    body = {"ref": ref, "delivered": True, "detail": "DELIVRD"}
    first = post(client, body)
    again = post(client, body)
    assert first.json()["updated"] == 1
    assert again.status_code == 200 and again.json() == {"ref": ref, "status": "delivered", "updated": 0}
    assert by_ref(ref).log.filter(outcome="delivered").count() == 1

    contra = post(client, {"ref": ref, "delivered": False, "detail": "UNDELIV"})
    assert contra.status_code == 409 and ref in contra.json()["detail"]
    assert by_ref(ref).status == MessageStatus.DELIVERED and by_ref(ref).log.count() == 2


def test_unknown_messages_and_bad_payloads_get_a_4xx_with_a_clear_message_and_write_nothing(
    sent: Notice, client: Client
) -> None:
    ref = refs(sent)[0]
    before_log = DeliveryAttempt.objects.count()

    r = post(client, {"ref": "gw-9999", "delivered": True})
    assert r.status_code == 404 and "gw-9999" in r.json()["detail"]
    r = post(client, {"ref": ref, "delivered": True}, url="/api/v1/notices/receipts/fax")
    assert r.status_code == 404 and "fax" in r.json()["detail"]
    r = post(client, {"ref": ref})
    assert r.status_code == 422 and "delivered" in r.json()["detail"]
    r = post(client, {"ref": ref, "delivered": "perhaps"})
    assert r.status_code == 422 and "delivered" in r.json()["detail"]
    r = post(client, {"ref": "  ", "delivered": True})
    assert r.status_code == 400 and "ref" in r.json()["errors"]
    r = post(client, {"ref": "gw-1\x00", "delivered": True})
    assert r.status_code == 400 and "ref" in r.json()["errors"]
    r = client.post(URL, "ref=gw-1&delivered=1", content_type="text/plain", HTTP_X_GRIDCARE_TOKEN=SECRET)
    assert 400 <= r.status_code < 500
    r = post(client, [{"ref": ref, "delivered": True}])
    assert 400 <= r.status_code < 500
    # Our own key for a message that has not gone out yet: not sent, so no receipt can apply.
    queued = services.announcement_send(
        title="停电提醒",
        text="说明",
        audience=Audience(account_nos=[sent.messages.first().customer.account_no]),  # type: ignore[union-attr]
        channels=["sms"],
        actor=None,
        now=NOW,
    )
    key = Message.objects.get(notice=queued).idempotency_key
    r = post(client, {"ref": key, "delivered": True})
    assert r.status_code == 409 and "尚未发出" in r.json()["detail"]

    assert DeliveryAttempt.objects.count() == before_log
    assert set(Message.objects.filter(notice=sent).values_list("status", flat=True)) == {MessageStatus.SENT}
    assert Message.objects.get(notice=queued).status == MessageStatus.QUEUED


def test_receipts_need_the_gateway_secret_or_an_administrators_token(
    sent: Notice, city: City, client: Client, use_config: Any, tmp_path: Path, sms_gateway: Gateway
) -> None:
    first, second, third = refs(sent)
    body = {"ref": first, "delivered": True}
    assert post(client, body, token=None).status_code == 401
    assert post(client, body, token="wrong-secret").status_code == 401
    login(client, city.agent)  # a signed-in agent may not forge delivery results
    assert post(client, body, token=None).status_code == 403
    client.logout()
    assert by_ref(first).status == MessageStatus.SENT

    # The secret in the query string, for gateways whose callback is only a URL.
    r = client.post(f"{URL}?token={SECRET}", body, content_type="application/json")
    assert r.status_code == 200 and r.json()["updated"] == 1
    _, raw = token_create(user=city.admin, actor=None)
    r = post(client, {"ref": second, "delivered": True}, token=None, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert r.status_code == 200 and by_ref(second).log.last().worker == city.admin.get_username()  # type: ignore[union-attr]

    # Without GRIDCARE_NOTICE_RECEIPT_TOKEN no secret opens the door, not even an empty one.
    use_config(make_config(tmp_path, gateway=sms_gateway))
    assert post(client, {"ref": third, "delivered": True}, token=SECRET).status_code == 401
    assert post(client, {"ref": third, "delivered": True}, token="").status_code == 401
    assert by_ref(third).status == MessageStatus.SENT


def test_a_receipt_settles_a_message_parked_as_uncertain_after_its_worker_died(
    city: City, sms_gateway: Gateway, use_config: Any, tmp_path: Path, client: Client
) -> None:
    config = use_config(make_config(tmp_path, gateway=sms_gateway, GRIDCARE_NOTICE_RECEIPT_TOKEN=SECRET))
    notice = services.announcement_send(
        title="电价调整公告",
        text="说明",
        audience=Audience(account_nos=[city.north_customer.account_no]),
        channels=["sms"],
        actor=None,
        now=NOW,
    )
    with pytest.raises(WorkerKilled):
        delivery.deliver_batch(channel="sms", now=NOW, channel_impl=DyingSms(config, after=0, during_call=True))
    delivery.reap_expired(NOW + dt.timedelta(seconds=config.lease_seconds + 1))
    msg = Message.objects.get(notice=notice)
    assert msg.status == MessageStatus.UNCERTAIN and msg.provider_ref == ""
    # The gateway got it (it echoes our key, the `{ref}` of the request it received) and reports delivery.
    assert sms_gateway.refs() == [msg.idempotency_key]
    r = post(client, {"ref": msg.idempotency_key, "delivered": True, "detail": "DELIVRD"})
    assert r.status_code == 200 and r.json()["status"] == "delivered"
    msg.refresh_from_db()
    assert msg.status == MessageStatus.DELIVERED and msg.sent_at is not None
    assert list(msg.log.values_list("outcome", flat=True)) == ["uncertain", "delivered"]
