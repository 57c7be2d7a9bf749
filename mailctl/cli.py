"""The ``mailctl`` command line: one argparse subcommand per operator task."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence

from mailcore.regions import SES_REGIONS
from mailctl import bounces, doctor, records_command, send_test
from mailctl.common import AwsError, UsageError
from mailctl.derivation import is_secret_access_key, smtp_password

__all__ = ["UsageError", "main"]

_SMTP_PASSWORD_HELP = """\
Read an IAM secret access key from standard input and print the SES SMTP
password derived from it for --region, alone on one line.

The key is never taken as an argument, so it stays out of shell history and
process listings. From a terminal it is asked for without echo; otherwise the
first line of standard input is read. A password works in one SES region only:
give the region the SMTP client connects to (email-smtp.REGION.amazonaws.com).

Example:
  aws configure get aws_secret_access_key --profile smtp \\
    | python -m mailctl smtp-password --region eu-west-1

Exit status: 0 on success, 2 for a malformed key or a region without SES.
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mailctl`` with ``argv``; return the exit status."""
    parser = _parser()
    arguments = parser.parse_args(argv)
    try:
        return int(arguments.run(arguments))
    except UsageError as error:
        sys.stderr.write(f"mailctl {arguments.command}: error: {error}\n")
        return 2
    except AwsError as error:
        sys.stderr.write(f"mailctl {arguments.command}: {error}\n")
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mailctl",
        description="Operator commands for the email stacks of this project.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    smtp = commands.add_parser(
        "smtp-password",
        help="derive the SES SMTP password of an IAM secret access key",
        description=_SMTP_PASSWORD_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    smtp.add_argument(
        "--region",
        required=True,
        metavar="REGION",
        help="the SES region the password is for, such as eu-west-1",
    )
    smtp.set_defaults(run=_smtp_password)
    records_command.add_parser(commands)
    doctor.add_parser(commands)
    send_test.add_parser(commands)
    bounces.add_parser(commands)
    return parser


def _smtp_password(arguments: argparse.Namespace) -> int:
    region = arguments.region.strip().lower()
    if region not in SES_REGIONS:
        raise UsageError(
            f"--region {arguments.region!r}: expected a region where SES offers "
            "SMTP, such as eu-west-1 (the list is in mailcore/regions.py)"
        )

    key = _read_key()
    if not is_secret_access_key(key):
        raise UsageError(
            f"the key read from standard input is {len(key)} characters: expected "
            "an IAM secret access key, 40 characters of A-Z, a-z, 0-9, + and /"
        )

    sys.stdout.write(smtp_password(key, region) + "\n")
    return 0


def _read_key() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("IAM secret access key: ").strip()
    lines = sys.stdin.read().splitlines()
    if len([line for line in lines if line.strip()]) > 1:
        raise UsageError(
            "standard input holds more than one line: expected the secret access "
            "key alone"
        )
    return "".join(lines).strip()
