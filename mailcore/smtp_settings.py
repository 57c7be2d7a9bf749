"""SMTP users of an environment: who may send as what, through which SES region.

Each entry of ``smtp_users:`` becomes an IAM user allowed to send as the
addresses in ``send_as`` only, and a Secrets Manager secret holding its SMTP
credentials. :func:`smtp_users_problem` holds the checks that need the rest of
the environment (its domains and regions); ``mailcore.config`` turns what it
returns into a ``ConfigError``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from mailcore import names
from mailcore.regions import SES_REGIONS
from mailcore.settings_base import Settings

if TYPE_CHECKING:
    from mailcore.config import EnvironmentConfig

__all__ = [
    "SmtpUserSettings",
    "iam_user_name",
    "iam_user_name_pattern",
    "secret_name",
    "secret_name_pattern",
    "smtp_users_problem",
]

_USER_NAME = re.compile(r"^[a-z](-?[a-z0-9])*$")
_USER_NAME_LIMIT = 32
_IAM_USER_NAME_LIMIT = 64
# Without ?, $, { and }: in the StringLike condition the policy turns send_as
# into, ? matches any one character and ${...} is a policy variable.
_POLICY_SPECIAL = re.compile(r"[?${}]")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_PRINCIPAL = re.compile(
    r"^arn:aws(-[a-z]+)*:(iam|sts)::(?P<account>\d{12}):"
    r"(root|(user|role|assumed-role)/[\w+=,.@/-]+)$"
)
_KMS_KEY = re.compile(
    r"^arn:aws(-[a-z]+)*:kms:(?P<region>[a-z]{2}(-[a-z]+)+-\d):"
    r"(?P<account>\d{12}):key/[0-9a-f-]{36}$"
)


class SmtpUserSettings(Settings):
    """One SMTP user: an IAM user that may send as ``send_as`` through SES."""

    name: str = Field(description="a user name such as 'app-relay'")
    ses_region: str | None = None
    send_as: list[str] = Field(
        min_length=1,
        description=(
            "a list of domains, addresses or patterns such as noreply-*@example.com"
        ),
    )
    rotation: int = Field(0, ge=0, strict=True)
    readers: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if len(value) > _USER_NAME_LIMIT or not _USER_NAME.match(value):
            raise ValueError(
                f"expected 1 to {_USER_NAME_LIMIT} lower-case letters, digits and "
                "single hyphens, starting with a letter, such as 'app-relay'"
            )
        return value

    @field_validator("ses_region")
    @classmethod
    def _region_shape(cls, value: str | None) -> str | None:
        if value is not None and not _REGION.match(value):
            raise ValueError("expected an AWS region name such as eu-west-1")
        return value

    @field_validator("send_as")
    @classmethod
    def _send_as(cls, value: list[str]) -> list[str]:
        entries = []
        for entry in value:
            normal = _normalise_sender(entry)
            if normal in entries:
                raise ValueError(f"{entry!r} is listed twice; expected each once")
            entries.append(normal)
        return entries

    @field_validator("readers")
    @classmethod
    def _readers(cls, value: list[str]) -> list[str]:
        for reader in value:
            if not _PRINCIPAL.match(reader):
                raise ValueError(
                    f"{reader!r} is not an IAM principal ARN; expected a role, user "
                    "or account root ARN such as arn:aws:iam::123456789012:role/app"
                )
        if len(set(value)) != len(value):
            raise ValueError("a reader is listed twice; expected each once")
        return value

    @property
    def construct_id(self) -> str:
        """The construct id: the name in PascalCase, ``app-relay`` -> ``AppRelay``.

        Names have single hyphens only, so two names never give the same id.
        Renaming a user replaces its IAM user, key and secret.
        """
        return "".join(part.capitalize() for part in self.name.split("-"))

    @property
    def domains(self) -> list[str]:
        """Every domain ``send_as`` names, whole or through an address, sorted."""
        return sorted({entry.rpartition("@")[2] for entry in self.send_as})

    @property
    def whole_domains(self) -> list[str]:
        """Domains the user may send any address of."""
        return [entry for entry in self.send_as if "@" not in entry]

    @property
    def addresses(self) -> list[str]:
        """Addresses and patterns of domains not allowed whole."""
        whole = set(self.whole_domains)
        return [
            entry
            for entry in self.send_as
            if "@" in entry and entry.rpartition("@")[2] not in whole
        ]

    def region_in(self, environment_region: str) -> str:
        """The SES region the user sends through."""
        return self.ses_region or environment_region


def iam_user_name(app: str, environment: str, user: SmtpUserSettings) -> str:
    """The IAM user name of an SMTP user: ``<app>-<environment>-smtp-<name>``."""
    return f"{app}-{environment}-smtp-{user.name}"


def iam_user_name_pattern(app: str, environment: str) -> str:
    """An IAM ``*`` pattern matching :func:`iam_user_name` of every user."""
    return f"{app}-{environment}-smtp-*"


def secret_name_pattern(app: str, environment: str) -> str:
    """An IAM ``*`` pattern matching :func:`secret_name` of every user.

    The ``*`` also covers the suffix Secrets Manager adds to a secret's ARN.
    """
    return f"{app}/{environment}/smtp/*"


def secret_name(app: str, environment: str, user: SmtpUserSettings) -> str:
    """The name of the secret holding a user's SMTP credentials."""
    return f"{app}/{environment}/smtp/{user.name}"


def smtp_users_problem(config: EnvironmentConfig) -> str | None:
    """The first mistake across ``smtp_users`` and the rest, as one line, or None."""
    key_arn = config.secrets_kms_key_arn
    if key_arn is not None:
        key = _KMS_KEY.match(key_arn)
        if key is None:
            return (
                f"secrets_kms_key_arn = {key_arn!r}: expected a KMS key ARN such as "
                "arn:aws:kms:eu-west-1:123456789012:key/<key id> (an alias is not "
                "accepted)"
            )
        if config.region is not None and key["region"] != config.region:
            return (
                f"secrets_kms_key_arn = {key_arn!r}: the key is in {key['region']}: "
                f"expected a key in the environment's region {config.region}"
            )
    if not config.smtp_users:
        return None
    if config.region is None:
        return (
            "region is missing: expected the environment's region, where the "
            "shared stack holding smtp_users is deployed"
        )

    allowed = SES_REGIONS | set(config.additional_ses_regions)
    domain_regions = {d.name: config.ses_region_of(d) for d in config.domains}
    seen: dict[str, int] = {}
    for index, user in enumerate(config.smtp_users):
        where = f"smtp_users[{index}]"
        if user.name in seen:
            return (
                f"{where}.name = {user.name!r}: expected each SMTP user once; it is "
                f"also smtp_users[{seen[user.name]}]"
            )
        seen[user.name] = index

        region = user.region_in(config.region)
        if region not in allowed:
            setting = f"{where}.ses_region" if user.ses_region else "region"
            return (
                f"{setting} = {region!r}: expected a region where SES sends mail "
                "(see mailcore/regions.py, or list a newer one in "
                "additional_ses_regions)"
            )

        iam_name = iam_user_name(config.app, config.name, user)
        if len(iam_name) > _IAM_USER_NAME_LIMIT:
            return (
                f"{where}.name = {user.name!r}: the IAM user name {iam_name!r} is "
                f"{len(iam_name)} characters: expected at most "
                f"{_IAM_USER_NAME_LIMIT} (shorten the name, app or environment)"
            )

        for position, entry in enumerate(user.send_as):
            domain = entry.rpartition("@")[2]
            if domain not in domain_regions:
                return (
                    f"{where}.send_as[{position}] = {entry!r}: {domain} is not in "
                    "domains: expected a domain, or an address of a domain, that "
                    "this environment configures"
                )
            if domain_regions[domain] != region:
                return (
                    f"{where}.send_as[{position}] = {entry!r}: {domain} sends "
                    f"through SES in {domain_regions[domain]}, the user through "
                    f"{region}: expected a domain of the user's ses_region, or "
                    f"ses_region: {domain_regions[domain]}"
                )

        for position, reader in enumerate(user.readers):
            principal = _PRINCIPAL.match(reader)
            assert principal is not None, "checked by the field validator"
            other_account = config.account and principal["account"] != config.account
            if other_account and key_arn is None:
                return (
                    f"{where}.readers[{position}] = {reader!r}: a reader in another "
                    "account cannot decrypt with the AWS-managed key: expected "
                    "secrets_kms_key_arn set to a customer managed key that "
                    "account may use"
                )
    return None


def _normalise_sender(entry: str) -> str:
    """A send_as entry: a domain in lower case, or an address or address pattern
    whose domain is in lower case and whose local part is kept as written.

    SES compares ``ses:FromAddress`` case-sensitively, so lower-casing the local
    part would refuse mail sent from the address exactly as configured.
    """
    text = entry.strip()
    if "@" not in text:
        try:
            return names.normalise_domain(text.lower())
        except ValueError as error:
            raise ValueError(f"{entry!r}: {error}") from None

    local, _, domain = text.rpartition("@")
    if _POLICY_SPECIAL.search(local):
        raise ValueError(
            f"{entry!r} has ?, $, {{ or }}, which IAM reads as a wildcard or a "
            "policy variable: expected an address or a pattern using * only"
        )
    if local.strip("*") == "":
        raise ValueError(
            f"{entry!r} is not an address or pattern; expected a domain such as "
            "example.com, an address such as alerts@example.com or a pattern such "
            "as noreply-*@example.com"
        )
    if "*" in domain:
        raise ValueError(
            f"{entry!r}: a pattern may only use * before the @; expected a "
            "whole domain after it"
        )
    # * is one of the characters a dot-atom allows, so a pattern is checked as
    # an address; only its domain is folded to lower case.
    address = names.normalise_address(entry, example="alerts@example.com")
    return f"{local}@{address.rpartition('@')[2]}"
