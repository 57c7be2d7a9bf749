"""``mailctl send-test`` against an SES SMTP stand-in requiring STARTTLS and AUTH."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from mailctl.cli import main
from tests.smtp_standin import UNVERIFIED_REPLY, SesStandIn, make_certificate

pytestmark = pytest.mark.filterwarnings(
    "ignore:Session.login_data is deprecated:DeprecationWarning"
)

USERNAME = "AKIAIOSFODNN7EXAMPLE"
# Built at run time so that no scanner flags this file.
PASSWORD = "B" + "Qx9+/kLm" * 5 + "abc"
SECRET = "mail/test/smtp/relay"


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    return make_certificate(tmp_path)


@pytest.fixture
def standin(certificate) -> Iterator[SesStandIn]:
    server = SesStandIn(certificate=certificate, username=USERNAME, password=PASSWORD)
    yield server
    server.stop()


def store_secret(port: int, *, password: str = PASSWORD, region: str = "us-east-1"):
    boto3.client("secretsmanager", region_name=region).create_secret(
        Name=SECRET,
        SecretString=json.dumps(
            {
                "username": USERNAME,
                "password": password,
                "host": "127.0.0.1",
                "port": port,
                "region": "us-east-1",
            }
        ),
    )


def send(certificate, *arguments: str) -> list[str]:
    return [
        "send-test",
        "--from",
        "sender@example.com",
        "--to",
        "someone@example.org",
        "--cafile",
        str(certificate[0]),
        "--timeout",
        "3",
        *arguments,
    ]


def assert_no_secret(text: str) -> None:
    assert PASSWORD not in text
    plain = base64.b64encode(f"\0{USERNAME}\0{PASSWORD}".encode()).decode()
    assert plain not in text
    assert base64.b64encode(PASSWORD.encode()).decode() not in text


def test_sends_with_starttls_and_auth_from_the_secret(
    standin, certificate, capsys
) -> None:
    store_secret(standin.port)

    status = main(send(certificate, "--secret", SECRET))
    output = capsys.readouterr()

    assert status == 0, output.err
    assert len(standin.messages) == 1
    assert b"Subject: mailctl send-test" in standin.messages[0]
    lines = output.out.splitlines()
    assert "C: STARTTLS" in lines
    assert "S: 220 Ready to start TLS" in lines
    assert "C: AUTH PLAIN ********" in lines
    assert "S: 235 2.7.0 Authentication successful" in lines
    assert lines[-1] == (
        f"sent: sender@example.com -> someone@example.org through "
        f"127.0.0.1:{standin.port}"
    )
    assert output.err == ""
    assert_no_secret(output.out + output.err)


def test_the_secret_is_found_from_an_environment_smtp_user(
    standin, certificate, tmp_path, capsys
) -> None:
    environments = tmp_path / "environments"
    environments.mkdir()
    (environments / "test.yaml").write_text(
        "region: eu-west-1\n"
        "domains:\n  - name: example.com\n"
        "smtp_users:\n  - name: relay\n    send_as: [example.com]\n"
    )
    store_secret(standin.port, region="eu-west-1")

    status = main(
        send(
            certificate,
            "--env",
            "test",
            "--environments",
            str(environments),
            "--smtp-user",
            "relay",
        )
    )

    assert status == 0, capsys.readouterr().err
    assert standin.logins == [USERNAME]


def test_a_prompted_password_is_used_and_never_shown(
    standin, certificate, capsys, monkeypatch
) -> None:
    prompts: list[str] = []
    monkeypatch.setattr(
        "getpass.getpass", lambda prompt: prompts.append(prompt) or PASSWORD
    )

    status = main(
        send(
            certificate,
            "--username",
            USERNAME,
            "--host",
            "127.0.0.1",
            "--port",
            str(standin.port),
        )
    )
    output = capsys.readouterr()

    assert status == 0, output.err
    assert prompts == [f"SMTP password of {USERNAME}: "]
    assert len(standin.messages) == 1
    assert_no_secret(output.out + output.err)


def test_535_is_explained_as_region_or_stale_password(
    standin, certificate, capsys
) -> None:
    stale = "B" + "zz9+/kLm" * 5 + "xyz"
    store_secret(standin.port, password=stale)

    status = main(send(certificate, "--secret", SECRET))
    output = capsys.readouterr()

    assert status == 1
    assert standin.messages == []
    assert output.err.count("\n") == 1
    assert output.err.startswith(
        "mailctl send-test: 535 5.7.8 Authentication credentials invalid: "
        "authentication failed. An SES SMTP password works in one region only"
    )
    assert "the password is stale" in output.err
    assert stale not in output.out + output.err
    assert "C: AUTH PLAIN ********" in output.out.splitlines()


def test_554_is_explained_as_unverified_address_or_sandbox(certificate, capsys) -> None:
    server = SesStandIn(
        certificate=certificate,
        username=USERNAME,
        password=PASSWORD,
        reject=UNVERIFIED_REPLY,
    )
    try:
        store_secret(server.port)
        status = main(send(certificate, "--secret", SECRET))
    finally:
        server.stop()
    output = capsys.readouterr()

    assert status == 1
    assert output.err.startswith(
        "mailctl send-test: 554 Message rejected: Email address is not verified."
    )
    assert (
        "The From address or its domain is not a verified identity in us-east-1, "
        "or the account is in the SES sandbox there and the recipient is not "
        "verified either"
    ) in output.err
    assert_no_secret(output.out + output.err)


def test_a_silent_port_is_explained_as_a_timeout(
    certificate, capsys, monkeypatch
) -> None:
    monkeypatch.setattr("getpass.getpass", lambda prompt: PASSWORD)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        status = main(
            send(
                certificate,
                "--username",
                USERNAME,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--timeout",
                "0.5",
            )
        )
    output = capsys.readouterr()

    assert status == 1
    assert output.err == (
        f"mailctl send-test: no answer from 127.0.0.1:{port} within the timeout. "
        "On EC2, port 25 is throttled: use 587 or 2587. Otherwise a security "
        "group, network ACL, proxy or firewall blocks outbound traffic to this "
        "port\n"
    )


def test_a_secret_without_credentials_yet_is_one_line(certificate, capsys) -> None:
    boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name=SECRET,
        SecretString=json.dumps({"status": "pending: written by the custom resource"}),
    )

    status = main(send(certificate, "--secret", SECRET))
    output = capsys.readouterr()

    assert status == 1
    assert output.err == (
        f"mailctl send-test: secret {SECRET!r} does not hold SMTP credentials "
        "yet: expected JSON with username, password, host, port, region (is the "
        "stack deployed?)\n"
    )


def test_a_missing_secret_is_one_line(certificate, capsys) -> None:
    status = main(send(certificate, "--secret", "mail/nope"))

    assert status == 1
    assert capsys.readouterr().err == (
        "mailctl send-test: secretsmanager:GetSecretValue 'mail/nope' failed: "
        "ResourceNotFoundException\n"
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--username", USERNAME],
            "--username needs --region (or --host): expected the SES region",
        ),
        (
            ["--username", USERNAME, "--region", "xx-east-9"],
            "--region 'xx-east-9': expected a region where SES offers SMTP",
        ),
        (["--smtp-user", "relay"], "--smtp-user needs --env"),
        (
            ["--smtp-user", "relay", "--env", "example"],
            "--smtp-user 'relay' is not in environment 'example': expected one of "
            "(none)",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    certificate, capsys, arguments, message
) -> None:
    status = main(send(certificate, *arguments))
    output = capsys.readouterr()

    assert status == 2
    assert output.out == ""
    assert output.err.count("\n") == 1
    assert output.err.startswith(f"mailctl send-test: error: {message}")


def test_a_sender_that_is_not_an_address_is_refused(capsys) -> None:
    status = main(
        ["send-test", "--from", "example.com", "--to", "a@b.org", "--secret", "x"]
    )

    assert status == 2
    assert capsys.readouterr().err == (
        "mailctl send-test: error: --from 'example.com': expected an email address\n"
    )


def test_help_names_the_credential_sources_and_failures(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["send-test", "--help"])
    text = capsys.readouterr().out

    assert exit_info.value.code == 0
    for fragment in ("--secret NAME", "--username KEY_ID", "535", "554", "port 25"):
        assert fragment in text
