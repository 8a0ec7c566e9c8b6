"""E-mail over SMTP with STARTTLS or implicit TLS and LOGIN/PLAIN authentication, against a real aiosmtpd server
that requires both, with a self-signed certificate made for the test run by the openssl command."""

from __future__ import annotations

import datetime as dt
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from django.core.exceptions import ImproperlyConfigured

from gridcare.notices import delivery, services
from gridcare.notices.audiences import Audience
from gridcare.notices.config import load_config
from gridcare.notices.models import Message, MessageStatus, Notice
from tests.conftest import City
from tests.notices.conftest import SmtpSink, free_port, make_config

# The implicit-TLS server is encrypted from the first byte; aiosmtpd only sees that AUTH is not gated on STARTTLS.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

SH = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 10, 8, 10, 0, tzinfo=SH)
USER, PASSWORD = "notices@gridcare.test", "s3cret-Pa55"


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A throwaway self-signed certificate for 127.0.0.1 and localhost (never stored in the repository)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a test certificate (apt-get install openssl)")
    folder = tmp_path_factory.mktemp("smtp-tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return Certificate(cert, key)


@dataclass
class SecureSmtp(SmtpSink):
    mode: str = "starttls"
    logins: list[tuple[str, str, bool]] = field(default_factory=list)  # (mechanism, login, accepted)
    ciphers: list[Any] = field(default_factory=list)

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == (USER, PASSWORD)
        login = data.login.decode() if isinstance(data, LoginPassword) else ""
        self.logins.append((mechanism, login, ok))
        return AuthResult(success=ok, handled=False)  # not handled: the server answers 535 itself

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.ciphers.append(server.transport.get_extra_info("cipher"))
        return await super().handle_DATA(server, session, envelope)


def start_server(certificate: Certificate, mode: str) -> tuple[SecureSmtp, Controller]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate.cert, certificate.key)
    sink = SecureSmtp("127.0.0.1", free_port(), mode=mode)
    common: dict[str, Any] = {"hostname": sink.host, "port": sink.port, "authenticator": sink.authenticate}
    if mode == "starttls":
        # Nothing but EHLO/STARTTLS before TLS, no AUTH before TLS, no mail before AUTH.
        controller = Controller(
            sink, tls_context=context, require_starttls=True, auth_required=True, auth_require_tls=True, **common
        )
    else:
        # Implicit TLS: the connection is encrypted from the first byte, so AUTH is offered at once.
        controller = Controller(sink, ssl_context=context, auth_required=True, auth_require_tls=False, **common)
    controller.start()
    return sink, controller


@pytest.fixture(params=["starttls", "ssl"])
def secure_smtp(request: pytest.FixtureRequest, certificate: Certificate) -> Iterator[SecureSmtp]:
    sink, controller = start_server(certificate, request.param)
    try:
        yield sink
    finally:
        controller.stop()


def smtp_env(sink: SecureSmtp, certificate: Certificate, **env: str) -> dict[str, str]:
    return {
        "GRIDCARE_SMTP_HOST": sink.host,
        "GRIDCARE_SMTP_PORT": str(sink.port),
        "GRIDCARE_SMTP_STARTTLS": "yes" if sink.mode == "starttls" else "no",
        "GRIDCARE_SMTP_SSL": "yes" if sink.mode == "ssl" else "no",
        "GRIDCARE_SMTP_USER": USER,
        "GRIDCARE_SMTP_PASSWORD": PASSWORD,
        "GRIDCARE_SMTP_CA_FILE": str(certificate.cert),
        **env,
    }


def mail_to_two(city: City) -> Notice:
    for i, c in enumerate([city.north_customer, city.south_customer]):
        services.preference_set(customer=c, channel="email", address=f"kehu{i}@example.cn", actor=None, now=NOW)
    return services.announcement_send(
        title="电价调整公告",
        text="自11月1日起执行新的分时电价。",
        audience=Audience(account_nos=[city.north_customer.account_no, city.south_customer.account_no]),
        channels=["email"],
        actor=None,
        now=NOW,
    )


@pytest.mark.parametrize("auth", ["login", "plain", "auto"])
def test_right_credentials_deliver_over_tls_with_the_chosen_mechanism(
    city: City, secure_smtp: SecureSmtp, certificate: Certificate, auth: str, use_config: Any, tmp_path: Path
) -> None:
    use_config(make_config(tmp_path, **smtp_env(secure_smtp, certificate, GRIDCARE_SMTP_AUTH=auth)))
    notice = mail_to_two(city)
    assert delivery.deliver_all(NOW) == 2
    assert set(Message.objects.filter(notice=notice).values_list("status", flat=True)) == {MessageStatus.SENT}
    assert sorted(m["To"] for m in secure_smtp.messages) == ["kehu0@example.cn", "kehu1@example.cn"]
    assert "分时电价" in secure_smtp.messages[0].get_content()
    # One authenticated connection for the batch, encrypted for every message.
    accepted = [(mech, login) for mech, login, ok in secure_smtp.logins if ok]
    assert len(accepted) == 1 and accepted[0][1] == USER
    if auth != "auto":
        assert accepted[0][0] == auth.upper()
    assert len(secure_smtp.ciphers) == 2 and all(c is not None for c in secure_smtp.ciphers)


def test_wrong_credentials_fail_with_the_servers_answer_and_are_retried_then_dead_lettered(
    city: City, secure_smtp: SecureSmtp, certificate: Certificate, use_config: Any, tmp_path: Path
) -> None:
    env = smtp_env(
        secure_smtp,
        certificate,
        GRIDCARE_SMTP_PASSWORD="not-the-password",
        GRIDCARE_SMTP_AUTH="login",  # one mechanism, so each connection makes exactly one login attempt
        GRIDCARE_NOTICE_MAX_ATTEMPTS="2",
        GRIDCARE_NOTICE_BACKOFF_SECONDS="60",
    )
    use_config(make_config(tmp_path, **env))
    notice = mail_to_two(city)
    assert delivery.deliver_all(NOW) == 2
    for msg in Message.objects.filter(notice=notice):
        assert msg.status == MessageStatus.QUEUED and msg.attempts == 1
        assert msg.next_attempt_at == NOW + dt.timedelta(seconds=60)
        assert "认证失败" in msg.last_error and "535" in msg.last_error
        assert "Authentication credentials invalid" in msg.last_error  # the server's own words
        [entry] = msg.log.all()
        assert entry.outcome == "retry" and "535" in entry.detail
    # The batch connected and tried to log in once, not once per message.
    assert secure_smtp.logins == [("LOGIN", USER, False)]

    assert delivery.deliver_all(NOW + dt.timedelta(seconds=60)) == 2
    for msg in Message.objects.filter(notice=notice):
        assert msg.status == MessageStatus.DEAD and msg.attempts == 2
        assert list(msg.log.values_list("outcome", flat=True)) == ["retry", "dead"]
    assert secure_smtp.messages == []
    assert delivery.deliver_all(NOW + dt.timedelta(hours=1)) == 0


def test_a_certificate_nobody_vouched_for_is_refused_unless_checking_is_turned_off(
    city: City, secure_smtp: SecureSmtp, certificate: Certificate, use_config: Any, tmp_path: Path
) -> None:
    env = smtp_env(secure_smtp, certificate)
    del env["GRIDCARE_SMTP_CA_FILE"]  # the self-signed certificate is not in the system's trust store
    use_config(make_config(tmp_path, **env))
    notice = mail_to_two(city)
    delivery.deliver_all(NOW)
    msg = Message.objects.filter(notice=notice).first()
    assert msg is not None and msg.status == MessageStatus.QUEUED
    assert "CERTIFICATE_VERIFY_FAILED" in msg.last_error
    assert secure_smtp.messages == [] and secure_smtp.logins == []  # the password never left

    use_config(make_config(tmp_path, **env, GRIDCARE_SMTP_VERIFY="no"))
    assert delivery.deliver_all(NOW + dt.timedelta(minutes=5)) == 2
    assert len(secure_smtp.messages) == 2


def test_a_server_that_requires_starttls_is_not_given_mail_in_clear(
    city: City, certificate: Certificate, use_config: Any, tmp_path: Path
) -> None:
    sink, controller = start_server(certificate, "starttls")
    try:
        use_config(make_config(tmp_path, GRIDCARE_SMTP_HOST=sink.host, GRIDCARE_SMTP_PORT=str(sink.port)))
        notice = mail_to_two(city)
        delivery.deliver_all(NOW)
    finally:
        controller.stop()
    msg = Message.objects.filter(notice=notice).first()
    assert msg is not None and msg.status == MessageStatus.QUEUED  # a set-up problem: retried, not failed
    assert "530" in msg.last_error and sink.messages == []


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"GRIDCARE_SMTP_STARTTLS": "yes", "GRIDCARE_SMTP_SSL": "yes"}, "GRIDCARE_SMTP_SSL"),
        ({"GRIDCARE_SMTP_USER": USER}, "GRIDCARE_SMTP_USER"),
        ({"GRIDCARE_SMTP_STARTTLS": "yes", "GRIDCARE_SMTP_AUTH": "cram-md5"}, "GRIDCARE_SMTP_AUTH"),
        ({"GRIDCARE_SMTP_CA_FILE": "/nonexistent/ca.pem"}, "GRIDCARE_SMTP_CA_FILE"),
        ({"GRIDCARE_SMTP_VERIFY": "maybe"}, "GRIDCARE_SMTP_VERIFY"),
    ],
)
def test_smtp_settings_that_conflict_or_would_send_a_password_in_clear_are_refused(
    env: dict[str, str], named: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=named):
        load_config({"GRIDCARE_SMTP_HOST": "mail.example.cn", **env})


def test_implicit_tls_defaults_to_port_465_and_a_trusted_relay_may_take_a_password_in_clear() -> None:
    assert load_config({"GRIDCARE_SMTP_HOST": "mail.example.cn", "GRIDCARE_SMTP_SSL": "yes"}).smtp.port == 465
    relay = load_config(
        {"GRIDCARE_SMTP_HOST": "127.0.0.1", "GRIDCARE_SMTP_USER": "u", "GRIDCARE_SMTP_PLAINTEXT_AUTH": "yes"}
    )
    assert relay.smtp.user == "u" and relay.smtp.port == 25
