"""What every ``mailctl`` command shares: errors, environments and AWS clients."""

from __future__ import annotations

import argparse
import getpass
import math
import ssl
import sys
from pathlib import Path
from typing import Any

from mailcore.config import ConfigError, DomainSettings, EnvironmentConfig
from mailcore.config import load_environment as _load_environment
from mailcore.names import normalise_domain

__all__ = [
    "ENVIRONMENTS",
    "MAX_TIMEOUT",
    "AwsError",
    "UsageError",
    "add_environment_arguments",
    "aws_client",
    "check_timeout",
    "find_domain",
    "have_credentials",
    "load_environment",
    "read_hidden",
    "tls_context",
]

# The environments/ folder of the repository this package sits in.
ENVIRONMENTS = Path(__file__).resolve().parent.parent / "environments"

# Longer than any DNS or SMTP server takes to answer; an "inf" or 1e300 from a
# typo would otherwise make a command hang with no way to tell why.
MAX_TIMEOUT = 300.0


class UsageError(Exception):
    """A mistake in what the user gave; ``str()`` is the one line to show."""


class AwsError(Exception):
    """AWS could not be asked or said no; ``str()`` is the one line to show."""


def add_environment_arguments(parser: argparse.ArgumentParser) -> None:
    """``--env NAME`` and ``--environments DIR``, as every command reads them."""
    parser.add_argument(
        "--env",
        required=True,
        metavar="NAME",
        help="the environment, as in cdk deploy -c env=NAME",
    )
    parser.add_argument(
        "--environments",
        type=Path,
        default=ENVIRONMENTS,
        metavar="DIR",
        help="the folder of environment files (default: environments/ of the "
        "repository)",
    )


def load_environment(arguments: argparse.Namespace) -> EnvironmentConfig:
    """The environment ``--env`` names, read exactly as ``cdk deploy`` reads it."""
    try:
        return _load_environment(arguments.env, arguments.environments, option="--env")
    except ConfigError as error:
        raise UsageError(str(error)) from None


def find_domain(config: EnvironmentConfig, name: str) -> DomainSettings:
    """The domain of ``config`` called ``name`` (any case, trailing dot or not)."""
    try:
        wanted = normalise_domain(name)
    except ValueError:
        wanted = name
    for domain in config.domains:
        if domain.name == wanted:
            return domain
    known = ", ".join(domain.name for domain in config.domains)
    raise UsageError(
        f"domain {name!r} is not in environment {config.name!r}: expected one of "
        f"{known}"
    )


def aws_client(service: str, region: str | None) -> Any:
    """A boto3 client; imported here so that offline commands never need boto3.

    A misspelt ``AWS_PROFILE`` or a missing region is the user's configuration,
    not an AWS failure, so it is a :class:`UsageError`.
    """
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        return boto3.client(service, region_name=region)
    except BotoCoreError as error:
        raise UsageError(f"AWS configuration: {error}") from None


def have_credentials() -> bool:
    """Whether boto3 finds credentials; a bad profile is a :class:`UsageError`."""
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        return boto3.Session().get_credentials() is not None
    except BotoCoreError as error:
        raise UsageError(f"AWS configuration: {error}") from None


def check_timeout(flag: str, seconds: float) -> float:
    """``seconds`` when it is above 0 and at most :data:`MAX_TIMEOUT`."""
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_TIMEOUT):
        raise UsageError(
            f"{flag} {seconds}: expected seconds above 0 and at most {MAX_TIMEOUT:.0f}"
        )
    return seconds


def tls_context(flag: str, cafile: Path | None) -> ssl.SSLContext:
    """A verifying TLS context trusting ``cafile`` (or the system's CA bundle)."""
    if cafile is None:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=str(cafile))
    except FileNotFoundError:
        raise UsageError(f"{flag} {str(cafile)!r}: no such file") from None
    except (OSError, ssl.SSLError):
        # ssl reports a file without certificates as a bare library error
        # ("[X509: NO_CERTIFICATE_OR_CRL_FOUND]"), which says nothing to a user.
        raise UsageError(
            f"{flag} {str(cafile)!r}: expected a file of PEM certificates"
        ) from None


def read_hidden(prompt: str, expected: str) -> str:
    """A line typed without echo, stripped; :class:`UsageError` if none comes.

    ``expected`` names what was asked for, for the one-line error when
    standard input is closed or ends (Ctrl-D) before a line is given.
    """
    if sys.stdin is None:
        raise UsageError(f"standard input is closed: expected {expected}")
    try:
        # A password pasted from a file or a console often brings a CR or
        # spaces with it; no SES SMTP password or access key holds any.
        return getpass.getpass(prompt).strip()
    except EOFError:
        raise UsageError(f"standard input ended: expected {expected}") from None
