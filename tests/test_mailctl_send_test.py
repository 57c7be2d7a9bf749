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


def fail_line(capsys) -> str:
    output = capsys.readouterr()
    assert output.out == ""
    return error_line_of(output.err)


def error_line(capsys) -> str:
    """Standard error, which must be one line; the dialogue may be on stdout."""
    return error_line_of(capsys.readouterr().err)


def error_line_of(err: str) -> str:
    assert err.count("\n") == 1
    return err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--cafile", "README.md"], "--cafile 'README.md': expected a file of PEM"),
        (["--cafile", "/nonexistent/ca.pem"], "--cafile '/nonexistent/ca.pem': no "),
        (["--subject", "hi\nBcc: x@example.net"], "--subject 'hi\\nBcc: x@example"),
        (["--port", "465"], "--port 465: send-test speaks STARTTLS only; use 587 "),
        (["--port", "2465"], "--port 2465: send-test speaks STARTTLS only"),
        (["--timeout", "inf"], "--timeout inf: expected seconds above 0 and at most"),
    ],
)
def test_bad_options_are_one_line_before_anything_is_asked(
    capsys, monkeypatch, arguments, message
) -> None:
    monkeypatch.setattr("getpass.getpass", pytest.fail)
    base = ["send-test", "--to", "someone@example.org"]
    base += ["--username", USERNAME, "--region", "us-east-1"]

    status = main([*base, "--from", "sender@example.com", *arguments])

    assert status == 2
    assert fail_line(capsys).startswith(f"mailctl send-test: error: {message}")


def test_a_line_break_in_from_is_one_line(capsys) -> None:
    status = main(
        [
            "send-test",
            "--from",
            "a@example.com\r\nBcc: x@example.net",
            "--to",
            "b@example.org",
            "--secret",
            SECRET,
        ]
    )

    assert status == 2
    assert fail_line(capsys).startswith(
        "mailctl send-test: error: --from 'a@example.com\\r\\nBcc: x@example.net': "
        "expected one line"
    )


def test_a_misspelt_aws_profile_is_one_line(
    certificate, capsys, monkeypatch, tmp_path
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "typo")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))

    status = main(send(certificate, "--secret", "x"))

    assert status == 2
    assert fail_line(capsys) == (
        "mailctl send-test: error: AWS configuration: The config profile (typo) "
        "could not be found\n"
    )


def prompted(certificate, port: int) -> list[str]:
    return send(
        certificate, "--username", USERNAME, "--host", "127.0.0.1", "--port", str(port)
    )


def test_ctrl_d_at_the_password_prompt_is_one_line(
    certificate, capsys, monkeypatch
) -> None:
    def end_of_input(prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr("getpass.getpass", end_of_input)

    status = main(prompted(certificate, 587))

    assert status == 2
    assert fail_line(capsys).startswith(
        "mailctl send-test: error: standard input ended: expected an SES SMTP password"
    )


def test_a_non_ascii_password_is_refused_without_showing_any_of_it(
    certificate, capsys, monkeypatch
) -> None:
    password = PASSWORD[:10] + "\u00e9" + PASSWORD[11:]
    monkeypatch.setattr("getpass.getpass", lambda prompt: password)

    status = main(prompted(certificate, 587))
    line = fail_line(capsys)

    assert status == 2
    assert line == (
        "mailctl send-test: error: the password holds a character that is not "
        "ASCII: expected an SES SMTP password (44 characters of A-Z, a-z, 0-9, + "
        "and /, starting with B)\n"
    )
    assert "\u00e9" not in line
    assert "10" not in line


def test_a_pasted_password_with_a_carriage_return_still_logs_in(
    standin, certificate, capsys, monkeypatch
) -> None:
    monkeypatch.setattr("getpass.getpass", lambda prompt: f"  {PASSWORD}\r")

    status = main(prompted(certificate, standin.port))
    output = capsys.readouterr()

    assert status == 0, output.err
    assert len(standin.messages) == 1


def test_535_with_what_looks_like_a_secret_key_gives_a_hint(
    standin, certificate, capsys, monkeypatch
) -> None:
    # 40 characters, as an IAM secret access key is, instead of 44 from "B".
    monkeypatch.setattr("getpass.getpass", lambda prompt: "wJalr/" + "K" * 34)

    status = main(prompted(certificate, standin.port))
    line = error_line(capsys)

    assert status == 1
    assert line.endswith(
        "The password given is not 44 characters starting with B: is it the SMTP "
        "password, not the secret access key? (python -m mailctl smtp-password "
        "derives one)\n"
    )


def test_region_is_accepted_in_any_case(certificate, capsys, monkeypatch) -> None:
    monkeypatch.setattr("getpass.getpass", lambda prompt: "")

    status = main(send(certificate, "--username", USERNAME, "--region", "EU-West-1"))

    # The region passed; the empty password is what stops it.
    assert status == 2
    assert fail_line(capsys).startswith(
        "mailctl send-test: error: no password was given"
    )


@pytest.mark.parametrize("port", ["abc", None, True, 70000])
def test_a_secret_with_a_bad_port_is_one_line(certificate, capsys, port) -> None:
    boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name=SECRET,
        SecretString=json.dumps(
            {
                "username": USERNAME,
                "password": PASSWORD,
                "host": "127.0.0.1",
                "port": port,
                "region": "us-east-1",
            }
        ),
    )

    status = main(send(certificate, "--secret", SECRET))

    assert status == 1
    assert fail_line(capsys) == (
        f"mailctl send-test: secret {SECRET!r}: port {port!r} is not a port "
        "number: expected 1 to 65535, such as 587\n"
    )
