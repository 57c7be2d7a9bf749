"""``mailctl doctor``: the live DNS, SES and SMTP endpoint of a domain, checked.

Each check gives one line, ``ok``, ``warn``, ``fail`` or ``skip``, and when
something is wrong the exact record or setting to put in its place. Expected
records come from :func:`mailcore.records.domain_records`, the code that
publishes them, so doctor and the stacks never disagree about what is right.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import smtplib
import ssl
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.rcode
import dns.resolver

from mailcore.config import DomainSettings, EnvironmentConfig
from mailcore.records import DnsRecord, environment_records, txt_value
from mailcore.regions import mail_from_mx_host, smtp_endpoint
from mailctl import spf
from mailctl.common import (
    AwsError,
    UsageError,
    add_environment_arguments,
    aws_client,
    check_timeout,
    find_domain,
    have_credentials,
    load_environment,
    tls_context,
)
from mailctl.ses_status import IdentityStatus, read_account, read_identity

__all__ = [
    "DEFAULT_SMTP_PORTS",
    "Check",
    "Dns",
    "SmtpTarget",
    "add_parser",
    "diagnose",
    "exit_status",
]

_HELP = """\
Check a deployed domain against its environment file, the way a receiving
mail server and SES see it:

  DNS   Easy DKIM CNAMEs (or your own DKIM key), the MAIL FROM MX and SPF, the
        apex SPF (one record, syntax, DNS lookups counted through every
        include <= 10, void lookups <= 2), DMARC (one record at _dmarc, valid
        tags), MX, and MTA-STS / TLS-RPT when published.
  SES   identity verification, DKIM and MAIL FROM status, sandbox and sending
        quota (needs AWS credentials; skipped with --no-aws).
  SMTP  the SES SMTP endpoint of the domain's region answers with TLS on 587
        and 2587 (STARTTLS) and 465 (TLS from the first byte).

Each check prints one line: ok, warn, fail or skip, with the value to set when
something is wrong.

Examples:
  python -m mailctl doctor --env production example.eu
  python -m mailctl doctor --env production example.eu --nameserver 1.1.1.1 --json

Exit status: 0 all checks pass, 1 warnings only, 2 failures (or bad input).
"""

DEFAULT_SMTP_PORTS = ("587:starttls", "465:tls", "2587:starttls")
_DMARC_TAGS = {"v", "p", "sp", "pct", "rua", "ruf", "adkim", "aspf", "fo", "rf", "ri"}
# Tags of DMARCbis (np, psd, t); RFC 7489 section 6.3 has receivers ignore
# tags they do not know, so these are accepted and other unknown ones warn.
_DMARC_NEWER_TAGS = {"np", "psd", "t"}
_DMARC_POLICIES = {"none", "quarantine", "reject"}


@dataclass(frozen=True)
class Check:
    """The result of one check; ``fix`` is the exact value to set, if any."""

    name: str
    status: str
    detail: str
    fix: str | None = None

    def line(self) -> str:
        text = f"{self.status:<4} {self.name}: {self.detail}"
        return f"{text}; set: {self.fix}" if self.fix else text


@dataclass(frozen=True)
class SmtpTarget:
    """One port of an SMTP endpoint and how TLS starts on it."""

    host: str
    port: int
    mode: str  # "starttls" or "tls"


class DnsError(Exception):
    """One query got no usable answer; ``str()`` says which and why."""


class NameserverSilent(DnsError):
    """The nameserver did not answer at all, so no later query will fare better."""


class Dns:
    """Queries through one resolver, with answers as plain text."""

    def __init__(
        self, *, nameserver: str | None, port: int = 53, timeout: float = 5.0
    ) -> None:
        if nameserver is None:
            try:
                self._resolver = dns.resolver.Resolver()
            except dns.resolver.NoResolverConfiguration:
                raise UsageError(
                    "no DNS resolver is configured on this machine: expected "
                    "--nameserver IP"
                ) from None
        else:
            self._resolver = dns.resolver.Resolver(configure=False)
            self._resolver.nameservers = [nameserver]
        self._resolver.port = port
        self._resolver.lifetime = timeout
        self._resolver.timeout = timeout

    def txt(self, name: str) -> list[tuple[str, ...]]:
        """Each TXT record at ``name`` as its character-strings."""
        return [
            tuple(s.decode("ascii", "replace") for s in rdata.strings)
            for rdata in self._answer(name, "TXT")
        ]

    def query(self, name: str, rtype: str) -> list[str]:
        """Records as text: TXT joined with nothing between, names without a dot."""
        if rtype == "TXT":
            return ["".join(strings) for strings in self.txt(name)]
        texts = []
        for rdata in self._answer(name, rtype):
            if rtype == "MX":
                host = rdata.exchange.to_text(omit_final_dot=True).lower()
                texts.append(f"{rdata.preference} {host}")
            elif rtype == "CNAME":
                texts.append(rdata.target.to_text(omit_final_dot=True).lower())
            else:
                texts.append(rdata.to_text())
        return texts

    def _answer(self, name: str, rtype: str) -> list[Any]:
        try:
            return list(self._resolver.resolve(name, rtype, search=False))
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.Timeout:
            raise NameserverSilent(f"{rtype} {name}: Timeout") from None
        except dns.resolver.NoNameservers as error:
            raise DnsError(f"{rtype} {name}: {_rcodes(error)}") from None
        except dns.exception.DNSException as error:
            raise DnsError(f"{rtype} {name}: {type(error).__name__}") from None

    def apex(self, name: str) -> list[str] | None:
        """None when ``name`` does not exist (NXDOMAIN), else its CNAME targets."""
        try:
            answer = self._resolver.resolve(name, "CNAME", search=False)
        except dns.resolver.NXDOMAIN:
            return None
        except dns.resolver.NoAnswer:
            return []
        except dns.exception.Timeout:
            raise NameserverSilent(f"CNAME {name}: Timeout") from None
        except dns.exception.DNSException as error:
            raise DnsError(f"CNAME {name}: {type(error).__name__}") from None
        return [rdata.target.to_text(omit_final_dot=True).lower() for rdata in answer]


def _rcodes(error: dns.resolver.NoNameservers) -> str:
    """The response codes the servers gave (SERVFAIL, REFUSED), as one word."""
    codes = []
    for attempt in error.kwargs.get("errors") or []:
        response = attempt[-1] if attempt else None
        if isinstance(response, dns.message.Message):
            codes.append(dns.rcode.to_text(response.rcode()))
    return "/".join(sorted(set(codes))) or "no nameserver answered"


def add_parser(commands: Any) -> None:
    """Register ``doctor`` on the ``mailctl`` subcommands."""
    parser = commands.add_parser(
        "doctor",
        help="check a domain's live DNS, SES status and SMTP endpoint",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_environment_arguments(parser)
    parser.add_argument("domain", metavar="DOMAIN", help="a domain of the environment")
    parser.add_argument(
        "--json", action="store_true", help="print the checks as JSON for scripts"
    )
    parser.add_argument(
        "--nameserver",
        metavar="IP",
        help="ask this DNS server (default: the system's resolver)",
    )
    parser.add_argument(
        "--dns-port",
        type=int,
        default=53,
        metavar="PORT",
        help="the port of --nameserver (default: 53)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="for each DNS query and SMTP connection (default: 5)",
    )
    parser.add_argument(
        "--no-aws", action="store_true", help="skip the SES status checks"
    )
    parser.add_argument(
        "--no-smtp", action="store_true", help="skip the SMTP endpoint checks"
    )
    parser.add_argument(
        "--smtp-host",
        metavar="HOST",
        help="the SMTP endpoint to check (default: email-smtp.REGION.amazonaws.com "
        "of the domain's SES region)",
    )
    parser.add_argument(
        "--smtp-port",
        action="append",
        metavar="PORT:MODE",
        help="a port to check and how TLS starts there, starttls or tls; repeat "
        f"for more (default: {' '.join(DEFAULT_SMTP_PORTS)})",
    )
    parser.add_argument(
        "--smtp-cafile",
        type=Path,
        metavar="FILE",
        help="trust the certificates in FILE instead of the system's CA bundle",
    )
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    """Run every check of one domain and print them; return the exit status."""
    config = load_environment(arguments)
    domain = find_domain(config, arguments.domain)
    region = config.ses_region_of(domain)
    _check_dns_options(arguments)
    targets = _smtp_targets(
        arguments.smtp_host or smtp_endpoint(region),
        arguments.smtp_port or DEFAULT_SMTP_PORTS,
    )
    context = tls_context("--smtp-cafile", arguments.smtp_cafile)

    sesv2 = None
    preamble: list[Check] = []
    if arguments.no_aws:
        preamble.append(Check("ses", "skip", "--no-aws given"))
    elif not have_credentials():
        preamble.append(
            Check("ses", "skip", "no AWS credentials found; SES status not checked")
        )
    else:
        sesv2 = aws_client("sesv2", region)

    checks = preamble + diagnose(
        config,
        domain,
        dns_client=Dns(
            nameserver=arguments.nameserver,
            port=arguments.dns_port,
            timeout=arguments.timeout,
        ),
        sesv2=sesv2,
        smtp=None if arguments.no_smtp else targets,
        tls_context=context,
        timeout=arguments.timeout,
    )
    status = exit_status(checks)
    if arguments.json:
        document = {
            "environment": config.name,
            "domain": domain.name,
            "ses_region": region,
            "checks": [asdict(check) for check in checks],
            "exit_status": status,
        }
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        sys.stdout.write("".join(check.line() + "\n" for check in checks))
    return status


def _check_dns_options(arguments: argparse.Namespace) -> None:
    if arguments.nameserver is not None:
        try:
            ipaddress.ip_address(arguments.nameserver)
        except ValueError:
            raise UsageError(
                f"--nameserver {arguments.nameserver!r}: expected an IP address "
                "such as 192.0.2.53"
            ) from None
    if not 0 < arguments.dns_port < 65536:
        raise UsageError(f"--dns-port {arguments.dns_port}: expected 1 to 65535")
    check_timeout("--timeout", arguments.timeout)


def exit_status(checks: Sequence[Check]) -> int:
    """2 when a check failed, 1 when one warned, otherwise 0."""
    statuses = {check.status for check in checks}
    if "fail" in statuses:
        return 2
    return 1 if "warn" in statuses else 0


def diagnose(
    config: EnvironmentConfig,
    domain: DomainSettings,
    *,
    dns_client: Dns,
    sesv2: Any | None,
    smtp: Sequence[SmtpTarget] | None,
    tls_context: ssl.SSLContext | None = None,
    timeout: float = 5.0,
) -> list[Check]:
    """Every check of ``domain``, in the order they are printed."""
    region = config.ses_region_of(domain)
    checks: list[Check] = []

    identity: IdentityStatus | None = None
    ses_problem: str | None = None
    if sesv2 is not None:
        try:
            identity = read_identity(sesv2, domain.name)
            checks.extend(_ses_identity_checks(domain, region, identity))
            checks.extend(_ses_account_checks(read_account(sesv2), region))
        except AwsError as error:
            checks.append(Check("ses", "fail", str(error)))
            ses_problem = "SES could not be read (see the ses check)"
        if identity is None and ses_problem is None:
            ses_problem = f"{domain.name} is not an SES identity in {region}"

    easy_dkim = identity.easy_dkim(domain.name) if identity else []
    records = environment_records(config, domain, easy_dkim=easy_dkim)
    dns_checks: list[Check] = []
    try:
        _dns_checks(
            domain,
            region,
            records,
            identity,
            dns_client,
            dns_checks,
            ses_read=sesv2 is not None,
            ses_problem=ses_problem,
        )
    except NameserverSilent as error:
        # Every later query would wait out the timeout too; one line says it.
        dns_checks.append(
            Check("dns", "fail", f"the nameserver did not answer {error}")
        )
    checks.extend(dns_checks)

    if smtp is not None:
        context = tls_context or ssl.create_default_context()
        checks.extend(_smtp_check(target, context, timeout) for target in smtp)
    return checks


def _ses_identity_checks(
    domain: DomainSettings, region: str, identity: IdentityStatus | None
) -> list[Check]:
    if identity is None:
        return [
            Check(
                "ses-identity",
                "fail",
                f"{domain.name} is not an SES identity in {region}",
                "deploy the domain's stack (cdk deploy -c env=NAME --all)",
            )
        ]
    checks = []
    if identity.verified:
        checks.append(Check("ses-identity", "ok", f"verified for sending in {region}"))
    else:
        status = "warn" if identity.verification_status == "PENDING" else "fail"
        checks.append(
            Check(
                "ses-identity",
                status,
                f"not verified for sending in {region} (status "
                f"{identity.verification_status}); SES verifies a domain through "
                "its DKIM records",
            )
        )

    wants_external = domain.dkim.signing == "byo"
    if identity.external_dkim != wants_external:
        checks.append(
            Check(
                "ses-dkim",
                "fail",
                f"SES signing origin is {identity.dkim_origin}, the environment "
                f"says dkim.signing: {domain.dkim.signing}",
                "deploy the domain's stack to apply the environment's DKIM settings",
            )
        )
    elif identity.dkim_status == "SUCCESS" and identity.dkim_signing:
        checks.append(Check("ses-dkim", "ok", "DKIM status SUCCESS, signing enabled"))
    elif identity.dkim_status in ("PENDING", "NOT_STARTED"):
        checks.append(
            Check(
                "ses-dkim",
                "warn",
                f"DKIM status {identity.dkim_status}: SES has not found the DKIM "
                "records yet (it keeps looking for 72 hours)",
            )
        )
    else:
        checks.append(
            Check(
                "ses-dkim",
                "fail",
                f"DKIM status {identity.dkim_status}, signing "
                f"{'enabled' if identity.dkim_signing else 'disabled'}",
                "publish the DKIM records listed below",
            )
        )

    if identity.mail_from_domain != domain.mail_from:
        checks.append(
            Check(
                "ses-mail-from",
                "fail",
                f"SES MAIL FROM domain is {identity.mail_from_domain or 'not set'}",
                f"{domain.mail_from} (deploy the domain's stack)",
            )
        )
    elif identity.mail_from_status == "SUCCESS":
        checks.append(
            Check("ses-mail-from", "ok", f"{domain.mail_from} status SUCCESS")
        )
    else:
        checks.append(
            Check(
                "ses-mail-from",
                "warn" if identity.mail_from_status == "PENDING" else "fail",
                f"{domain.mail_from} status {identity.mail_from_status}: SES has "
                "not found its MX record",
                f"{domain.mail_from}. MX 10 {mail_from_mx_host(region)}.",
            )
        )
    return checks


def _ses_account_checks(account: Any, region: str) -> list[Check]:
    quota = (
        f"quota {account.max_24_hour_send:.0f} messages a day, "
        f"{account.max_send_rate:.0f} a second, {account.sent_last_24_hours:.0f} "
        "sent in the last 24 hours"
    )
    checks = []
    if not account.sending_enabled:
        checks.append(
            Check(
                "ses-account",
                "fail",
                f"sending is paused for the account in {region} (enforcement "
                f"status {account.enforcement_status})",
            )
        )
    if account.production_access:
        checks.append(Check("ses-sandbox", "ok", f"production access; {quota}"))
    else:
        checks.append(
            Check(
                "ses-sandbox",
                "warn",
                f"the account is in the SES sandbox in {region}: verified "
                f"recipients only; {quota}",
                "request production access (SES console, Account dashboard)",
            )
        )
    return checks


def _dns_checks(
    domain: DomainSettings,
    region: str,
    records: list[DnsRecord],
    identity: IdentityStatus | None,
    dns_client: Dns,
    checks: list[Check],
    *,
    ses_read: bool,
    ses_problem: str | None,
) -> None:
    """Append each DNS check to ``checks``; one failed query fails one check."""
    by_key = {record.key: record for record in records}
    ttl = domain.ttl

    def guarded(name: str, run: Callable[[], Check | list[Check]]) -> None:
        try:
            result = run()
        except NameserverSilent:
            raise
        except DnsError as error:
            checks.append(
                Check(name, "fail", f"the nameserver answered {error} with an error")
            )
            return
        checks.extend(result if isinstance(result, list) else [result])

    exists = dns_client.apex(domain.name)
    if exists is None:
        checks.append(
            Check(
                "domain",
                "fail",
                f"{domain.name} does not exist (NXDOMAIN): register it or delegate "
                "it to the nameservers that hold its records",
            )
        )
        return
    if exists:
        checks.append(
            Check(
                "domain",
                "fail",
                f"apex is a CNAME to {', '.join(exists)}: a CNAME cannot sit beside "
                "the SOA, NS, MX and TXT records mail needs at the apex",
                f"delete the CNAME at {domain.name} and publish the records below",
            )
        )

    dkim = [record for record in records if record.key.startswith("DkimToken")]
    if domain.dkim.signing == "easy" and not dkim:
        if identity:
            reason = "SES has issued no DKIM tokens yet"
        elif ses_problem:
            reason = f"Easy DKIM tokens come from SES; {ses_problem}"
        elif ses_read:
            reason = "Easy DKIM tokens come from SES, which gave none"
        else:
            reason = "Easy DKIM tokens come from SES; run with AWS credentials"
        checks.append(Check("dkim", "skip", reason))
    for record in dkim:
        guarded(
            "dkim", lambda record=record: _exact_check("dkim", record, dns_client, ttl)
        )
    if "DkimPublicKey" in by_key:
        guarded(
            "dkim", lambda: _dkim_key_check(by_key["DkimPublicKey"], dns_client, ttl)
        )

    guarded(
        "mail-from-mx",
        lambda: _mail_from_mx_check(by_key["MailFromMx"], region, dns_client, ttl),
    )
    guarded(
        "mail-from-spf",
        lambda: _mail_from_spf_check(by_key["MailFromSpf"], dns_client, ttl),
    )
    guarded("spf", lambda: _apex_checks(domain, by_key.get("ApexTxt"), dns_client, ttl))
    guarded("dmarc", lambda: _dmarc_checks(domain, dns_client, ttl))
    if "InboundMx" in by_key:
        guarded("mx", lambda: _exact_check("mx", by_key["InboundMx"], dns_client, ttl))
    guarded("mta-sts", lambda: _policy_checks(domain, dns_client))


def _txt_line(name: str, text: str, ttl: int) -> str:
    """``text`` as a zone line, split into 255-byte strings as ``records`` does."""
    record = DnsRecord("Fix", name, "TXT", (txt_value(text),), "")
    return record.zone_lines(ttl)[0]


def _set(record: DnsRecord, ttl: int) -> str:
    return " | ".join(record.zone_lines(ttl))


def _exact_check(name: str, record: DnsRecord, dns_client: Dns, ttl: int) -> Check:
    found = sorted(dns_client.query(record.name, record.type))
    wanted = sorted(record.values)
    label = f"{record.name} {record.type}"
    if found == wanted:
        return Check(name, "ok", f"{label} {', '.join(found)}")
    shown = ", ".join(found) if found else "missing"
    return Check(name, "fail", f"{label} is {shown}", _set(record, ttl))


def _unquote(value: str) -> str:
    """The text of a wire-format TXT value, strings joined as receivers join them."""
    parts = value.split('" "')
    return "".join(part.strip('"') for part in parts).replace('\\"', '"')


def _dkim_tags(text: str) -> dict[str, str]:
    """The tags of a DKIM key record; values keep case, spaces are dropped."""
    tags = {}
    for part in text.split(";"):
        key, _, value = part.partition("=")
        tags[key.strip().lower()] = "".join(value.split())
    return tags


def _dkim_key_check(record: DnsRecord, dns_client: Dns, ttl: int) -> Check:
    wanted = _dkim_tags(_unquote(record.values[0]))
    found = [t for t in dns_client.query(record.name, "TXT") if "v=DKIM1" in t]
    if len(found) == 1:
        # Receivers read tags (RFC 6376 3.6.1): spaces around ";" and an absent
        # k= (rsa by default) make no difference, only the key does.
        tags = _dkim_tags(found[0])
        if tags.get("p") == wanted.get("p") and tags.get("k", "rsa").lower() == (
            wanted.get("k", "rsa").lower()
        ):
            return Check("dkim", "ok", f"{record.name} TXT holds the public key")
    detail = f"{record.name} TXT is {found[0][:60]!r}..." if found else "missing"
    if len(found) > 1:
        detail = f"{record.name} has {len(found)} DKIM key records"
    return Check("dkim", "fail", f"{record.name} TXT: {detail}", _set(record, ttl))


def _mail_from_mx_check(
    record: DnsRecord, region: str, dns_client: Dns, ttl: int
) -> Check:
    found = dns_client.query(record.name, "MX")
    if found == list(record.values):
        return Check("mail-from-mx", "ok", f"{record.name} MX {found[0]}")
    wrong = [
        value for value in found if ".amazonses.com" in value and region not in value
    ]
    if wrong:
        detail = (
            f"{record.name} MX {', '.join(wrong)} is another region's; the domain "
            f"sends from SES in {region}"
        )
    else:
        detail = f"{record.name} MX is {', '.join(found) or 'missing'}"
    return Check("mail-from-mx", "fail", detail, _set(record, ttl))


def _mail_from_spf_check(record: DnsRecord, dns_client: Dns, ttl: int) -> Check:
    found = spf.spf_records(dns_client.query(record.name, "TXT"))
    if (
        len(found) == 1
        and not spf.syntax_problems(found[0])
        and "include:amazonses.com" in found[0].lower().split()
    ):
        return Check("mail-from-spf", "ok", f"{record.name} TXT {found[0]!r}")
    if not found:
        detail = f"{record.name} has no SPF record"
    elif len(found) > 1:
        detail = f"{record.name} has {len(found)} SPF records"
    else:
        detail = f"{record.name} SPF {found[0]!r} does not allow SES"
    return Check("mail-from-spf", "fail", detail, _set(record, ttl))


def _apex_checks(
    domain: DomainSettings, record: DnsRecord | None, dns_client: Dns, ttl: int
) -> list[Check]:
    apex = domain.name
    txt = dns_client.txt(apex)
    joined = ["".join(strings) for strings in txt]
    checks: list[Check] = []

    if domain.spf.enabled:
        wanted = domain.spf.value()
        fix = _txt_line(apex, wanted, ttl)
        found = [
            strings for strings in txt if "".join(strings).lower().startswith("v=spf1")
        ]
        if not found:
            checks.append(Check("spf", "fail", f"{apex} has no SPF record", fix))
        elif len(found) > 1:
            checks.append(
                Check(
                    "spf",
                    "fail",
                    f"{apex} has {len(found)} SPF records; receivers treat that as "
                    "a permanent error; merge them into one",
                    fix,
                )
            )
        else:
            checks.extend(_spf_record_checks(apex, found[0], wanted, fix, dns_client))

    missing = [text for text in domain.txt if text not in joined]
    if missing and record is not None:
        checks.append(
            Check(
                "apex-txt",
                "warn",
                f"{apex} TXT lacks {', '.join(repr(t) for t in missing)}",
                _set(record, ttl),
            )
        )
    elif domain.txt:
        checks.append(Check("apex-txt", "ok", f"{apex} TXT holds every txt value"))
    return checks


def _spf_record_checks(
    apex: str,
    strings: tuple[str, ...],
    wanted: str,
    fix: str,
    dns_client: Dns,
) -> list[Check]:
    text = "".join(strings)

    def lookup(name: str, rtype: str) -> list[str]:
        try:
            return dns_client.query(name, rtype)
        except DnsError as error:
            # Even a timeout here is likely the include's own servers, not ours.
            raise spf.TemporaryError(str(error).partition(": ")[2]) from None

    report = spf.check_spf(apex, lookup, record=text)
    checks = []
    if report.temperror:
        checks.append(
            Check(
                "spf",
                "fail",
                f"{apex} SPF {text!r}: temperror: {report.temperror}; receivers "
                "defer or reject until that lookup answers",
            )
        )
        return checks
    if report.problems:
        detail = f"{apex} SPF {text!r}: {report.problems[0]}"
        if len(strings) > 1:
            detail += (
                f" (the record is {len(strings)} strings, which receivers join "
                "with nothing between: a space at a split must sit inside a string)"
            )
        checks.append(Check("spf", "fail", detail, fix))
        return checks
    if text != wanted:
        checks.append(
            Check(
                "spf",
                "warn",
                f"{apex} SPF {text!r} differs from the environment's",
                fix,
            )
        )
    else:
        checks.append(Check("spf", "ok", f"{apex} TXT {text!r}"))

    if report.over_limit:
        checks.append(
            Check(
                "spf-lookups",
                "fail",
                f"evaluating {apex} takes more than {spf.LOOKUP_LIMIT} DNS lookups "
                f"through its includes; receivers stop at {spf.LOOKUP_LIMIT} "
                "(permerror)",
                "fewer include:, a, mx, ptr and exists terms, or ip4:/ip6: ranges",
            )
        )
    else:
        checks.append(
            Check(
                "spf-lookups",
                "ok",
                f"{report.lookups} of {spf.LOOKUP_LIMIT} DNS lookups, includes counted",
            )
        )
    if report.void_lookups > spf.VOID_LOOKUP_LIMIT:
        checks.append(
            Check(
                "spf-void",
                "fail",
                f"{report.void_lookups} lookups find nothing; receivers stop at "
                f"{spf.VOID_LOOKUP_LIMIT} (RFC 7208 4.6.4)",
                "remove the terms naming domains without records",
            )
        )
    elif report.void_lookups:
        checks.append(
            Check(
                "spf-void",
                "warn",
                f"{report.void_lookups} lookup(s) find nothing; "
                f"{spf.VOID_LOOKUP_LIMIT + 1} would fail the check",
            )
        )
    return checks


def _dmarc_tags(text: str) -> list[tuple[str, str]] | str:
    """The tags of ``text``, names and values lower case, or why it is unreadable."""
    tags: list[tuple[str, str]] = []
    for part in text.split(";"):
        if not part.strip():
            continue
        key, equals, value = part.partition("=")
        if not equals:
            return f"{part.strip()!r} is not a tag=value pair"
        tags.append((key.strip().lower(), value.strip()))
    if not tags or tags[0] != ("v", "DMARC1"):
        return "the record must start with v=DMARC1"
    # RFC 7489 section 6.4: every tag but v is case-insensitive (p=Reject is fine).
    return [tags[0], *((key, value.lower()) for key, value in tags[1:])]


def dmarc_problems(text: str) -> list[str]:
    """What a receiver would reject in the DMARC record ``text`` (RFC 7489)."""
    tags = _dmarc_tags(text)
    if isinstance(tags, str):
        return [tags]
    found = dict(tags)
    problems = []
    if "p" in found and found["p"] not in _DMARC_POLICIES:
        problems.append(f"p={found['p']!r}: expected p=none, p=quarantine or p=reject")
    if "sp" in found and found["sp"] not in _DMARC_POLICIES:
        problems.append(f"sp={found['sp']!r}: expected none, quarantine or reject")
    if "pct" in found and not (
        found["pct"].isdigit() and 0 <= int(found["pct"]) <= 100
    ):
        problems.append(f"pct={found['pct']!r}: expected 0 to 100")
    for tag in ("adkim", "aspf"):
        if tag in found and found[tag] not in ("r", "s"):
            problems.append(f"{tag}={found[tag]!r}: expected r or s")
    for tag in ("rua", "ruf"):
        for uri in filter(None, found.get(tag, "").split(",")):
            if not uri.strip().startswith("mailto:"):
                problems.append(f"{tag} {uri.strip()!r}: expected mailto:ADDRESS")
    return problems


def dmarc_warnings(text: str) -> list[str]:
    """What receivers accept in ``text`` but probably is not what was meant."""
    tags = _dmarc_tags(text)
    if isinstance(tags, str):
        return []
    warnings = []
    if "p" not in dict(tags):
        warnings.append("no p= tag, so receivers apply p=none")
    known = _DMARC_TAGS | _DMARC_NEWER_TAGS
    warnings.extend(
        f"unknown tag {key!r}, which receivers ignore"
        for key, _ in tags
        if key not in known
    )
    return warnings


def _dmarc_checks(domain: DomainSettings, dns_client: Dns, ttl: int) -> list[Check]:
    apex = domain.name
    name = f"_dmarc.{apex}"
    wanted = domain.dmarc.value()
    fix = _txt_line(name, wanted, ttl)
    checks = []
    at_apex = [t for t in dns_client.query(apex, "TXT") if t.startswith("v=DMARC1")]
    if at_apex:
        checks.append(
            Check(
                "dmarc",
                "fail",
                f"a DMARC record is at {apex}, where receivers never look; it "
                f"belongs at {name}",
                f"delete the v=DMARC1 TXT at {apex}; {fix}",
            )
        )
    found = [
        t for t in dns_client.query(name, "TXT") if t.lower().startswith("v=dmarc")
    ]
    if not found:
        if domain.dmarc.enabled:
            checks.append(Check("dmarc", "fail", f"{name} has no DMARC record", fix))
        return checks
    if len(found) > 1:
        checks.append(
            Check(
                "dmarc",
                "fail",
                f"{name} has {len(found)} DMARC records; receivers ignore them all",
                fix,
            )
        )
        return checks
    problems = dmarc_problems(found[0])
    warnings = dmarc_warnings(found[0])
    if problems:
        checks.append(
            Check("dmarc", "fail", f"{name} {found[0]!r}: {problems[0]}", fix)
        )
    elif warnings:
        checks.append(
            Check("dmarc", "warn", f"{name} {found[0]!r}: {warnings[0]}", fix)
        )
    elif domain.dmarc.enabled and _dmarc_tags(found[0]) != _dmarc_tags(wanted):
        checks.append(
            Check(
                "dmarc",
                "warn",
                f"{name} {found[0]!r} differs from the environment's",
                fix,
            )
        )
    else:
        checks.append(Check("dmarc", "ok", f"{name} TXT {found[0]!r}"))
    return checks


def _policy_checks(domain: DomainSettings, dns_client: Dns) -> list[Check]:
    # NOTE: the environment has no MTA-STS / TLS-RPT settings yet, so these records
    # are checked when published, and the MTA-STS policy file is not fetched
    # (README, "Known limitations").
    checks = []
    for check_name, name, prefix, required in (
        ("mta-sts", f"_mta-sts.{domain.name}", "v=STSv1", "id"),
        ("tls-rpt", f"_smtp._tls.{domain.name}", "v=TLSRPTv1", "rua"),
    ):
        found = [t for t in dns_client.query(name, "TXT") if t.startswith("v=")]
        if not found:
            continue
        tags = dict(
            part.strip().partition("=")[::2] for part in found[0].split(";") if part
        )
        if len(found) > 1:
            checks.append(Check(check_name, "fail", f"{name} has {len(found)} records"))
        elif not found[0].startswith(prefix) or not tags.get(required):
            checks.append(
                Check(
                    check_name,
                    "fail",
                    f"{name} {found[0]!r}: expected {prefix}; {required}=...",
                )
            )
        else:
            checks.append(Check(check_name, "ok", f"{name} TXT {found[0]!r}"))
    return checks


def _smtp_targets(host: str, ports: Sequence[str]) -> list[SmtpTarget]:
    targets = []
    for entry in ports:
        port, _, mode = entry.partition(":")
        if (
            not port.isdigit()
            or not 0 < int(port) < 65536
            or mode
            not in (
                "starttls",
                "tls",
            )
        ):
            raise UsageError(
                f"--smtp-port {entry!r}: expected PORT:starttls or PORT:tls, such "
                "as 587:starttls"
            )
        target = SmtpTarget(host, int(port), mode)
        if target not in targets:
            targets.append(target)
    return targets


def _smtp_check(target: SmtpTarget, context: ssl.SSLContext, timeout: float) -> Check:
    name = f"smtp-{target.port}"
    where = f"{target.host}:{target.port}"
    try:
        if target.mode == "tls":
            with smtplib.SMTP_SSL(
                target.host, target.port, context=context, timeout=timeout
            ) as client:
                client.ehlo()
                version = client.sock.version()
            how = "TLS from the first byte"
        else:
            with smtplib.SMTP(target.host, target.port, timeout=timeout) as client:
                client.ehlo()
                if not client.has_extn("starttls"):
                    return Check(name, "fail", f"{where} does not offer STARTTLS")
                client.starttls(context=context)
                client.ehlo()
                version = client.sock.version()
            how = "STARTTLS"
    except ssl.SSLCertVerificationError as error:
        return Check(
            name, "fail", f"{where}: certificate not trusted ({error.verify_message})"
        )
    except ConnectionRefusedError:
        return Check(
            name,
            "fail",
            f"{where} refused the connection: nothing listens on port "
            f"{target.port} there (a firewall that blocks drops, it does not refuse)",
        )
    except ssl.SSLError as error:
        if error.reason == "WRONG_VERSION_NUMBER":
            other = "starttls" if target.mode == "tls" else "tls"
            return Check(
                name,
                "fail",
                f"{where} did not speak TLS as {target.mode} expects: the port "
                f"speaks the other mode; try --smtp-port {target.port}:{other}",
            )
        return Check(name, "fail", f"{where}: TLS failed ({error.reason or error})")
    except (TimeoutError, ConnectionError, OSError, smtplib.SMTPException) as error:
        return Check(
            name,
            "fail",
            f"{where}: {type(error).__name__}: {error or 'no answer'}; a firewall, "
            "security group or network ACL may block outbound port "
            f"{target.port}",
        )
    return Check(name, "ok", f"{where} answers with {how} ({version})")
