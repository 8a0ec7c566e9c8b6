"""The channel registry: a channel declared in a test (no product file touched) is chosen, configured, rate-limited,
queued, delivered and settled by a receipt exactly like a built-in one; and the registry refuses bad declarations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from gridcare.core.errors import ServiceError
from gridcare.notices import delivery, services
from gridcare.notices.audiences import Audience
from gridcare.notices.channels import (
    Envelope,
    NoticeChannel,
    PermanentError,
    Sender,
    SendResult,
    channel_names,
    register,
    unregister,
    validate_channel,
)
from gridcare.notices.forms import PublishForm
from gridcare.notices.models import DeliveryAttempt, Message, MessageStatus
from tests import factories as f
from tests.conftest import City
from tests.notices.conftest import make_config

SH = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 10, 8, 10, 0, tzinfo=SH)
SECRET = "receipt-secret-pigeon"


class Loft:
    """The outer edge a real channel would call (a provider's API): here it keeps what it was given."""

    def __init__(self) -> None:
        self.sent: list[Envelope] = []


LOFT = Loft()


class PigeonChannel(NoticeChannel):
    """A throwaway channel: reaches the address a customer gave in their preferences, needs one setting."""

    name = "pigeon"
    label = "信鸽"
    reaches = "address"
    rate_setting = "GRIDCARE_PIGEON_RATE_PER_MINUTE"
    default_rate_per_minute = 2
    settings = ("GRIDCARE_PIGEON_LOFT",)
    setup_hint = "GRIDCARE_PIGEON_LOFT"

    @classmethod
    def is_configured(cls, config: Any) -> bool:
        return bool(config.extra.get("GRIDCARE_PIGEON_LOFT"))

    @classmethod
    def address_problem(cls, address: str) -> str:
        return "鸽舍编号须以 loft- 开头" if address and not address.startswith("loft-") else ""

    def open(self) -> Sender:
        loft = self.config.extra["GRIDCARE_PIGEON_LOFT"]

        class _Sender:
            def send(self, envelope: Envelope) -> SendResult:
                if not envelope.to:
                    raise PermanentError("客户没有鸽舍编号")
                LOFT.sent.append(envelope)
                return SendResult(provider_ref=f"{loft}-{len(LOFT.sent)}", response="flown")

            def close(self) -> None:
                return None

        return _Sender()


@pytest.fixture
def pigeon() -> Iterator[type[PigeonChannel]]:
    LOFT.sent.clear()
    register(PigeonChannel)
    try:
        yield PigeonChannel
    finally:
        unregister("pigeon")


def test_a_channel_registered_in_a_test_goes_from_queue_to_delivery_to_receipt(
    pigeon: type[PigeonChannel], city: City, use_config: Any, tmp_path: Path, client: Client
) -> None:
    config = use_config(make_config(tmp_path, GRIDCARE_PIGEON_LOFT="north", GRIDCARE_NOTICE_RECEIPT_TOKEN=SECRET))
    assert "pigeon" in channel_names() and config.configured("pigeon")
    assert config.rate_per_minute["pigeon"] == 2  # its own limit, read from its own setting
    assert ("pigeon", "信鸽") in PublishForm().fields["channels"].choices
    c1 = f.make_customer(city.north, city.north_net.areas[0])
    c2 = f.make_customer(city.north, city.north_net.areas[1])
    with pytest.raises(ServiceError, match="loft-"):
        services.preference_set(customer=c1, channel="pigeon", address="roof", actor=None, now=NOW)
    services.preference_set(customer=c1, channel="pigeon", address="loft-7", actor=None, now=NOW)
    services.preference_set(customer=c2, channel="pigeon", address="loft-9", actor=None, now=NOW)
    notice = services.announcement_send(
        title="电价调整公告",
        text="自11月1日起执行新的分时电价。",
        audience=Audience(account_nos=[c1.account_no, c2.account_no]),
        channels=["pigeon"],
        actor=None,
        now=NOW,
    )
    assert set(Message.objects.filter(notice=notice).values_list("channel", "status")) == {("pigeon", "queued")}

    # The shared rate limit lets two through this minute; the rest wait for the next one.
    assert delivery.deliver_all(NOW) == 2
    assert [e.to for e in LOFT.sent] == ["loft-7", "loft-9"]
    sent = Message.objects.get(notice=notice, customer=c1)
    assert sent.status == MessageStatus.SENT and sent.provider_ref == "north-1" and sent.address == "loft-7"
    assert "电价调整公告" in LOFT.sent[0].subject

    r = client.post(
        "/api/v1/notices/receipts/pigeon",
        {"ref": "north-1", "delivered": True, "detail": "landed"},
        content_type="application/json",
        HTTP_X_GRIDCARE_TOKEN=SECRET,
    )
    assert r.status_code == 200, r.content
    assert r.json() == {"ref": "north-1", "status": "delivered", "updated": 1}
    sent.refresh_from_db()
    assert sent.status == MessageStatus.DELIVERED
    assert list(DeliveryAttempt.objects.filter(message=sent).values_list("outcome", flat=True)) == [
        "sent",
        "delivered",
    ]


def test_an_unconfigured_registered_channel_is_refused_naming_its_setting(
    pigeon: type[PigeonChannel], use_config: Any, tmp_path: Path, city: City
) -> None:
    use_config(make_config(tmp_path))
    with pytest.raises(ServiceError, match="GRIDCARE_PIGEON_LOFT"):
        services.announcement_send(
            title="公告",
            text="正文",
            audience=Audience(feeders=[city.north_net.feeder]),
            channels=["pigeon"],
            actor=None,
        )


def test_after_unregistering_the_name_is_unknown_to_validation_and_receipts(
    city: City, use_config: Any, tmp_path: Path, client: Client
) -> None:
    register(PigeonChannel)
    validate_channel("pigeon")
    unregister("pigeon")
    with pytest.raises(ValidationError, match="pigeon"):
        validate_channel("pigeon")
    use_config(make_config(tmp_path, GRIDCARE_NOTICE_RECEIPT_TOKEN=SECRET))
    r = client.post(
        "/api/v1/notices/receipts/pigeon",
        {"ref": "north-1", "delivered": True},
        content_type="application/json",
        HTTP_X_GRIDCARE_TOKEN=SECRET,
    )
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("name", "reaches", "message"),
    [("Pigeon", "address", "lower-case"), ("a" * 17, "address", "at most 16"), ("dove", "roof", "reaches")],
)
def test_the_registry_refuses_a_bad_declaration(name: str, reaches: str, message: str) -> None:
    bad = type("Bad", (NoticeChannel,), {"name": name, "label": "x", "reaches": reaches})
    with pytest.raises(ValueError, match=message):
        register(bad)
    assert name not in channel_names()


def test_a_second_class_cannot_take_a_built_in_name() -> None:
    impostor = type("Impostor", (NoticeChannel,), {"name": "sms", "label": "x"})
    with pytest.raises(ValueError, match="taken"):
        register(impostor)
    assert channel_names()[:4] == ("sms", "email", "inapp", "outbox")
