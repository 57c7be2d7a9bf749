"""``mailctl records``: the records the stacks publish, offline and with SES tokens."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from mailcore.config import load_environment
from mailcore.records import domain_records
from mailctl import records_command
from mailctl.cli import main
from tests.conftest import ENVIRONMENTS, REPO


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


def records(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailctl", "records", *arguments],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )


def stub_identity(monkeypatch: pytest.MonkeyPatch, response: dict[str, Any]) -> None:
    client = boto3.client("sesv2", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_response(
        "get_email_identity", response, {"EmailIdentity": "example.net"}
    )
    stubber.activate()
    monkeypatch.setattr(records_command, "aws_client", lambda service, region: client)


def test_zone_lines_are_exactly_what_the_stacks_publish(capsys) -> None:
    config = load_environment("production", ENVIRONMENTS)

    status = main(["records", "--env", "production", "--format", "zone"])
    out = capsys.readouterr().out

    assert status == 0
    for domain in config.domains:
        region = config.ses_region_of(domain)
        for record in domain_records(domain, ses_region=region):
            for line in record.zone_lines(domain.ttl):
                assert line in out.splitlines()
    assert (
        "bounce.notify.example.com. 1800 IN MX 10 "
        "feedback-smtp.eu-west-1.amazonses.com."
    ) in out.splitlines()


def test_offline_table_says_which_records_need_a_deploy() -> None:
    result = records("--env", "example", "example.net")

    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "TYPE", "PURPOSE", "VALUE"]
    assert lines[1].split()[:2] == ["mail.example.net", "MX"]
    assert lines[1].endswith("10 feedback-smtp.us-east-1.amazonses.com")
    assert lines[-1] == (
        "pending (example.net): 3 Easy DKIM CNAMEs <token>._domainkey.example.net: "
        "SES issues the tokens when the identity is created in us-east-1; deploy, "
        "then run with --live"
    )


def test_json_lists_records_and_pending_per_domain(capsys) -> None:
    status = main(["records", "--env", "production", "--format", "json"])
    document = json.loads(capsys.readouterr().out)

    assert status == 0
    assert [d["domain"] for d in document["domains"]] == [
        "example.eu",
        "notify.example.com",
        "team.example.com",
    ]
    notify = document["domains"][1]
    assert notify["pending"] == []
    assert notify["records"][0]["name"] == "ses2026._domainkey.notify.example.com"
    assert notify["records"][0]["type"] == "TXT"
    assert document["domains"][0]["ses_region"] == "eu-central-1"


def test_live_reads_easy_dkim_tokens_from_ses(monkeypatch, capsys) -> None:
    stub_identity(
        monkeypatch,
        {
            "IdentityType": "DOMAIN",
            "VerifiedForSendingStatus": True,
            "DkimAttributes": {
                "SigningEnabled": True,
                "Status": "SUCCESS",
                "Tokens": ["abc123", "def456", "ghi789"],
                "SigningHostedZone": "dkim.amazonses.com",
                "SigningAttributesOrigin": "AWS_SES",
            },
        },
    )

    status = main(
        ["records", "--env", "example", "example.net", "--live", "--format", "zone"]
    )
    lines = capsys.readouterr().out.splitlines()

    assert status == 0
    assert lines[1:4] == [
        "abc123._domainkey.example.net. 1800 IN CNAME abc123.dkim.amazonses.com.",
        "def456._domainkey.example.net. 1800 IN CNAME def456.dkim.amazonses.com.",
        "ghi789._domainkey.example.net. 1800 IN CNAME ghi789.dkim.amazonses.com.",
    ]
    assert not any(line.startswith("; pending") for line in lines)


def test_live_with_an_external_key_in_ses_says_the_settings_differ(
    monkeypatch, capsys
) -> None:
    stub_identity(
        monkeypatch,
        {
            "IdentityType": "DOMAIN",
            "DkimAttributes": {
                "Tokens": ["ses2026"],
                "SigningAttributesOrigin": "EXTERNAL",
            },
        },
    )

    main(["records", "--env", "example", "example.net", "--live"])
    out = capsys.readouterr().out

    assert " IN CNAME " not in out
    assert out.splitlines()[-1] == (
        "pending (example.net): SES signs example.net with a key of your own "
        "(BYODKIM) but the environment says dkim.signing: easy; deploy to switch"
    )


def test_live_before_a_deploy_says_deploy_first(capsys) -> None:
    boto3.client("sesv2", region_name="us-east-1").create_email_identity(
        EmailIdentity="other.example.org"
    )

    status = main(["records", "--env", "example", "example.net", "--live"])

    assert status == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "pending (example.net): 3 Easy DKIM CNAMEs: example.net is not an SES "
        "identity in us-east-1 yet; deploy its stack first"
    )


def test_live_when_ses_refuses_is_one_line_and_exit_1(monkeypatch, capsys) -> None:
    client = boto3.client("sesv2", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_client_error(
        "get_email_identity", "AccessDeniedException", "not authorized"
    )
    stubber.activate()
    monkeypatch.setattr(records_command, "aws_client", lambda service, region: client)

    status = main(["records", "--env", "example", "example.net", "--live"])
    output = capsys.readouterr()

    assert status == 1
    assert output.out == ""
    assert output.err == (
        "mailctl records: example.net: sesv2:GetEmailIdentity failed: "
        "AccessDeniedException: not authorized\n"
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--env", "Prod!"],
            "mailctl records: error: --env='Prod!': expected the name of a file",
        ),
        (
            ["--env", "example", "nowhere.org"],
            "mailctl records: error: domain 'nowhere.org' is not in environment "
            "'example': expected one of example.com, example.net",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(arguments, message) -> None:
    result = records(*arguments)

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(message)


def test_a_broken_environment_file_is_reported_like_cdk_does(tmp_path) -> None:
    (tmp_path / "broken.yaml").write_text("region: us-east-1\ndomains: []\n")

    result = records("--env", "broken", "--environments", str(tmp_path))

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.endswith(
        "broken.yaml: domains is empty: expected at least one entry\n"
    )


def test_help_explains_live_and_formats() -> None:
    result = records("--help")

    assert result.returncode == 0
    for text in ("--format {table,zone,json}", "--live", "GetEmailIdentity"):
        assert text in result.stdout


def test_a_workmail_domain_lists_the_records_its_stack_writes(capsys) -> None:
    status = main(
        ["records", "--env", "production", "team.example.com", "--format", "zone"]
    )
    out = capsys.readouterr().out

    assert status == 0
    assert (
        "team.example.com. 1800 IN MX 10 inbound-smtp.eu-west-1.amazonaws.com." in out
    )
    assert (
        "autodiscover.team.example.com. 1800 IN CNAME "
        "autodiscover.mail.eu-west-1.awsapps.com." in out
    )


def test_an_ses_receiving_domain_lists_its_inbound_mx(capsys) -> None:
    status = main(["records", "--env", "production", "example.eu", "--format", "zone"])
    out = capsys.readouterr().out

    assert status == 0
    assert "example.eu. 1800 IN MX 10 inbound-smtp.eu-central-1.amazonaws.com." in out


def test_live_without_a_signing_zone_leaves_dkim_pending_not_guessed(
    monkeypatch, capsys
) -> None:
    stub_identity(
        monkeypatch,
        {
            "IdentityType": "DOMAIN",
            "VerifiedForSendingStatus": False,
            "DkimAttributes": {
                "SigningEnabled": True,
                "Status": "PENDING",
                "Tokens": ["abc123", "def456", "ghi789"],
                "SigningAttributesOrigin": "AWS_SES",
            },
        },
    )

    status = main(
        ["records", "--env", "example", "example.net", "--live", "--format", "zone"]
    )
    out = capsys.readouterr().out

    assert status == 0
    assert " IN CNAME " not in out
    assert "no SigningHostedZone" in out


def test_live_with_a_misspelt_aws_profile_is_one_line_and_exit_2(
    monkeypatch, tmp_path, capsys
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "typo")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))

    status = main(["records", "--env", "example", "--live"])
    output = capsys.readouterr()

    assert status == 2
    assert output.out == ""
    assert output.err == (
        "mailctl records: error: AWS configuration: The config profile (typo) "
        "could not be found\n"
    )
