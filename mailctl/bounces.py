"""``mailctl bounces DOMAIN``: a domain's recorded delivery events, grouped by type.

The table is found the way a deployment names it: the environment file gives
the domain's stack name and SES region, and the stack's
``DeliveryEventsTableName`` output names the table. Nothing is written.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from mailcore import names
from mailcore.bounce_settings import EVENTS_TABLE_OUTPUT
from mailcore.config import ConfigError, load_environment

__all__ = ["EVENT_TYPES", "add_parser", "parse_since"]

ENVIRONMENTS = Path(__file__).resolve().parent.parent / "environments"
EVENT_TYPES = ("Bounce", "Complaint", "Reject", "DeliveryDelay")
_SINCE = re.compile(r"^(\d{1,5})([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

_HELP = """\
Print the bounces, complaints, rejects and delivery delays recorded for DOMAIN
since --since, grouped by type: time, recipient, subtype, diagnostic and
whether the address is on the suppression list.

The events table is the one the domain's stack names in its
DeliveryEventsTableName output, read in the domain's SES region with your usual
AWS credentials (dynamodb:Query, cloudformation:DescribeStacks).

Example:
  python -m mailctl bounces example.com --since 7d --env production

Exit status: 0 on success, 2 for a mistake in the arguments, an environment
without bounce handling, or a stack or table that cannot be read.
"""


class _Problem(Exception):
    pass


def add_parser(commands: Any) -> None:
    """Register ``bounces`` on the ``mailctl`` subcommands."""
    parser = commands.add_parser(
        "bounces",
        help="list a domain's recorded bounces, complaints, rejects and delays",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("domain", metavar="DOMAIN", help="a domain of the environment")
    parser.add_argument(
        "--since",
        default="24h",
        metavar="AGE",
        help="how far back: a number and m, h, d or w, such as 30m or 7d (default 24h)",
    )
    parser.add_argument(
        "--env",
        default="example",
        metavar="NAME",
        help="the environment file environments/NAME.yaml (default example)",
    )
    parser.add_argument(
        "--environments",
        default=str(ENVIRONMENTS),
        metavar="DIR",
        help="the folder of environment files (default: this checkout's)",
    )
    parser.set_defaults(run=_run)


def parse_since(text: str, *, now: datetime) -> datetime:
    """``24h`` -> ``now`` minus 24 hours; ValueError with what was expected."""
    match = _SINCE.match(text.strip().lower())
    if not match:
        raise ValueError(
            f"--since {text!r}: expected a number and a unit m, h, d or w, such as "
            "24h or 7d"
        )
    amount, unit = int(match[1]), match[2]
    return now - timedelta(**{_UNITS[unit]: amount})


def _run(arguments: argparse.Namespace) -> int:
    # Imported here: mailctl.cli imports this module to register the parser.
    from mailctl.cli import UsageError

    try:
        since = parse_since(arguments.since, now=datetime.now(UTC))
        lines = _report(arguments, since)
    except (ValueError, _Problem) as problem:
        raise UsageError(str(problem)) from None
    print("\n".join(lines))  # noqa: T201
    return 0


def _report(arguments: argparse.Namespace, since: datetime) -> list[str]:
    try:
        config = load_environment(
            arguments.env, Path(arguments.environments), option="--env"
        )
    except ConfigError as error:
        raise _Problem(str(error)) from None
    try:
        wanted = names.normalise_domain(arguments.domain)
    except ValueError as error:
        raise _Problem(f"DOMAIN {arguments.domain!r}: {error}") from None
    domain = next((d for d in config.domains if d.name == wanted), None)
    if domain is None:
        known = ", ".join(d.name for d in config.domains)
        raise _Problem(
            f"DOMAIN {wanted!r} is not in environment {config.name}: expected one "
            f"of {known}"
        )
    if config.bounces is None or not config.bounces.enabled:
        raise _Problem(
            f"environment {config.name} records no delivery events: expected a "
            "'bounces:' block in its file (see README.md, Bounces and complaints)"
        )

    region = config.ses_region_of(domain)
    stack = config.stack_name_of(domain)
    table = _table_name(stack, region)
    start = since.strftime("%Y-%m-%dT%H:%M:%S")
    found = {kind: list(_events(table, region, kind, start)) for kind in EVENT_TYPES}

    lines = [
        f"{domain.name}: events since {start}Z (table {table}, {region})",
    ]
    for kind in EVENT_TYPES:
        lines.append(f"{kind}: {len(found[kind])}")
        for item in found[kind]:
            lines.append(
                "  "
                + "  ".join(
                    part
                    for part in (
                        item.get("timestamp", ""),
                        item.get("recipient", ""),
                        item.get("subtype", ""),
                        item.get("diagnostic", ""),
                        f"suppression: {item.get('suppression', '?')}",
                    )
                    if part
                )
            )
    return lines


def _table_name(stack: str, region: str) -> str:
    try:
        response = boto3.client("cloudformation", region_name=region).describe_stacks(
            StackName=stack
        )
    except ClientError as error:
        raise _Problem(
            f"stack {stack} in {region}: {error.response['Error'].get('Message')}: "
            "expected it deployed with bounce handling on"
        ) from None
    except BotoCoreError as error:
        raise _Problem(f"cannot reach AWS in {region}: {error}") from None
    outputs = response["Stacks"][0].get("Outputs", [])
    for output in outputs:
        if output["OutputKey"] == EVENTS_TABLE_OUTPUT:
            return str(output["OutputValue"])
    raise _Problem(
        f"stack {stack} in {region} has no {EVENTS_TABLE_OUTPUT} output: expected "
        "it deployed with bounce handling on (deploy it again)"
    )


def _events(table: str, region: str, kind: str, start: str) -> Iterator[dict[str, str]]:
    client = boto3.client("dynamodb", region_name=region)
    arguments: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "event_type = :kind AND event_id >= :start",
        "ExpressionAttributeValues": {":kind": {"S": kind}, ":start": {"S": start}},
    }
    try:
        for page in client.get_paginator("query").paginate(**arguments):
            for item in page["Items"]:
                yield {key: next(iter(value.values())) for key, value in item.items()}
    except ClientError as error:
        raise _Problem(
            f"table {table} in {region}: {error.response['Error'].get('Message')}"
        ) from None
