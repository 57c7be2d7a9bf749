"""``mailctl records``: the DNS records a domain needs, built as the stacks build them.

Offline, the records come from the environment file alone; Easy DKIM CNAMEs are
issued by SES when the identity is created, so they are listed as needing a
deploy. With ``--live`` the DKIM tokens are read from SES v2 in the domain's SES
region.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from mailcore.config import DomainSettings, EnvironmentConfig
from mailcore.records import DnsRecord, environment_records
from mailctl.common import (
    AwsError,
    add_environment_arguments,
    aws_client,
    find_domain,
    load_environment,
)
from mailctl.ses_status import read_identity

__all__ = ["add_parser", "expected_records"]

_HELP = """\
Print every DNS record the domains of an environment need: DKIM, the custom
MAIL FROM domain's MX and SPF, the apex SPF and other TXT values, DMARC and MX.
The records are built by the same code that writes them to Route 53, so what
this prints is what a deploy publishes.

Easy DKIM CNAMEs are issued by SES when the identity is created. Without
--live they are listed as pending; with --live they are read from SES v2
(GetEmailIdentity) in the domain's SES region, using your AWS credentials.

Examples:
  python -m mailctl records --env production
  python -m mailctl records --env production example.eu --format zone --live

Exit status: 0 on success, 1 when SES cannot be read (--live), 2 for a bad
environment or domain.
"""


def add_parser(commands: Any) -> None:
    """Register ``records`` on the ``mailctl`` subcommands."""
    parser = commands.add_parser(
        "records",
        help="print the DNS records a domain needs (table, zone file or JSON)",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_environment_arguments(parser)
    parser.add_argument(
        "domain",
        nargs="?",
        metavar="DOMAIN",
        help="one domain of the environment (default: all of them)",
    )
    parser.add_argument(
        "--format",
        choices=("table", "zone", "json"),
        default="table",
        help="table for people, zone for a zone file or DNS host, json for "
        "scripts (default: table)",
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="read the Easy DKIM tokens from SES (needs AWS credentials)",
    )
    parser.set_defaults(run=run)


def expected_records(
    config: EnvironmentConfig,
    domain: DomainSettings,
    *,
    sesv2: Any | None,
) -> tuple[list[DnsRecord], list[str]]:
    """The records of ``domain`` and what is still unknown, as sentences.

    With an SES v2 client the Easy DKIM CNAMEs come from SES; without one
    they are reported as needing a deploy.
    """
    region = config.ses_region_of(domain)
    pending: list[str] = []
    easy_dkim: list[tuple[str, str]] = []
    if domain.dkim.signing == "easy":
        if sesv2 is None:
            pending.append(
                f"3 Easy DKIM CNAMEs <token>._domainkey.{domain.name}: SES issues "
                f"the tokens when the identity is created in {region}; deploy, "
                "then run with --live"
            )
        else:
            identity = read_identity(sesv2, domain.name)
            if identity is None:
                pending.append(
                    f"3 Easy DKIM CNAMEs: {domain.name} is not an SES identity in "
                    f"{region} yet; deploy its stack first"
                )
            elif identity.external_dkim:
                pending.append(
                    f"SES signs {domain.name} with a key of your own (BYODKIM) but "
                    "the environment says dkim.signing: easy; deploy to switch"
                )
            else:
                easy_dkim = identity.easy_dkim(domain.name)
                if not easy_dkim:
                    pending.append(
                        f"3 Easy DKIM CNAMEs: SES in {region} reports no tokens or "
                        f"no SigningHostedZone for {domain.name} yet; the targets "
                        "are not guessed, run again once it does"
                    )
    records = environment_records(config, domain, easy_dkim=easy_dkim)
    return records, pending


def run(arguments: argparse.Namespace) -> int:
    """Print the records; return the exit status."""
    config = load_environment(arguments)
    domains = (
        [find_domain(config, arguments.domain)] if arguments.domain else config.domains
    )
    results = []
    for domain in domains:
        sesv2 = None
        if arguments.live:
            sesv2 = aws_client("sesv2", config.ses_region_of(domain))
        try:
            records, pending = expected_records(config, domain, sesv2=sesv2)
        except AwsError as error:
            sys.stderr.write(f"mailctl records: {domain.name}: {error}\n")
            return 1
        results.append((domain, records, pending))

    if arguments.format == "json":
        sys.stdout.write(json.dumps(_as_json(config, results), indent=2) + "\n")
    elif arguments.format == "zone":
        sys.stdout.write(_as_zone(results))
    else:
        sys.stdout.write(_as_table(results))
    return 0


def _as_json(config: EnvironmentConfig, results: list) -> dict[str, Any]:
    return {
        "environment": config.name,
        "domains": [
            {
                "domain": domain.name,
                "ses_region": config.ses_region_of(domain),
                "ttl": domain.ttl,
                "records": [
                    {
                        "name": record.name,
                        "type": record.type,
                        "values": list(record.values),
                        "purpose": record.purpose,
                    }
                    for record in records
                ],
                "pending": pending,
            }
            for domain, records, pending in results
        ],
    }


def _as_zone(results: list) -> str:
    lines = []
    for domain, records, pending in results:
        lines.append(f"; {domain.name}")
        for record in records:
            lines.extend(record.zone_lines(domain.ttl))
        lines.extend(f"; pending: {sentence}" for sentence in pending)
        lines.append("")
    return "\n".join(lines)


def _as_table(results: list) -> str:
    rows = [("NAME", "TYPE", "PURPOSE", "VALUE")]
    notes = []
    for domain, records, pending in results:
        for record in records:
            for value in record.values:
                rows.append((record.name, record.type, record.purpose, value))
        notes.extend(f"pending ({domain.name}): {sentence}" for sentence in pending)
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    lines = [
        "  ".join(
            [
                *(cell.ljust(width) for cell, width in zip(row, widths, strict=False)),
                row[3],
            ]
        )
        for row in rows
    ]
    return "\n".join([*lines, *notes]) + "\n"
