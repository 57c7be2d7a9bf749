"""The settings of one environment: a YAML file in ``environments/``, as typed models.

Every setting is checked here, before any construct exists. A mistake becomes one
:class:`ConfigError` whose message is a single line naming the file, the setting,
the value and what was expected::

    environments/prod.yaml: domains[0].mail_from = 'bounce.other.org': expected ...

The reference of every setting and its default is in README.md.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mailcore import dns_checks, names
from mailcore.bounce_settings import BounceSettings
from mailcore.inbound_settings import InboundSettings, inbound_problem
from mailcore.records import records_problem
from mailcore.regions import SES_REGIONS
from mailcore.relay_settings import RelaySettings, relay_problem
from mailcore.settings_base import Settings
from mailcore.smtp_settings import SmtpUserSettings, smtp_users_problem
from mailcore.workmail_settings import WorkMailSettings, workmail_problem

__all__ = [
    "ConfigError",
    "DkimSettings",
    "DmarcSettings",
    "DomainSettings",
    "EnvironmentConfig",
    "HostedZoneSettings",
    "MxHost",
    "SpfSettings",
    "load_environment",
    "parse_environment",
]

_SPF_LOOKUP_LIMIT = 10
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_APP_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
_ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{0,29}$")
_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,32}$")
_SELECTOR = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SECRET_ID = re.compile(
    r"^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:)?[A-Za-z0-9/_+=.@-]{1,512}$"
)
_JSON_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")

# Stack names carry app, environment and domain; CloudFormation allows 128.
_STACK_NAME_LIMIT = 128
_PRODUCTION_PARTS = {"prod", "production", "prd", "live"}
_CONFIGURATION_SET_NAME_LIMIT = 64
_TAG_LIMIT = 50
_TAG_PUNCTUATION = "_ . : / = + - @"


class ConfigError(Exception):
    """A setting that cannot be used; ``str()`` is the one line to show the user."""


class _DuplicateKeyError(Exception):
    def __init__(self, key: object, line: int) -> None:
        super().__init__(key, line)
        self.key = key
        self.line = line


_BASE_60_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key written twice is an error.

    Plain PyYAML keeps the last of two equal keys, so a second ``region:`` line
    would silently win over the first.
    """

    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        tag = super().resolve(kind, value, implicit)
        # YAML 1.1 reads 1:30 as the base-60 number 90; in a settings file it is
        # a typo far more often than a number, so it stays text and is refused.
        if tag in _BASE_60_TAGS and ":" in value:
            return "tag:yaml.org,2002:str"
        return tag

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[object] = set()
        for key_node, _ in node.value:
            # A merge key (<<: *defaults) has no value of its own; the keys it
            # brings in may be overridden here, as YAML intends, so only keys
            # written in this mapping are compared.
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise _DuplicateKeyError(key, key_node.start_mark.line + 1)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class HostedZoneSettings(Settings):
    """Where the domain's DNS records go in Route 53."""

    create: bool = False
    id: str | None = None
    name: str | None = None

    @field_validator("id")
    @classmethod
    def _zone_id(cls, value: str | None) -> str | None:
        if value is not None and not _ZONE_ID.match(value):
            raise ValueError(
                "expected a Route 53 hosted zone id such as Z0123456789ABC"
            )
        return value

    @field_validator("name")
    @classmethod
    def _zone_name(cls, value: str | None) -> str | None:
        return None if value is None else names.normalise_domain(value)

    @model_validator(mode="after")
    def _one_way(self) -> HostedZoneSettings:
        if self.create and (self.id or self.name):
            raise ValueError(
                "expected either create: true or an existing zone's id and name, "
                "not both"
            )
        if not self.create and not (self.id and self.name):
            raise ValueError(
                "expected create: true, or both id and name of an existing zone"
            )
        return self


class DkimSettings(Settings):
    """How SES signs the domain's mail."""

    signing: Literal["easy", "byo"] = "easy"
    key_length: Literal[1024, 2048] = 2048
    selector: str | None = None
    private_key_secret: str | None = None
    private_key_field: str | None = None
    public_key: str | None = None

    @field_validator("selector")
    @classmethod
    def _selector(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.lower()
        if not _SELECTOR.match(value):
            raise ValueError("expected a DNS label such as 'ses2026'")
        return value

    @field_validator("public_key")
    @classmethod
    def _public_key(cls, value: str | None) -> str | None:
        return None if value is None else dns_checks.rsa_public_key(value)

    @field_validator("private_key_secret")
    @classmethod
    def _secret_id(cls, value: str | None) -> str | None:
        if value is not None and (len(value) > 256 or not _SECRET_ID.match(value)):
            raise ValueError(
                "expected the name or ARN of a Secrets Manager secret, such as "
                "'mail/dkim/example.com' (never the key itself)"
            )
        return value

    @field_validator("private_key_field")
    @classmethod
    def _json_key(cls, value: str | None) -> str | None:
        if value is not None and not _JSON_KEY.match(value):
            raise ValueError("expected a JSON key of the secret, such as 'private_key'")
        return value

    @model_validator(mode="after")
    def _fields_match_signing(self) -> DkimSettings:
        byo_fields = ("selector", "private_key_secret", "public_key")
        if self.signing == "easy":
            given = [f for f in (*byo_fields, "private_key_field") if getattr(self, f)]
            if given:
                raise ValueError(
                    f"{given[0]} applies to signing: byo only; expected it removed "
                    "or signing: byo"
                )
            return self
        missing = [f for f in byo_fields if not getattr(self, f)]
        if missing:
            raise ValueError(
                f"signing: byo needs {', '.join(missing)}; expected the selector, "
                "the Secrets Manager secret holding the private key, and the "
                "public key"
            )
        if "key_length" in self.model_fields_set:
            raise ValueError(
                "key_length applies to signing: easy only; expected no key_length "
                "with signing: byo (your key has the length it was made with)"
            )
        return self


class SpfSettings(Settings):
    """The domain's own SPF record at its apex."""

    enabled: bool = True
    mechanisms: list[str] = Field(default_factory=lambda: ["include:amazonses.com"])
    all: Literal["~all", "-all"] = "~all"

    @field_validator("mechanisms")
    @classmethod
    def _mechanisms(cls, value: list[str]) -> list[str]:
        terms = [term.strip() for term in value]
        for term in terms:
            lowered = term.lower()
            if lowered.startswith("v=spf1"):
                raise ValueError(
                    "'v=spf1' is written by the project; expected mechanisms only, "
                    "such as 'include:_spf.example.net'"
                )
            if lowered.lstrip("+-~?") == "all":
                raise ValueError(
                    f"{term!r} goes in spf.all, which always ends the record; "
                    "expected mechanisms only"
                )
            if lowered.startswith("redirect="):
                raise ValueError(
                    f"{term!r}: a redirect is ignored when the record ends in "
                    "'all'; expected include: instead"
                )
            dns_checks.check_spf_term(term)
        if len({t.lower() for t in terms}) != len(terms):
            raise ValueError("a mechanism is listed twice; expected each once")
        lookups = spf_lookup_count(terms)
        if lookups > _SPF_LOOKUP_LIMIT:
            raise ValueError(
                f"{lookups} mechanisms query DNS; expected at most "
                f"{_SPF_LOOKUP_LIMIT} (RFC 7208 lookup limit)"
            )
        # ip4: and ip6: ranges cost no lookup, so only the length bounds them.
        length = len(" ".join(["v=spf1", *terms, "~all"]))
        if length > dns_checks.TXT_TEXT_LIMIT:
            raise ValueError(
                f"the SPF record would be {length} characters; expected at most "
                f"{dns_checks.TXT_TEXT_LIMIT} (fewer mechanisms, or wider ranges)"
            )
        return terms

    def value(self) -> str:
        """The record as published: ``v=spf1 <mechanisms> <all>``."""
        return " ".join(["v=spf1", *self.mechanisms, self.all])


def spf_lookup_count(terms: list[str]) -> int:
    """How many of ``terms`` make an SPF evaluation query DNS (include, a, mx, ...)."""
    count = 0
    for term in terms:
        word = re.split(r"[:/=]", term.lower().lstrip("+-~?"), maxsplit=1)[0]
        if word in dns_checks.SPF_LOOKUP_TERMS:
            count += 1
    return count


# A DMARC report size limit: bytes, or kilo-, mega-, giga- or terabytes.
_DMARC_SIZE = re.compile(r"^\d{1,15}[kmgt]?$")
_DMARC_POLICY = Literal["none", "quarantine", "reject"]


class DmarcSettings(Settings):
    """The domain's DMARC record at ``_dmarc.<domain>``."""

    enabled: bool = True
    policy: _DMARC_POLICY = "none"
    subdomain_policy: _DMARC_POLICY | None = None
    pct: int = Field(100, ge=0, le=100)
    rua: list[str] = Field(default_factory=list)
    ruf: list[str] = Field(default_factory=list)
    adkim: Literal["r", "s"] = "r"
    aspf: Literal["r", "s"] = "r"

    @field_validator("rua", "ruf")
    @classmethod
    def _report_addresses(cls, value: list[str]) -> list[str]:
        uris = []
        for entry in value:
            address = entry.strip()
            if address.lower().startswith("mailto:"):
                address = address[len("mailto:") :]
            # RFC 7489 gives '!' one meaning in a report URI: a size limit
            # follows. Anywhere else, receivers would cut the address there.
            address, bang, size = address.partition("!")
            if bang and not _DMARC_SIZE.match(size.lower()):
                raise ValueError(
                    f"{entry!r}: '!' starts a report size limit; expected an "
                    "address without '!', optionally followed by a limit such as "
                    "'!10m'"
                )
            address = names.normalise_address(address, example="dmarc@example.com")
            uris.append(f"mailto:{address}{bang}{size.lower()}")
        return uris

    @model_validator(mode="after")
    def _fits_one_record(self) -> DmarcSettings:
        length = len(self.value())
        if length > dns_checks.TXT_TEXT_LIMIT:
            raise ValueError(
                f"the DMARC record would be {length} characters; expected at most "
                f"{dns_checks.TXT_TEXT_LIMIT} (fewer rua and ruf addresses)"
            )
        return self

    def value(self) -> str:
        """The record as published, tags in the order RFC 7489 shows them."""
        tags = ["v=DMARC1", f"p={self.policy}"]
        if self.subdomain_policy:
            tags.append(f"sp={self.subdomain_policy}")
        if self.pct != 100:
            tags.append(f"pct={self.pct}")
        if self.rua:
            tags.append("rua=" + ",".join(self.rua))
        if self.ruf:
            tags.append("ruf=" + ",".join(self.ruf))
        if self.adkim != "r":
            tags.append(f"adkim={self.adkim}")
        if self.aspf != "r":
            tags.append(f"aspf={self.aspf}")
        return "; ".join(tags)


class MxHost(Settings):
    """A mail exchanger for mail received outside SES."""

    host: str = Field(description="the host name of a mail exchanger")
    priority: int = Field(10, ge=0, le=65535)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return names.normalise_domain(value)


class DomainSettings(Settings):
    """One sending domain: its identity, DKIM, MAIL FROM and DNS records."""

    name: str = Field(description="a domain name such as example.com")
    hosted_zone: HostedZoneSettings | None = None
    ses_region: str | None = None
    mail_from: str = Field("mail", validate_default=True)
    mail_from_on_mx_failure: Literal["use_default", "reject"] = "use_default"
    dkim: DkimSettings = Field(default_factory=DkimSettings)
    spf: SpfSettings = Field(default_factory=SpfSettings)
    dmarc: DmarcSettings = Field(default_factory=DmarcSettings)
    txt: list[str] = Field(default_factory=list)
    mx: list[MxHost] = Field(default_factory=list)
    inbound: InboundSettings | None = None
    ttl: int = Field(1800, ge=60, le=172800)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return names.normalise_domain(value)

    @field_validator("hosted_zone")
    @classmethod
    def _zone_holds_domain(
        cls, value: HostedZoneSettings | None, info: ValidationInfo
    ) -> HostedZoneSettings | None:
        domain = info.data.get("name")
        if value is None or value.name is None or domain is None:
            return value
        if not names.is_within(domain, value.name):
            raise ValueError(
                f"zone {value.name!r} cannot hold {domain!r}; expected the "
                "domain's own zone or the zone of a parent domain"
            )
        return value

    @field_validator("ses_region")
    @classmethod
    def _region_shape(cls, value: str | None) -> str | None:
        if value is not None and not _REGION.match(value):
            raise ValueError("expected an AWS region name such as eu-west-1")
        return value

    @field_validator("mail_from")
    @classmethod
    def _mail_from(cls, value: str, info: ValidationInfo) -> str:
        domain = info.data.get("name")
        if domain is None:
            return value
        # One final dot is a fully qualified name; more are a typo such as 'mail..'.
        candidate = value.strip().lower().removesuffix(".")
        # A single label is relative to the domain; a dotted name is taken whole.
        full = candidate if "." in candidate else f"{candidate}.{domain}"
        if full == domain:
            raise ValueError(
                f"the MAIL FROM domain must not be the apex {domain}; expected a "
                "subdomain such as 'mail'"
            )
        if not names.is_within(full, domain):
            raise ValueError(
                f"expected a subdomain of {domain}, such as 'mail' or 'mail.{domain}'"
            )
        return names.normalise_domain(full)

    @field_validator("txt")
    @classmethod
    def _apex_txt(cls, value: list[str]) -> list[str]:
        cleaned = []
        for entry in value:
            text = dns_checks.txt_text(entry)
            if text.lower().startswith("v=spf1"):
                raise ValueError(
                    "the apex SPF record is built from the spf settings; expected "
                    "its mechanisms in spf.mechanisms, not in txt"
                )
            if text.lower().startswith("v=dmarc1"):
                raise ValueError(
                    "DMARC lives at _dmarc.<domain> and is built from the dmarc "
                    "settings; expected it there, not in txt"
                )
            if text in cleaned:
                raise ValueError(f"{entry!r} is listed twice; expected each once")
            cleaned.append(text)
        return cleaned

    @field_validator("mx")
    @classmethod
    def _distinct_mx(cls, value: list[MxHost], info: ValidationInfo) -> list[MxHost]:
        hosts = [entry.host for entry in value]
        if len(set(hosts)) != len(hosts):
            raise ValueError("a host is listed twice; expected each once")
        mail_from = info.data.get("mail_from")
        if mail_from in hosts:
            raise ValueError(
                f"{mail_from} is the MAIL FROM domain, which SES needs for bounces "
                "and must not receive mail; expected another host"
            )
        return value


class EnvironmentConfig(Settings):
    """Everything one ``cdk deploy -c env=NAME --all`` builds."""

    name: str
    app: str = "mail"
    account: str | None = None
    region: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    termination_protection: bool | None = None
    additional_ses_regions: list[str] = Field(default_factory=list)
    additional_receiving_regions: list[str] = Field(default_factory=list)
    domains: list[DomainSettings] = Field(
        min_length=1, description="a list of domains, each with at least a name"
    )
    smtp_users: list[SmtpUserSettings] = Field(default_factory=list)
    bounces: BounceSettings | None = None
    secrets_kms_key_arn: str | None = None
    workmail: WorkMailSettings | None = None
    relay: RelaySettings = Field(default_factory=RelaySettings)

    @field_validator("name")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not _ENV_NAME.match(value):
            raise ValueError(
                "expected a file name of 1 to 30 lower-case letters, digits and "
                "hyphens, starting with a letter"
            )
        return value

    @field_validator("app")
    @classmethod
    def _app(cls, value: str) -> str:
        if not _APP_NAME.match(value):
            raise ValueError(
                "expected 1 to 20 lower-case letters, digits and hyphens, starting "
                "with a letter"
            )
        return value

    @field_validator("account", mode="before")
    @classmethod
    def _account(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValueError(
                "expected the account id in quotes, as 12 digits (YAML reads an "
                "unquoted number and drops leading zeros)"
            )
        if isinstance(value, str) and not _ACCOUNT.match(value.strip()):
            raise ValueError("expected a 12-digit AWS account id")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None and not _REGION.match(value):
            raise ValueError("expected an AWS region name such as eu-west-1")
        return value

    @field_validator("additional_ses_regions")
    @classmethod
    def _extra_regions(cls, value: list[str]) -> list[str]:
        for region in value:
            if not _REGION.match(region):
                raise ValueError(
                    f"{region!r} is not a region name; expected names such as "
                    "eu-south-3"
                )
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > _TAG_LIMIT:
            raise ValueError(
                f"{len(value)} tags; expected at most {_TAG_LIMIT}, the most AWS "
                "keeps on one resource"
            )
        for key, tag_value in value.items():
            if not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
                raise ValueError(
                    f"tag key {key!r} is not allowed; expected 1 to 128 characters "
                    "not starting with 'aws:'"
                )
            if len(tag_value) > 256:
                raise ValueError(
                    f"tag {key!r} has a value of {len(tag_value)} characters; "
                    "expected at most 256"
                )
            for kind, text in (("key", key), ("value", tag_value)):
                bad = next((c for c in text if not _is_tag_character(c)), None)
                if bad is not None:
                    raise ValueError(
                        f"tag {kind} {text!r} holds {bad!r}; expected letters, "
                        f"digits, spaces and {_TAG_PUNCTUATION} only"
                    )
        return value

    @property
    def protect_stacks(self) -> bool:
        """Termination protection as set; by default on for production-like names."""
        if self.termination_protection is not None:
            return self.termination_protection
        return bool(_PRODUCTION_PARTS & set(self.name.split("-")))

    def ses_region_of(self, domain: DomainSettings) -> str:
        """The SES region a domain sends from (and its stack is deployed to)."""
        region = domain.ses_region or self.region
        assert region is not None, "checked when the environment was read"
        return region

    def workmail_region_of(self, domain: DomainSettings) -> str | None:
        """The WorkMail region of a domain WorkMail serves, else None."""
        if self.workmail is None:
            return None
        served = {entry.name for entry in self.workmail.domains}
        return self.workmail.region if domain.name in served else None

    def configuration_set_name_of(self, domain: DomainSettings) -> str:
        """The SES configuration set name of a domain: its stack name, at most 64."""
        return names.shortened(
            self.stack_name_of(domain), _CONFIGURATION_SET_NAME_LIMIT
        )

    def stack_name_of(self, domain: DomainSettings) -> str:
        """The stable CloudFormation stack name of a domain's stack."""
        return f"{self.app}-{self.name}-{names.stack_slug(domain.name)}"


def _is_tag_character(character: str) -> bool:
    """Whether AWS takes ``character`` in a tag key or value.

    AWS allows letters, digits and spaces of any script (Unicode L, N and Z)
    and the marks in ``_TAG_PUNCTUATION``; anything else fails at deploy.
    """
    return (
        character.isalpha()
        or character.isnumeric()
        or unicodedata.category(character).startswith("Z")
        or character in _TAG_PUNCTUATION.split()
    )


def load_environment(
    name: str, directory: Path, *, option: str = "-c env"
) -> EnvironmentConfig:
    """Read ``<directory>/<name>.yaml``; raise :class:`ConfigError` on any mistake.

    ``option`` is how the caller's user wrote the name (``-c env`` for cdk,
    ``--env`` for mailctl), so that a bad name is reported as they typed it.
    """
    if not _ENV_NAME.match(name):
        raise ConfigError(
            f"{option}={name!r}: expected the name of a file in environments/, "
            "1 to 30 lower-case letters, digits and hyphens, starting with a letter"
        )
    path = directory / f"{name}.yaml"
    shown = _shown_path(path)
    if not path.is_file():
        known = sorted(p.stem for p in directory.glob("*.yaml"))
        raise ConfigError(
            f"{shown}: no such environment {name!r}: expected one of "
            f"{', '.join(known) or '(none found)'}"
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ConfigError(
            f"{shown}: line {line}: byte {raw[error.start]:#04x} is not UTF-8: "
            "expected the file saved as UTF-8 text"
        ) from None
    return parse_environment(text, name=name, source=shown)


def parse_environment(text: str, *, name: str, source: str) -> EnvironmentConfig:
    """Parse and check the YAML text of environment ``name`` read from ``source``."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except _DuplicateKeyError as error:
        raise ConfigError(
            f"{source}: line {error.line}: {error.key!r} appears twice: expected "
            "each setting once"
        ) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        raise ConfigError(
            f"{source}: {where}: not valid YAML ({error.problem or error.context}): "
            "expected a mapping of settings"
        ) from None
    except yaml.YAMLError as error:
        reason = str(error).splitlines()[0]
        raise ConfigError(
            f"{source}: not valid YAML ({reason}): expected printable text"
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: the file holds a {type(data).__name__}: expected a mapping "
            "of settings such as 'region:' and 'domains:'"
        )
    if "name" in data:
        raise ConfigError(
            f"{source}: name = {data['name']!r}: expected no 'name' setting; an "
            "environment is named by its file"
        )
    try:
        config = EnvironmentConfig.model_validate({**data, "name": name})
    except ValidationError as error:
        raise ConfigError(f"{source}: {_describe(error)}") from None
    _check_across_domains(config, source)
    problem = (
        smtp_users_problem(config)
        or inbound_problem(config)
        or workmail_problem(config)
        or relay_problem(config)
        or records_problem(config)
    )
    if problem:
        raise ConfigError(f"{source}: {problem}")
    return config


def _check_across_domains(config: EnvironmentConfig, source: str) -> None:
    """Checks that need more than one setting: regions, duplicates, stack names."""
    allowed = SES_REGIONS | set(config.additional_ses_regions)
    seen_domains: dict[str, int] = {}
    seen_stacks: dict[str, int] = {}
    if config.region is not None and config.region not in allowed:
        raise ConfigError(
            f"{source}: region = {config.region!r}: expected a region where SES "
            "sends mail (see mailcore/regions.py, or list a newer one in "
            "additional_ses_regions)"
        )
    for index, domain in enumerate(config.domains):
        where = f"domains[{index}]"
        if domain.ses_region is None and config.region is None:
            raise ConfigError(
                f"{source}: {where}.ses_region is missing: expected an SES region "
                "here or a region for the whole environment"
            )
        region = config.ses_region_of(domain)
        if region not in allowed:
            setting = f"{where}.ses_region" if domain.ses_region else "region"
            raise ConfigError(
                f"{source}: {setting} = {region!r}: expected a region where SES "
                "sends mail (see mailcore/regions.py, or list a newer one in "
                "additional_ses_regions)"
            )
        if domain.name in seen_domains:
            first = seen_domains[domain.name]
            raise ConfigError(
                f"{source}: {where}.name = {domain.name!r}: expected each domain "
                f"once; it is also domains[{first}]"
            )
        seen_domains[domain.name] = index
        stack = config.stack_name_of(domain)
        if len(stack) > _STACK_NAME_LIMIT:
            raise ConfigError(
                f"{source}: {where}.name = {domain.name!r}: the stack name "
                f"{stack!r} is {len(stack)} characters; expected at most "
                f"{_STACK_NAME_LIMIT} (shorten app or the environment's name)"
            )
        if stack in seen_stacks:
            raise ConfigError(
                f"{source}: {where}.name = {domain.name!r}: its stack name {stack!r} "
                f"is also that of domains[{seen_stacks[stack]}]; expected domains "
                "whose names differ by more than dots and hyphens"
            )
        seen_stacks[stack] = index
    _check_mail_from_names(config, source)


def _check_mail_from_names(config: EnvironmentConfig, source: str) -> None:
    """A MAIL FROM name is its domain's alone: not another domain, nor its MAIL FROM.

    Both would put two TXT record sets at one name, which Route 53 refuses on
    the second deploy, and mix bounce handling with another identity's mail.
    """
    owners = {
        domain.name: f"domains[{i}].name" for i, domain in enumerate(config.domains)
    }
    for index, domain in enumerate(config.domains):
        other = owners.get(domain.mail_from)
        if other is not None:
            raise ConfigError(
                f"{source}: domains[{index}].mail_from = {domain.mail_from!r}: it is "
                f"also {other}; expected a name used by no other domain"
            )
        owners[domain.mail_from] = f"domains[{index}].mail_from"


def _describe(error: ValidationError) -> str:
    """The first problem pydantic found, as ``setting = value: expected ...``."""
    problem = error.errors(include_url=False)[0]
    setting = _setting_path(problem["loc"])
    kind = problem["type"]
    if kind == "missing":
        return f"{setting} is missing: {_expected_for_missing(problem['loc'])}"
    if kind in ("model_type", "dict_type"):
        return (
            f"{setting} = {_shown_value(problem.get('input'))}: expected a mapping "
            "of settings (key: value lines)"
        )
    if kind == "invalid_key" or problem["loc"][-1:] == ("[key]",):
        # YAML reads an unquoted 1 or yes as a number or a flag, not a name.
        loc = tuple(part for part in problem["loc"] if part != "[key]")
        key = _shown_value(problem.get("input"))
        where = _setting_path(loc[:-1])
        if kind == "invalid_key":
            expected = f"a setting name, one of {', '.join(_allowed_keys(loc))}"
        else:
            expected = "keys written as text (put them in quotes)"
        return f"{where}: key {key} is not text: expected {expected}"
    if kind == "too_short":
        return f"{setting} is empty: expected at least one entry"
    if kind == "extra_forbidden":
        return (
            f"{setting} is not a setting: expected one of "
            f"{', '.join(_allowed_keys(problem['loc']))}"
        )
    message = problem["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if message.startswith("Input should be"):
        message = "expected" + message[len("Input should be") :]
    elif not message.startswith("expected") and "expected" not in message:
        message = f"expected a different value ({message[0].lower()}{message[1:]})"
    shown = _shown_value(problem.get("input"))
    if isinstance(problem.get("ctx", {}).get("error"), dns_checks.PrivateKeyError):
        # Even the start of a private key is not for a terminal or a CI log.
        shown = "(a private key, not shown)"
    return f"{setting} = {shown}: {message}"


def _setting_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path or "(file)"


def _shown_value(value: Any) -> str:
    if isinstance(value, dict):
        text = "{" + ", ".join(str(k) for k in value) + "}"
        return text if len(text) <= 80 else text[:76] + "...}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The settings model that the setting at ``loc`` belongs to."""
    model: type[BaseModel] = EnvironmentConfig
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        inner = _settings_class(field.annotation)
        if inner is None:
            return None
        model = inner
    return model


def _settings_class(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _settings_class(arg)
        if found is not None:
            return found
    return None


def _allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    model = _model_at(loc)
    if model is None:
        return ["the settings listed in README.md"]
    return [
        key
        for key in model.model_fields
        if key != "name" or model is not EnvironmentConfig
    ]


def _expected_for_missing(loc: tuple[int | str, ...]) -> str:
    model = _model_at(loc)
    field = model.model_fields.get(str(loc[-1])) if model else None
    if field is not None and field.description:
        return f"expected {field.description}"
    return "expected a value (see the configuration reference in README.md)"


def _shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
