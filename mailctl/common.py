"""What every ``mailctl`` command shares: errors, environments and AWS clients."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mailcore.config import ConfigError, DomainSettings, EnvironmentConfig
from mailcore.config import load_environment as _load_environment
from mailcore.names import normalise_domain

__all__ = [
    "ENVIRONMENTS",
    "AwsError",
    "UsageError",
    "add_environment_arguments",
    "aws_client",
    "find_domain",
    "load_environment",
]

# The environments/ folder of the repository this package sits in.
ENVIRONMENTS = Path(__file__).resolve().parent.parent / "environments"


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
    """A boto3 client; imported here so that offline commands never need boto3."""
    import boto3

    return boto3.client(service, region_name=region)
