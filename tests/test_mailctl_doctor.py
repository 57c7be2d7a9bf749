"""``mailctl doctor`` against a real DNS server on loopback, SES stubs and SMTP."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from mailcore.config import DomainSettings, EnvironmentConfig, load_environment
from mailcore.records import environment_records, txt_value
from mailctl.cli import main
from mailctl.doctor import (
    Check,
    Dns,
    SmtpTarget,
    _smtp_targets,
    diagnose,
    dmarc_problems,
    dmarc_warnings,
)
from tests import doctor_zones
from tests.conftest import ENVIRONMENTS, REPO
from tests.dns_server import ZoneServer, free_port
from tests.smtp_standin import SesStandIn, make_certificate

pytestmark = pytest.mark.filterwarnings(
    "ignore:Session.login_data is deprecated:DeprecationWarning"
)


@pytest.fixture
def serve() -> Iterator[Callable[[dict[str, str]], ZoneServer]]:
    servers: list[ZoneServer] = []

    def start(zones: dict[str, str]) -> ZoneServer:
        servers.append(ZoneServer(zones))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def environments(tmp_path: Path) -> Path:
    return doctor_zones.write_environment(tmp_path)


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)


def identity_response(**changes: Any) -> dict[str, Any]:
    response: dict[str, Any] = {
        "IdentityType": "DOMAIN",
        "VerifiedForSendingStatus": True,
        "VerificationStatus": "SUCCESS",
        "DkimAttributes": {
            "SigningEnabled": True,
            "Status": "SUCCESS",
            "Tokens": list(doctor_zones.TOKENS),
            "SigningHostedZone": "dkim.amazonses.com",
            "SigningAttributesOrigin": "AWS_SES",
        },
        "MailFromAttributes": {
            "MailFromDomain": "mail.example.com",
            "MailFromDomainStatus": "SUCCESS",
            "BehaviorOnMxFailure": "USE_DEFAULT_VALUE",
        },
    }
    response.update(changes)
    return response


def account_response(*, production: bool = True) -> dict[str, Any]:
    return {
        "ProductionAccessEnabled": production,
        "SendingEnabled": True,
        "EnforcementStatus": "HEALTHY",
        "SendQuota": {
            "Max24HourSend": 50000.0 if production else 200.0,
            "MaxSendRate": 14.0 if production else 1.0,
            "SentLast24Hours": 3.0,
        },
    }


def stubbed_ses(
    identity: dict[str, Any] | None = None, account: dict[str, Any] | None = None
) -> Any:
    client = boto3.client("sesv2", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_response(
        "get_email_identity",
        identity or identity_response(),
        {"EmailIdentity": "example.com"},
    )
    stubber.add_response("get_account", account or account_response(), {})
    stubber.activate()
    return client


def checks_on(
    server: ZoneServer,
    config: EnvironmentConfig,
    domain: DomainSettings | None = None,
    *,
    sesv2: Any,
    smtp: Any = None,
    **options: Any,
) -> list[Check]:
    """Doctor's checks of ``domain`` (the first one by default) against ``server``."""
    return diagnose(
        config,
        domain or config.domains[0],
        dns_client=Dns(nameserver=server.host, port=server.port, timeout=2),
        sesv2=sesv2,
        smtp=smtp,
        **options,
    )


def serve_domain(
    serve: Callable[[dict[str, str]], ZoneServer], domain: str, zone: str
) -> ZoneServer:
    """``domain``'s zone from ``zone`` text, beside amazonses.com's SPF."""
    return serve({f"{domain}.": zone, "amazonses.com.": doctor_zones.AMAZONSES})


def run_checks(
    server: ZoneServer, environments: Path, *, sesv2: Any = None, **options: Any
) -> dict[str, list[Check]]:
    config = load_environment("test", environments)
    checks = checks_on(
        server,
        config,
        sesv2=stubbed_ses() if sesv2 is None else sesv2,
        **options,
    )
    grouped: dict[str, list[Check]] = {}
    for check in checks:
        grouped.setdefault(check.name, []).append(check)
    return grouped


def statuses(grouped: dict[str, list[Check]]) -> dict[str, list[str]]:
    return {name: [c.status for c in checks] for name, checks in grouped.items()}


def test_a_good_domain_passes_every_check(serve, environments) -> None:
    server = serve(doctor_zones.zones())

    grouped = run_checks(server, environments)

    assert statuses(grouped) == {
        "ses-identity": ["ok"],
        "ses-dkim": ["ok"],
        "ses-mail-from": ["ok"],
        "ses-sandbox": ["ok"],
        "dkim": ["ok", "ok", "ok"],
        "mail-from-mx": ["ok"],
        "mail-from-spf": ["ok"],
        "spf": ["ok"],
        "spf-lookups": ["ok"],
        "dmarc": ["ok"],
        "mx": ["ok"],
        "mta-sts": ["ok"],
        "tls-rpt": ["ok"],
    }
    assert grouped["spf-lookups"][0].detail == ("3 of 10 DNS lookups, includes counted")
    assert grouped["dkim"][1].detail == (
        "tok2def._domainkey.example.com CNAME tok2def.dkim.amazonses.com"
    )


def test_txt_strings_are_joined_without_a_space(serve, environments) -> None:
    server = serve(doctor_zones.BROKEN["split-txt-joined-without-space"])

    grouped = run_checks(server, environments)
    (check,) = grouped["spf"]

    assert "spf-lookups" not in grouped
    assert "spf-void" not in grouped
    assert check.status == "fail"
    assert "'include:amazonses.cominclude:_spf.provider.test' is not an SPF term" in (
        check.detail
    )
    assert "which receivers join with nothing between" in check.detail
    assert check.fix == (
        'example.com. 1800 IN TXT "v=spf1 include:amazonses.com '
        'include:_spf.provider.test ~all"'
    )


def test_two_spf_records_fail(serve, environments) -> None:
    server = serve(doctor_zones.BROKEN["two-spf-records"])

    (check,) = run_checks(server, environments)["spf"]

    assert check.status == "fail"
    assert check.detail.startswith("example.com has 2 SPF records")


def test_lookups_are_counted_through_includes_on_the_server(
    serve, environments
) -> None:
    server = serve(doctor_zones.BROKEN["spf-over-ten-lookups"])

    grouped = run_checks(server, environments)

    assert grouped["spf"][0].status == "ok"
    (check,) = grouped["spf-lookups"]
    assert check.status == "fail"
    assert check.detail == (
        "evaluating example.com takes more than 10 DNS lookups through its "
        "includes; receivers stop at 10 (permerror)"
    )


def test_more_than_two_void_lookups_fail(serve, environments) -> None:
    server = serve(doctor_zones.BROKEN["spf-void-lookups"])

    (check,) = run_checks(server, environments)["spf-void"]

    assert check.status == "fail"
    assert check.detail.startswith("3 lookups find nothing; receivers stop at 2")


def test_dmarc_at_the_apex_is_reported_with_where_it_belongs(
    serve, environments
) -> None:
    server = serve(doctor_zones.BROKEN["dmarc-at-apex"])

    at_apex, missing = run_checks(server, environments)["dmarc"]

    assert at_apex.status == missing.status == "fail"
    assert "a DMARC record is at example.com" in at_apex.detail
    assert "it belongs at _dmarc.example.com" in at_apex.detail
    assert missing.detail == "_dmarc.example.com has no DMARC record"
    assert missing.fix == (
        '_dmarc.example.com. 1800 IN TXT "v=DMARC1; p=quarantine; '
        'rua=mailto:dmarc@example.com"'
    )


def test_mail_from_mx_of_another_region_fails_with_the_right_host(
    serve, environments
) -> None:
    server = serve(doctor_zones.BROKEN["mail-from-wrong-region"])

    (check,) = run_checks(server, environments)["mail-from-mx"]

    assert check.status == "fail"
    assert check.detail == (
        "mail.example.com MX 10 feedback-smtp.us-west-2.amazonses.com is another "
        "region's; the domain sends from SES in us-east-1"
    )
    assert check.fix == (
        "mail.example.com. 1800 IN MX 10 feedback-smtp.us-east-1.amazonses.com."
    )


def test_a_missing_dkim_cname_fails_with_the_record_to_add(serve, environments) -> None:
    server = serve(doctor_zones.BROKEN["dkim-missing"])

    checks = run_checks(server, environments)["dkim"]

    assert [c.status for c in checks] == ["ok", "fail", "ok"]
    assert checks[1].detail == "tok2def._domainkey.example.com CNAME is missing"
    assert checks[1].fix == (
        "tok2def._domainkey.example.com. 1800 IN CNAME tok2def.dkim.amazonses.com."
    )


def test_dkim_targets_follow_the_signing_hosted_zone_ses_gives(
    serve, environments
) -> None:
    identity = identity_response()
    identity["DkimAttributes"]["SigningHostedZone"] = "dkim.af-south-1.amazonses.com"
    server = serve(doctor_zones.zones())

    checks = run_checks(server, environments, sesv2=stubbed_ses(identity))["dkim"]

    assert [c.status for c in checks] == ["fail", "fail", "fail"]
    assert checks[0].fix == (
        "tok1abc._domainkey.example.com. 1800 IN CNAME "
        "tok1abc.dkim.af-south-1.amazonses.com."
    )


def test_ses_pending_status_and_sandbox_are_warnings(serve, environments) -> None:
    identity = identity_response(VerifiedForSendingStatus=False)
    identity["VerificationStatus"] = "PENDING"
    identity["DkimAttributes"]["Status"] = "PENDING"
    identity["MailFromAttributes"]["MailFromDomainStatus"] = "PENDING"
    server = serve(doctor_zones.zones())

    grouped = run_checks(
        server,
        environments,
        sesv2=stubbed_ses(identity, account_response(production=False)),
    )

    assert [grouped[n][0].status for n in ("ses-identity", "ses-dkim")] == [
        "warn",
        "warn",
    ]
    assert grouped["ses-mail-from"][0].status == "warn"
    assert grouped["ses-sandbox"][0].detail == (
        "the account is in the SES sandbox in us-east-1: verified recipients "
        "only; quota 200 messages a day, 1 a second, 3 sent in the last 24 hours"
    )


def test_ses_mail_from_of_another_domain_fails(serve, environments) -> None:
    identity = identity_response()
    identity["MailFromAttributes"]["MailFromDomain"] = "bounce.example.com"
    server = serve(doctor_zones.zones())

    (check,) = run_checks(server, environments, sesv2=stubbed_ses(identity))[
        "ses-mail-from"
    ]

    assert check.status == "fail"
    assert check.line() == (
        "fail ses-mail-from: SES MAIL FROM domain is bounce.example.com; set: "
        "mail.example.com (deploy the domain's stack)"
    )


@mock_aws
def test_an_identity_missing_from_ses_fails_and_says_deploy(
    serve, environments
) -> None:
    server = serve(doctor_zones.zones())
    client = boto3.client("sesv2", region_name="us-east-1")
    client.create_email_identity(EmailIdentity="other.example.org")

    config = load_environment("test", environments)
    checks = checks_on(server, config, sesv2=_GetAccountStubbed(client))

    assert checks[0].line() == (
        "fail ses-identity: example.com is not an SES identity in us-east-1; set: "
        "deploy the domain's stack (cdk deploy -c env=NAME --all)"
    )
    assert [c.name for c in checks if c.name == "dkim"] == ["dkim"]
    assert next(c for c in checks if c.name == "dkim").status == "skip"


@mock_aws
def test_an_unverified_identity_in_moto_fails(serve, environments) -> None:
    server = serve(doctor_zones.zones())
    client = boto3.client("sesv2", region_name="us-east-1")
    client.create_email_identity(EmailIdentity="example.com")

    config = load_environment("test", environments)
    checks = checks_on(server, config, sesv2=_GetAccountStubbed(client))
    by_name = {c.name: c for c in checks}

    assert by_name["ses-identity"].status == "fail"
    assert by_name["ses-identity"].detail.startswith(
        "not verified for sending in us-east-1"
    )
    assert by_name["ses-mail-from"].detail == "SES MAIL FROM domain is not set"


class _GetAccountStubbed:
    """moto's SES v2 for identities; GetAccount, which moto lacks, from a stub."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.exceptions = client.exceptions
        self._account = boto3.client("sesv2", region_name="us-east-1")
        stubber = Stubber(self._account)
        stubber.add_response("get_account", account_response(), {})
        stubber.activate()

    def get_email_identity(self, **kwargs: Any) -> Any:
        return self._client.get_email_identity(**kwargs)

    def get_account(self) -> Any:
        return self._account.get_account()


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ("v=DMARC1; p=quarntine", "p='quarntine': expected p=none"),
        ("p=none; v=DMARC1", "the record must start with v=DMARC1"),
        ("v=DMARC1; p=none; pct=150", "pct='150': expected 0 to 100"),
        ("v=DMARC1; p=none; rua=dmarc@example.com", "expected mailto:ADDRESS"),
        ("v=DMARC1; p=reject; adkim=x", "adkim='x': expected r or s"),
    ],
)
def test_dmarc_tags_are_checked(record: str, problem: str) -> None:
    assert problem in dmarc_problems(record)[0]


def test_the_smtp_endpoint_is_checked_on_starttls_and_tls_ports(
    serve, environments, tmp_path
) -> None:
    certificate = make_certificate(tmp_path)
    starttls = SesStandIn(certificate=certificate, username="u", password="p")
    wrapper = SesStandIn(
        certificate=certificate, username="u", password="p", implicit_tls=True
    )
    closed = free_port()
    server = serve(doctor_zones.zones())
    try:
        checks = run_checks(
            server,
            environments,
            smtp=[
                SmtpTarget("127.0.0.1", starttls.port, "starttls"),
                SmtpTarget("127.0.0.1", wrapper.port, "tls"),
                SmtpTarget("127.0.0.1", closed, "starttls"),
            ],
            tls_context=ssl.create_default_context(cafile=str(certificate[0])),
            timeout=2,
        )
    finally:
        starttls.stop()
        wrapper.stop()

    ok_starttls = checks[f"smtp-{starttls.port}"][0]
    ok_wrapper = checks[f"smtp-{wrapper.port}"][0]
    refused = checks[f"smtp-{closed}"][0]
    assert ok_starttls.status == ok_wrapper.status == "ok"
    assert ok_starttls.detail.startswith(
        f"127.0.0.1:{starttls.port} answers with STARTTLS (TLSv1."
    )
    assert "answers with TLS from the first byte" in ok_wrapper.detail
    assert refused.status == "fail"
    assert refused.detail.startswith(
        f"127.0.0.1:{closed} refused the connection: nothing listens on port "
        f"{closed} there"
    )


def test_an_untrusted_smtp_certificate_fails(serve, environments, tmp_path) -> None:
    certificate = make_certificate(tmp_path)
    standin = SesStandIn(certificate=certificate, username="u", password="p")
    server = serve(doctor_zones.zones())
    try:
        (check,) = run_checks(
            server,
            environments,
            smtp=[SmtpTarget("127.0.0.1", standin.port, "starttls")],
            tls_context=ssl.create_default_context(),
            timeout=2,
        )[f"smtp-{standin.port}"]
    finally:
        standin.stop()

    assert check.status == "fail"
    assert "certificate not trusted" in check.detail


def doctor(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailctl", "doctor", *arguments],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )


def offline(server: ZoneServer, environments: Path, *extra: str) -> list[str]:
    return [
        "--env",
        "test",
        "--environments",
        str(environments),
        "example.com",
        "--nameserver",
        server.host,
        "--dns-port",
        str(server.port),
        "--no-aws",
        "--no-smtp",
        *extra,
    ]


def test_cli_good_zone_prints_one_line_per_check_and_exits_0(
    serve, environments
) -> None:
    server = serve(doctor_zones.zones())

    result = doctor(*offline(server, environments))

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "skip ses: --no-aws given"
    assert lines[1] == (
        "skip dkim: Easy DKIM tokens come from SES; run with AWS credentials"
    )
    assert all(line.split()[0] in ("ok", "skip") for line in lines)
    assert result.stderr == ""


# Without AWS the DKIM tokens are unknown, so "dkim-missing" is covered above.
@pytest.mark.parametrize("case", sorted(set(doctor_zones.BROKEN) - {"dkim-missing"}))
def test_cli_broken_zone_exits_2(serve, environments, case) -> None:
    server = serve(doctor_zones.BROKEN[case])

    result = doctor(*offline(server, environments))

    assert result.returncode == 2, result.stdout
    assert any(line.startswith("fail ") for line in result.stdout.splitlines())


def test_cli_json_lists_every_check_with_its_fix(serve, environments) -> None:
    server = serve(doctor_zones.BROKEN["mail-from-wrong-region"])

    result = doctor(*offline(server, environments, "--json"))
    document = json.loads(result.stdout)

    assert result.returncode == 2
    assert document["exit_status"] == 2
    assert document["ses_region"] == "us-east-1"
    failed = [c for c in document["checks"] if c["status"] == "fail"]
    assert failed == [
        {
            "name": "mail-from-mx",
            "status": "fail",
            "detail": "mail.example.com MX 10 feedback-smtp.us-west-2.amazonses.com "
            "is another region's; the domain sends from SES in us-east-1",
            "fix": "mail.example.com. 1800 IN MX 10 "
            "feedback-smtp.us-east-1.amazonses.com.",
        }
    ]


def test_cli_warnings_only_exit_1(serve, environments) -> None:
    zone = doctor_zones.replace(
        '_dmarc 300 IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com"',
        '_dmarc 300 IN TXT "v=DMARC1; p=none"',
    )
    server = serve(doctor_zones.zones(zone))

    result = doctor(*offline(server, environments))

    assert result.returncode == 1
    assert (
        "warn dmarc: _dmarc.example.com 'v=DMARC1; p=none' differs from the "
        "environment's; set: _dmarc.example.com. 1800 IN TXT \"v=DMARC1; "
        'p=quarantine; rua=mailto:dmarc@example.com"'
    ) in result.stdout.splitlines()


def test_cli_nameserver_that_does_not_answer_fails_in_one_line(
    environments,
) -> None:
    result = doctor(
        "--env",
        "test",
        "--environments",
        str(environments),
        "example.com",
        "--nameserver",
        "127.0.0.1",
        "--dns-port",
        str(free_port()),
        "--timeout",
        "1",
        "--no-aws",
        "--no-smtp",
    )

    assert result.returncode == 2
    assert result.stdout.splitlines()[-1].startswith(
        "fail dns: the nameserver did not answer CNAME example.com: Timeout"
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--env", "nope", "example.com"],
            "mailctl doctor: error: environments/nope.yaml: no such environment",
        ),
        (
            ["--env", "example", "other.org"],
            "mailctl doctor: error: domain 'other.org' is not in environment "
            "'example': expected one of example.com, example.net",
        ),
        (
            ["--env", "example", "example.com", "--nameserver", "ns1.example.net"],
            "mailctl doctor: error: --nameserver 'ns1.example.net': expected an IP "
            "address",
        ),
        (
            ["--env", "example", "example.com", "--dns-port", "70000"],
            "mailctl doctor: error: --dns-port 70000: expected 1 to 65535",
        ),
        (
            ["--env", "example", "example.com", "--timeout", "0"],
            "mailctl doctor: error: --timeout 0.0: expected seconds above 0",
        ),
        (
            ["--env", "example", "example.com", "--smtp-port", "587:ssl"],
            "mailctl doctor: error: --smtp-port '587:ssl': expected PORT:starttls "
            "or PORT:tls",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(arguments, message) -> None:
    result = doctor(*arguments)

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(message)


def test_help_lists_what_is_checked() -> None:
    result = doctor("--help")

    assert result.returncode == 0
    for text in ("--nameserver IP", "--smtp-port PORT:MODE", "void lookups", "--json"):
        assert text in result.stdout


@pytest.mark.parametrize("domain_index", [0, 1], ids=["easy-dkim", "own-dkim-key"])
def test_what_records_prints_is_what_doctor_accepts(
    serve, capsys, domain_index
) -> None:
    config = load_environment("production", ENVIRONMENTS)
    domain = config.domains[domain_index]
    main(["records", "--env", "production", domain.name, "--format", "zone"])
    zone = "\n".join(
        line for line in capsys.readouterr().out.splitlines() if line[:1] != ";"
    )
    server = serve_domain(serve, domain.name, zone + "\n")

    checks = checks_on(server, config, domain, sesv2=None)

    assert {c.status for c in checks} <= {"ok", "skip"}, [c.line() for c in checks]
    dkim = [c for c in checks if c.name == "dkim"]
    if domain.dkim.signing == "byo":
        assert dkim[0].line() == (
            "ok   dkim: ses2026._domainkey.notify.example.com TXT holds the public key"
        )
    else:
        assert dkim[0].status == "skip"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--smtp-cafile", "README.md", "--no-smtp"],
            "--smtp-cafile 'README.md': expected a file of PEM certificates",
        ),
        (
            ["--smtp-cafile", "/nonexistent/ca.pem"],
            "--smtp-cafile '/nonexistent/ca.pem': no such file",
        ),
        (
            ["--timeout", "inf"],
            "--timeout inf: expected seconds above 0 and at most 300",
        ),
        (
            ["--timeout", "1e300"],
            "--timeout 1e+300: expected seconds above 0 and at most 300",
        ),
    ],
)
def test_bad_ca_file_or_endless_timeout_is_one_line_and_exit_2(
    capsys, arguments, message
) -> None:
    status = main(["doctor", "--env", "example", "example.com", *arguments])
    output = capsys.readouterr()

    assert status == 2
    assert output.out == ""
    assert output.err == f"mailctl doctor: error: {message}\n"


def test_a_misspelt_aws_profile_is_one_line_and_exit_2(
    monkeypatch, tmp_path, capsys
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "typo")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))

    status = main(["doctor", "--env", "example", "example.com", "--no-smtp"])
    output = capsys.readouterr()

    assert status == 2
    assert output.err == (
        "mailctl doctor: error: AWS configuration: The config profile (typo) "
        "could not be found\n"
    )


def test_a_third_party_include_that_fails_is_an_spf_temperror_only(
    serve, environments
) -> None:
    # provider.test is not served: its queries are REFUSED.
    zones = doctor_zones.zones()
    del zones["provider.test."]
    server = serve(zones)

    grouped = run_checks(server, environments)

    (spf_check,) = grouped["spf"]
    assert spf_check.status == "fail"
    assert spf_check.detail == (
        "example.com SPF 'v=spf1 include:amazonses.com include:_spf.provider.test "
        "~all': temperror: include _spf.provider.test: REFUSED; receivers defer "
        "or reject until that lookup answers"
    )
    assert "dns" not in grouped
    assert statuses(grouped)["dmarc"] == ["ok"]
    assert statuses(grouped)["mail-from-mx"] == ["ok"]
    assert statuses(grouped)["mx"] == ["ok"]


def test_the_spf_fix_is_split_into_255_byte_strings_like_records(
    serve, tmp_path
) -> None:
    folder = tmp_path / "environments"
    folder.mkdir()
    mechanisms = ", ".join(f"ip4:192.0.2.{n}/32" for n in range(15))
    (folder / "test.yaml").write_text(
        doctor_zones.ENVIRONMENT.replace(
            "[include:amazonses.com, include:_spf.provider.test]",
            f"[include:amazonses.com, {mechanisms}]",
        )
    )
    server = serve(doctor_zones.zones())
    config = load_environment("test", folder)
    (record,) = [
        r
        for r in environment_records(config, config.domains[0], easy_dkim=[])
        if r.key == "ApexTxt"
    ]

    (check,) = run_checks(server, folder)["spf"]

    assert check.status == "warn"
    assert check.fix == record.zone_lines(1800)[0]
    assert check.fix.count('" "') == 1


@pytest.mark.parametrize(
    "record",
    [
        "v=DMARC1; p=Reject",
        "v=DMARC1; p=none; np=reject; psd=n; t=y",
        "v=DMARC1; p=QUARANTINE; ADKIM=S; rua=MAILTO:d@example.com",
    ],
)
def test_dmarc_tags_newer_tags_and_any_case_pass(record: str) -> None:
    assert dmarc_problems(record) == []
    assert dmarc_warnings(record) == []


@pytest.mark.parametrize(
    ("record", "warning"),
    [
        ("v=DMARC1; rua=mailto:d@example.com", "no p= tag, so receivers apply p=none"),
        ("v=DMARC1; p=none; foo=bar", "unknown tag 'foo', which receivers ignore"),
    ],
)
def test_dmarc_without_p_or_with_unknown_tags_warns(record: str, warning: str) -> None:
    assert dmarc_problems(record) == []
    assert dmarc_warnings(record) == [warning]


def test_dmarc_in_another_case_and_spacing_is_ok(serve, environments) -> None:
    zone = doctor_zones.replace(
        '_dmarc 300 IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com"',
        '_dmarc 300 IN TXT "v=DMARC1;p=Quarantine; rua=mailto:dmarc@example.com"',
    )
    server = serve(doctor_zones.zones(zone))

    (check,) = run_checks(server, environments)["dmarc"]

    assert check.status == "ok"


def test_own_dkim_key_is_compared_by_its_p_tag(serve) -> None:
    config = load_environment("production", ENVIRONMENTS)
    domain = config.domains[1]
    records = environment_records(config, domain, easy_dkim=[])
    lines = []
    for record in records:
        if record.key == "DkimPublicKey":
            key = _dkim_key(record.values[0])
            lines.append(
                f"{record.name}. 300 IN TXT {txt_value(f'v=DKIM1 ;  p={key}')}"
            )
        else:
            lines.extend(record.zone_lines(300))
    server = serve_domain(serve, domain.name, "\n".join(lines) + "\n")

    checks = checks_on(server, config, domain, sesv2=None)

    (dkim,) = [c for c in checks if c.name == "dkim"]
    assert dkim.status == "ok", dkim.line()


def _dkim_key(value: str) -> str:
    text = "".join(part.strip('"') for part in value.split('" "'))
    return text.partition("p=")[2]


def test_tls_on_a_starttls_port_is_reported_as_a_mode_mismatch(
    serve, environments, tmp_path
) -> None:
    certificate = make_certificate(tmp_path)
    starttls = SesStandIn(certificate=certificate, username="u", password="p")
    server = serve(doctor_zones.zones())
    try:
        (check,) = run_checks(
            server,
            environments,
            smtp=[SmtpTarget("127.0.0.1", starttls.port, "tls")],
            tls_context=ssl.create_default_context(cafile=str(certificate[0])),
            timeout=2,
        )[f"smtp-{starttls.port}"]
    finally:
        starttls.stop()

    assert check.status == "fail"
    assert check.detail == (
        f"127.0.0.1:{starttls.port} did not speak TLS as tls expects: the port "
        f"speaks the other mode; try --smtp-port {starttls.port}:starttls"
    )


def test_a_port_given_twice_is_checked_once() -> None:
    targets = _smtp_targets("email-smtp.test", ["587:starttls", "587:starttls"])

    assert targets == [SmtpTarget("email-smtp.test", 587, "starttls")]


def test_dkim_skip_says_ses_failed_rather_than_asking_for_credentials(
    serve, environments
) -> None:
    client = boto3.client("sesv2", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_client_error(
        "get_email_identity", "AccessDeniedException", "not allowed"
    )
    stubber.activate()
    server = serve(doctor_zones.zones())

    grouped = run_checks(server, environments, sesv2=client)

    assert grouped["ses"][0].status == "fail"
    assert grouped["dkim"][0].line() == (
        "skip dkim: Easy DKIM tokens come from SES; SES could not be read (see "
        "the ses check)"
    )


@mock_aws
def test_dkim_skip_says_the_identity_is_missing(serve, environments) -> None:
    server = serve(doctor_zones.zones())
    client = boto3.client("sesv2", region_name="us-east-1")
    config = load_environment("test", environments)

    checks = checks_on(server, config, sesv2=_GetAccountStubbed(client))

    (dkim,) = [c for c in checks if c.name == "dkim"]
    assert dkim.line() == (
        "skip dkim: Easy DKIM tokens come from SES; example.com is not an SES "
        "identity in us-east-1"
    )


def test_a_cname_at_the_apex_is_reported(serve, environments) -> None:
    zones = doctor_zones.zones()
    del zones["example.com."]
    # A zone cannot hold a CNAME at its own origin, so the parent serves it.
    zones["com."] = "example 300 IN CNAME example.provider.test.\n"
    server = serve(zones)

    grouped = run_checks(server, environments)

    (check,) = grouped["domain"]
    assert check.status == "fail"
    assert check.detail.startswith(
        "apex is a CNAME to example.provider.test: a CNAME cannot sit beside"
    )


def test_a_domain_that_does_not_exist_is_reported_once(serve, environments) -> None:
    server = serve({"com.": "other 300 IN A 192.0.2.1\n"})

    grouped = run_checks(server, environments)
    dns_names = set(grouped) - {"ses-identity", "ses-dkim", "ses-mail-from"}

    assert dns_names - {"ses-sandbox"} == {"domain"}
    assert grouped["domain"][0].detail.startswith(
        "example.com does not exist (NXDOMAIN)"
    )
