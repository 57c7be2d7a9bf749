"""WorkMail of an environment: one organisation, its domains, users and groups.

``workmail:`` in an environment file becomes one stack in the WorkMail region.
The models here check each entry on its own; :func:`workmail_problem` holds the
checks that need the rest of the environment (its domains and their regions)
and ``mailcore.config`` turns what it returns into a ``ConfigError``.

Nothing that holds mail is deleted when it leaves the file or the stack is
destroyed, unless its entry says ``delete_on_remove: true``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from mailcore import names
from mailcore.settings_base import Settings

if TYPE_CHECKING:
    from mailcore.config import EnvironmentConfig

__all__ = [
    "END_OF_SUPPORT_WARNING",
    "NO_NEW_CUSTOMERS_SINCE",
    "SERVICE_ENDS_ON",
    "WORKMAIL_REGIONS",
    "WORKMAIL_REGIONS_CHECKED",
    "WorkMailDomainSettings",
    "WorkMailGroupSettings",
    "WorkMailOrganizationSettings",
    "WorkMailSettings",
    "WorkMailUserSettings",
    "autodiscover_target",
    "workmail_problem",
]

WORKMAIL_REGIONS_CHECKED = "2026-12-03"
# The regions with a WorkMail endpoint on the date above; AWS opens no new ones
# (see the end of support below).
WORKMAIL_REGIONS: frozenset[str] = frozenset({"eu-west-1", "us-east-1", "us-west-2"})

NO_NEW_CUSTOMERS_SINCE = "2026-04-30"
SERVICE_ENDS_ON = "2027-03-31"
END_OF_SUPPORT_WARNING = (
    f"Amazon WorkMail takes no new customers since {NO_NEW_CUSTOMERS_SINCE} and "
    f"ends on {SERVICE_ENDS_ON}: accounts already using it keep working until "
    "then. Plan the move of inbound mail to SES receiving (inbound: ses) and of "
    "mailboxes to another provider."
)

_ORGANIZATION_ID = re.compile(r"^m-[0-9a-f]{32}$")
# WorkMail's organisation alias: letters, digits and single inner hyphens, not
# starting with "d-" (directory ids look like that).
_ORGANIZATION_ALIAS = re.compile(r"^(?!d-)[a-z0-9]+(-[a-z0-9]+)*$")
_ORGANIZATION_ALIAS_LIMIT = 62
_ENTITY_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
# Narrower than RFC 5322: the pattern of WorkMail's EmailAddress shape.
_WORKMAIL_LOCAL_PART = re.compile(r"^[a-z0-9._%+-]{1,64}$")
_ROLES = {"user": "USER", "system_user": "SYSTEM_USER"}


def autodiscover_target(region: str) -> str:
    """Where ``autodiscover.<domain>`` points for WorkMail in ``region``."""
    return f"autodiscover.mail.{region}.awsapps.com"


class WorkMailOrganizationSettings(Settings):
    """The organisation: one to create with ``alias``, or one to ``adopt``."""

    alias: str | None = None
    adopt: str | None = None
    delete_on_remove: bool = False

    @field_validator("alias")
    @classmethod
    def _alias(cls, value: str | None) -> str | None:
        if value is None:
            return value
        value = value.lower()
        if len(value) > _ORGANIZATION_ALIAS_LIMIT or not _ORGANIZATION_ALIAS.match(
            value
        ):
            raise ValueError(
                f"expected 1 to {_ORGANIZATION_ALIAS_LIMIT} letters, digits and "
                "single inner hyphens, not starting with 'd-', such as 'acme-mail'"
            )
        return value

    @field_validator("adopt")
    @classmethod
    def _adopt(cls, value: str | None) -> str | None:
        if value is None:
            return value
        value = value.lower()
        if value.startswith("m-") and not _ORGANIZATION_ID.match(value):
            raise ValueError(
                "expected an organisation id, m- and 32 hexadecimal digits, or the "
                "alias of an existing organisation"
            )
        if not value.startswith("m-") and not _ORGANIZATION_ALIAS.match(value):
            raise ValueError(
                "expected an organisation id such as m-0123456789abcdef0123456789"
                "abcdef or the alias of an existing organisation"
            )
        return value

    @model_validator(mode="after")
    def _one_way(self) -> WorkMailOrganizationSettings:
        if (self.alias is None) == (self.adopt is None):
            raise ValueError(
                "expected exactly one of alias (create an organisation) or adopt "
                "(the id or alias of an existing one)"
            )
        if self.adopt is not None and self.delete_on_remove:
            raise ValueError(
                "delete_on_remove is not allowed with adopt: expected an adopted "
                "organisation to be deleted by whoever created it"
            )
        return self

    @property
    def adopt_id(self) -> str | None:
        """The id of the organisation to adopt, when given as an id."""
        return self.adopt if self.adopt and self.adopt.startswith("m-") else None

    @property
    def adopt_alias(self) -> str | None:
        """The alias of the organisation to adopt, when given as an alias."""
        return self.adopt if self.adopt and not self.adopt.startswith("m-") else None


class WorkMailDomainSettings(Settings):
    """A domain of ``domains`` served by the organisation."""

    name: str = Field(description="a domain listed in the environment's domains")
    default: bool = False
    delete_on_remove: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return names.normalise_domain(value)


class _Entity(Settings):
    name: str = Field(description="a name such as 'jane.doe'")
    email: str | None = None
    aliases: list[str] = Field(default_factory=list)
    delete_on_remove: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.lower()
        if not _ENTITY_NAME.match(value):
            raise ValueError(
                "expected 1 to 64 lower-case letters, digits, dots, hyphens and "
                "underscores, starting with a letter or digit, such as 'jane.doe'"
            )
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return None if value is None else _address(value)

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, value: list[str]) -> list[str]:
        cleaned = []
        for entry in value:
            address = _address(entry)
            if address in cleaned:
                raise ValueError(f"{entry!r} is listed twice; expected each once")
            cleaned.append(address)
        return cleaned

    @property
    def construct_id(self) -> str:
        """The construct id: ``jane.doe`` -> ``JaneDoe``; checked unique in config."""
        return "".join(
            part.capitalize() for part in re.split(r"[._-]+", self.name) if part
        )


class WorkMailUserSettings(_Entity):
    """A user with a mailbox. ``enabled: false`` disables it (the console's Disable)."""

    display_name: str = Field(description="a display name such as 'Jane Doe'")
    role: Literal["user", "system_user"] = "user"
    enabled: bool = True

    @field_validator("display_name")
    @classmethod
    def _display_name(cls, value: str) -> str:
        if not value or len(value) > 256 or not value.isprintable():
            raise ValueError("expected 1 to 256 printable characters")
        return value

    @property
    def api_role(self) -> str:
        """The role as the WorkMail API spells it."""
        return _ROLES[self.role]


class WorkMailGroupSettings(_Entity):
    """A group with an address; mail to it goes to every member."""

    members: list[str] = Field(default_factory=list)

    @field_validator("members")
    @classmethod
    def _members(cls, value: list[str]) -> list[str]:
        cleaned = [member.strip().lower() for member in value]
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("a member is listed twice; expected each once")
        return cleaned


class WorkMailSettings(Settings):
    """Everything ``workmail:`` holds."""

    region: str = Field(description="us-east-1, us-west-2 or eu-west-1")
    organization: WorkMailOrganizationSettings = Field(
        description="alias: <name> to create one, or adopt: <id or alias>"
    )
    domains: list[WorkMailDomainSettings] = Field(
        min_length=1, description="the domains the organisation serves"
    )
    users: list[WorkMailUserSettings] = Field(default_factory=list)
    groups: list[WorkMailGroupSettings] = Field(default_factory=list)

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if value not in WORKMAIL_REGIONS:
            regions = ", ".join(sorted(WORKMAIL_REGIONS))
            raise ValueError(f"expected a region with WorkMail: {regions}")
        return value

    @field_validator("domains", mode="before")
    @classmethod
    def _plain_domains(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [
                {"name": entry} if isinstance(entry, str) else entry for entry in value
            ]
        return value

    @property
    def default_domain(self) -> str:
        """The domain marked ``default``, else the first one."""
        marked = [domain.name for domain in self.domains if domain.default]
        return marked[0] if marked else self.domains[0].name

    def email_of(self, entity: WorkMailUserSettings | WorkMailGroupSettings) -> str:
        """An entity's primary address: as set, else ``<name>@<default domain>``."""
        return entity.email or f"{entity.name}@{self.default_domain}"


def workmail_problem(config: EnvironmentConfig) -> str | None:
    """The first mistake across ``workmail`` and the rest, as one line, or None."""
    settings = config.workmail
    if settings is None:
        return None

    configured = {domain.name: domain for domain in config.domains}
    # WorkMail receives through the region's active receipt rule set, which it
    # manages itself; SES receiving here needs that one set to be ours.
    for index, domain in enumerate(config.domains):
        if (
            domain.inbound is not None
            and config.ses_region_of(domain) == settings.region
        ):
            return (
                f"domains[{index}].inbound = {domain.inbound.type!r}: WorkMail "
                f"receives in {settings.region} through the region's one active "
                "receipt rule set: expected SES receiving in another region, or "
                "the domain served by WorkMail"
            )
    served: dict[str, int] = {}
    defaults = []
    for index, entry in enumerate(settings.domains):
        where = f"workmail.domains[{index}]"
        if entry.name in served:
            return (
                f"{where}.name = {entry.name!r}: expected each domain once; it is "
                f"also workmail.domains[{served[entry.name]}]"
            )
        served[entry.name] = index
        domain = configured.get(entry.name)
        if domain is None:
            return (
                f"{where}.name = {entry.name!r}: expected a domain listed in "
                f"domains ({', '.join(configured)})"
            )
        ses_region = config.ses_region_of(domain)
        if ses_region != settings.region:
            return (
                f"{where}.name = {entry.name!r}: the domain sends through SES in "
                f"{ses_region}, WorkMail is in {settings.region}: expected the "
                f"domain's ses_region to be {settings.region}, so that WorkMail "
                "uses the SES identity and DKIM records the domain's stack makes"
            )
        if domain.mx:
            return (
                f"domains[{list(configured).index(entry.name)}].mx = "
                f"{[mx.host for mx in domain.mx]!r}: {entry.name} receives mail "
                "in WorkMail: expected no mx hosts for it (its MX record points "
                "at WorkMail)"
            )
        if domain.inbound is not None:
            return (
                f"domains[{list(configured).index(entry.name)}].inbound = "
                f"{domain.inbound.type!r}: {entry.name} receives mail in WorkMail: "
                "expected either inbound (SES receiving) or a WorkMail domain, not "
                "both (each points the domain's MX record elsewhere)"
            )
        if entry.default:
            defaults.append(index)
    if len(defaults) > 1:
        return (
            f"workmail.domains[{defaults[1]}].default = True: expected one default "
            f"domain; workmail.domains[{defaults[0]}] is already the default"
        )

    entities: dict[str, str] = {}
    ids: dict[str, str] = {}
    addresses: dict[str, str] = {}
    everyone = [("users", entry) for entry in settings.users] + [
        ("groups", entry) for entry in settings.groups
    ]
    counters = {"users": 0, "groups": 0}
    for kind, entity in everyone:
        where = f"workmail.{kind}[{counters[kind]}]"
        counters[kind] += 1
        if entity.name in entities:
            return (
                f"{where}.name = {entity.name!r}: expected each user and group "
                f"name once; it is also {entities[entity.name]}"
            )
        entities[entity.name] = where
        if entity.construct_id in ids:
            return (
                f"{where}.name = {entity.name!r}: expected names that differ by "
                "more than dots, hyphens and underscores; compare "
                f"{ids[entity.construct_id]}"
            )
        ids[entity.construct_id] = where
        primary = settings.email_of(entity)
        listed = [("email", primary)] + [
            (f"aliases[{i}]", alias) for i, alias in enumerate(entity.aliases)
        ]
        for setting, address in listed:
            domain = address.rpartition("@")[2]
            if domain not in served:
                return (
                    f"{where}.{setting} = {address!r}: expected an address in a "
                    f"WorkMail domain ({', '.join(served)})"
                )
            if address in addresses:
                return (
                    f"{where}.{setting} = {address!r}: expected each address once; "
                    f"it is also used by {addresses[address]}"
                )
            addresses[address] = where

    groups = {group.name for group in settings.groups}
    users = {user.name for user in settings.users}
    for index, group in enumerate(settings.groups):
        for position, member in enumerate(group.members):
            where = f"workmail.groups[{index}].members[{position}]"
            if member == group.name:
                return (
                    f"{where} = {member!r}: expected a member other than the "
                    "group itself"
                )
            if member not in users and member not in groups:
                return (
                    f"{where} = {member!r}: expected the name of a user or group "
                    "in workmail.users or workmail.groups"
                )
    cycle = _group_cycle(settings.groups)
    if cycle:
        return (
            f"workmail.groups = {' -> '.join(cycle)!r}: expected groups that do not "
            "contain each other in a circle"
        )
    return None


def _group_cycle(groups: list[WorkMailGroupSettings]) -> list[str]:
    members = {group.name: list(group.members) for group in groups}

    def visit(name: str, path: list[str]) -> list[str]:
        for member in members.get(name, []):
            if member in path:
                return [*path[path.index(member) :], member]
            found = visit(member, [*path, member])
            if found:
                return found
        return []

    for name in members:
        found = visit(name, [name])
        if found:
            return found
    return []


def _address(value: str) -> str:
    address = names.normalise_address(value, example="jane@example.com")
    if not _WORKMAIL_LOCAL_PART.match(address.rpartition("@")[0]):
        raise ValueError(
            f"{value!r}: WorkMail takes only letters, digits and . _ % + - before "
            "the @; expected an address such as jane@example.com"
        )
    return address
