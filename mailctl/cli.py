"""The ``mailctl`` command line: one argparse subcommand per operator task."""

from __future__ import annotations

import argparse
import string
import sys
from collections.abc import Sequence

from mailcore.regions import SES_REGIONS
from mailctl import bounces, doctor, records_command, send_test
from mailctl.common import AwsError, UsageError, read_hidden
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
    except EOFError:
        # A safety net: each prompt turns this into its own UsageError.
        sys.stderr.write(
            f"mailctl {arguments.command}: error: standard input ended before "
            "the input asked for\n"
        )
        return 2
    except UnicodeError:
        # Never str(error): it quotes the offending character and its position,
        # and the text being encoded may be a password.
        sys.stderr.write(
            f"mailctl {arguments.command}: error: a value holds a character that "
            "cannot be sent: expected ASCII\n"
        )
        return 2


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
        invalid = _invalid_characters(key)
        if invalid:
            found = f"holds {' and '.join(invalid)}"
        else:
            found = f"is {len(key)} characters" if key else "is empty"
        raise UsageError(
            f"the key read from standard input {found}: expected an IAM secret "
            "access key, 40 characters of A-Z, a-z, 0-9, + and /"
        )

    sys.stdout.write(smtp_password(key, region) + "\n")
    return 0


_KEY_ALPHABET = frozenset(string.ascii_letters + string.digits + "+/")


def _invalid_characters(key: str) -> list[str]:
    """The kinds of characters in ``key`` no access key holds, never the characters.

    The key is secret, so the message may say what kind of character is wrong
    but must not show it or where it is.
    """
    kinds = {
        "whitespace": any(c.isspace() for c in key),
        "a non-ASCII character": any(not c.isascii() for c in key),
        "a quote": any(c in "'\"`" for c in key),
        "a control character": any(c.isascii() and not c.isprintable() for c in key),
    }
    named = [kind for kind, present in kinds.items() if present]
    other = any(
        c.isascii()
        and c.isprintable()
        and not c.isspace()
        and c not in "'\"`"
        and c not in _KEY_ALPHABET
        for c in key
    )
    if other:
        named.append("punctuation other than + and /")
    return named


def _read_key() -> str:
    expected = "an IAM secret access key"
    if sys.stdin is None:
        raise UsageError(f"standard input is closed: expected {expected}")
    if sys.stdin.isatty():
        key = read_hidden("IAM secret access key: ", expected)
    else:
        lines = sys.stdin.read().splitlines()
        if len([line for line in lines if line.strip()]) > 1:
            raise UsageError(
                "standard input holds more than one line: expected the secret "
                "access key alone"
            )
        key = "".join(lines).strip()
    # Notepad and some consoles save UTF-8 with a byte order mark in front.
    return key.removeprefix("\ufeff").strip()
