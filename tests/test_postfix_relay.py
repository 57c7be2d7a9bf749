"""A real Postfix, configured by the project's renderer, relaying to an SES stand-in.

Without Postfix (or root) these tests skip with the reason; under CI (``CI=true``)
that is a failure instead, because CI installs Postfix (see .ci/run).
"""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailcore import relay_boot
from tests.relay_harness import (
    LOOPBACK,
    OUTSIDE,
    SECRET,
    SECRET_ID,
    SUBMISSION,
    MetadataStandIn,
    PostfixRelay,
    SesStandIn,
    TestCa,
    free_port,
    postfix_missing,
)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCa:
    reason = postfix_missing()
    if reason and os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but Postfix cannot run: {reason}")
    if reason:
        pytest.skip(reason)
    directory = tmp_path_factory.mktemp("ca")
    directory.chmod(0o755)
    return TestCa(directory)


@pytest.fixture
def standin(ca: TestCa) -> Iterator[SesStandIn]:
    server = SesStandIn(ca).start()
    yield server
    server.stop()


def relay_to(ca: TestCa, port: int) -> PostfixRelay:
    return PostfixRelay(ca, upstream_port=port)


def message(number: int = 1) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "app@example.com"
    mail["To"] = "someone@example.net"
    mail["Subject"] = f"relay test {number}"
    mail.set_content(f"message {number}\n")
    return mail


def submit(relay: PostfixRelay, *, source: str = LOOPBACK, number: int = 1) -> None:
    with smtplib.SMTP(LOOPBACK, relay.port, source_address=(source, 0)) as client:
        client.send_message(message(number))


def test_submitted_mail_arrives_over_tls_authenticated_with_the_secret(
    ca: TestCa, standin: SesStandIn
) -> None:
    with relay_to(ca, standin.port) as relay:
        submit(relay)
        [received] = standin.wait_for(1)
        log = relay.log()

    assert received.tls is True
    assert received.login == SECRET["username"]
    assert received.mail_from == "app@example.com"
    assert received.recipients == ["someone@example.net"]
    assert b"Subject: relay test 1" in received.content
    assert standin.attempts == [(SECRET["username"], True)]
    # Verified against the CA given as smtp_tls_CAfile, not merely encrypted.
    assert f"Trusted TLS connection established to {LOOPBACK}" in log


def test_a_client_outside_the_allowed_networks_is_refused_relaying(
    ca: TestCa, standin: SesStandIn
) -> None:
    with relay_to(ca, standin.port) as relay:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            submit(relay, source=OUTSIDE)
        submit(relay, source=LOOPBACK, number=2)
        [received] = standin.wait_for(1)

    [(code, text)] = refused.value.recipients.values()
    assert code == 554
    assert b"Relay access denied" in text
    assert b"Subject: relay test 2" in received.content


def test_rejected_credentials_keep_mail_queued_until_accepted(
    ca: TestCa, standin: SesStandIn
) -> None:
    standin.accept_credentials = False
    with relay_to(ca, standin.port) as relay:
        submit(relay)
        relay.wait_for_log("status=deferred")
        queued = relay.queue()
        standin.accept_credentials = True
        relay.flush()
        [received] = standin.wait_for(1)
        left = relay.queue()

    assert [entry["recipients"][0]["address"] for entry in queued] == [
        "someone@example.net"
    ]
    assert "authentication failed" in queued[0]["recipients"][0]["delay_reason"]
    assert received.login == SECRET["username"]
    assert left == []


def test_mail_waits_in_the_queue_while_ses_is_down(ca: TestCa) -> None:
    port = free_port()
    with relay_to(ca, port) as relay:
        submit(relay)
        relay.wait_for_log("status=deferred")
        queued = relay.queue()
        standin = SesStandIn(ca, port=port).start()
        try:
            relay.flush()
            [received] = standin.wait_for(1)
        finally:
            standin.stop()

    assert len(queued) == 1
    assert "Connection refused" in queued[0]["recipients"][0]["delay_reason"]
    assert b"Subject: relay test 1" in received.content


def test_nothing_is_sent_in_clear_when_starttls_is_not_offered(ca: TestCa) -> None:
    plain = SesStandIn(ca, starttls=False).start()
    try:
        with relay_to(ca, plain.port) as relay:
            submit(relay)
            relay.wait_for_log("status=deferred")
            queued = relay.queue()
    finally:
        plain.stop()

    assert plain.messages == []
    assert plain.attempts == []
    assert len(queued) == 1
    assert (
        "TLS is required, but was not offered"
        in (queued[0]["recipients"][0]["delay_reason"])
    )


def test_the_relay_runs_in_its_own_folder_and_leaves_it_clean(
    ca: TestCa, standin: SesStandIn
) -> None:
    relay = relay_to(ca, standin.port)
    folder = relay.directory
    mode = Path(relay.files.sasl_passwd_path).stat().st_mode & 0o777
    with relay:
        submit(relay)
        standin.wait_for(1)

    assert mode == 0o600
    assert relay.port != 25
    assert not folder.exists()


@pytest.fixture
def submission_relay(ca: TestCa, standin: SesStandIn) -> Iterator[PostfixRelay]:
    with PostfixRelay(ca, upstream_port=standin.port, submission_auth=True) as relay:
        yield relay


def client_context(ca: TestCa) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca.ca_file))


def test_an_authenticated_client_outside_the_networks_may_relay_on_587(
    ca: TestCa, standin: SesStandIn, submission_relay: PostfixRelay
) -> None:
    port = submission_relay.submission_port
    assert port is not None
    with smtplib.SMTP(LOOPBACK, port, source_address=(OUTSIDE, 0)) as client:
        client.ehlo()
        offered_in_clear = client.has_extn("auth")
        client.starttls(context=client_context(ca))
        client.ehlo()
        client.login(SUBMISSION["username"], SUBMISSION["password"])
        client.send_message(message(7))
    [received] = standin.wait_for(1)

    assert offered_in_clear is False
    assert b"Subject: relay test 7" in received.content
    assert received.login == SECRET["username"]


def test_submission_refuses_a_wrong_password_and_unauthenticated_relaying(
    ca: TestCa, standin: SesStandIn, submission_relay: PostfixRelay
) -> None:
    port = submission_relay.submission_port
    assert port is not None
    with smtplib.SMTP(LOOPBACK, port, source_address=(OUTSIDE, 0)) as client:
        client.starttls(context=client_context(ca))
        with pytest.raises(smtplib.SMTPAuthenticationError) as wrong:
            client.login(SUBMISSION["username"], "not-the-password")
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.send_message(message())

    assert wrong.value.smtp_code == 535
    [(code, text)] = refused.value.recipients.values()
    assert code == 554
    assert b"Relay access denied" in text
    assert standin.messages == []


INSTANCE = "i-0123456789abcdef0"


@pytest.fixture
def metadata(ca: TestCa) -> Iterator[MetadataStandIn]:
    server = MetadataStandIn(instance_id=INSTANCE).start()
    yield server
    server.stop()


def drain(relay: PostfixRelay, metadata: MetadataStandIn) -> str:
    """Run the drain script once, as its timer would, against this relay."""
    return relay.run_boot_script(
        relay_boot.drain_script(
            region="eu-west-1",
            group_name="mail-test-relay",
            hook_name="drain-queue",
            deadline_seconds=30,
            poll_seconds=1,
            credentials_command=relay.credentials_command,
            metadata_url=metadata.url,
            done_path=str(relay.directory / "drain-done"),
            config_directory=str(relay.directory),
        )
    )


def listening(relay: PostfixRelay) -> bool:
    try:
        socket.create_connection((LOOPBACK, relay.port), timeout=1).close()
    except OSError:
        return False
    return True


def test_an_instance_in_service_keeps_its_queue_listeners_and_lifecycle(
    ca: TestCa, metadata: MetadataStandIn
) -> None:
    with relay_to(ca, free_port()) as relay:
        submit(relay)
        relay.wait_for_log("status=deferred")
        output = drain(relay, metadata)
        queued = relay.queue()
        still_listening = listening(relay)
        calls = relay.aws_calls()

    assert output == ""
    assert len(queued) == 1
    assert still_listening is True
    assert calls == []
    assert metadata.refused == []


def test_a_terminating_instance_delivers_its_queue_then_lets_the_group_go_on(
    ca: TestCa, standin: SesStandIn, metadata: MetadataStandIn
) -> None:
    # The relay still holds a key that SES refuses; the secret already has the
    # rotated one, which the drain must fetch before flushing.
    with relay_to(ca, standin.port) as relay:
        relay.store_secret(SECRET_ID, {**SECRET, "password": "rotated-away"})
        relay.run_boot_script(relay.credentials_script)
        relay.store_secret(SECRET_ID, SECRET)
        submit(relay)
        relay.wait_for_log("status=deferred")
        deferred = relay.queue()
        metadata.lifecycle_state = "Terminated"
        output = drain(relay, metadata)
        [received] = standin.messages
        left = relay.queue()
        still_listening = listening(relay)
        again = drain(relay, metadata)
        calls = relay.aws_calls()

    assert "authentication failed" in deferred[0]["recipients"][0]["delay_reason"]
    assert received.login == SECRET["username"]
    assert b"Subject: relay test 1" in received.content
    assert left == []
    assert still_listening is False
    assert calls == [
        [
            "autoscaling",
            "complete-lifecycle-action",
            "--region",
            "eu-west-1",
            "--auto-scaling-group-name",
            "mail-test-relay",
            "--lifecycle-hook-name",
            "drain-queue",
            "--instance-id",
            INSTANCE,
            "--lifecycle-action-result",
            "CONTINUE",
        ]
    ]
    assert f"lifecycle action completed for {INSTANCE}" in output
    assert again == ""
    assert metadata.refused == []
