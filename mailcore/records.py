"""The DNS records a sending domain needs, built once for every place that shows them.

The same :class:`DnsRecord` list becomes Route 53 record sets, stack outputs for a
DNS host outside AWS, and (later) the ``mailctl records`` table. Values are kept
as they go on the wire: TXT values quoted and split into strings of at most 255
bytes, MX values as ``<priority> <host>``.

Easy DKIM names and values are only known to SES; callers pass them in (CDK
tokens at synth time, real values when read from SES) or leave them out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailcore.regions import inbound_mx_host, mail_from_mx_host
from mailcore.workmail_settings import autodiscover_target

if TYPE_CHECKING:
    # Only for annotations: mailcore.config calls records_problem() while it
    # reads an environment, so it imports this module, not the other way round.
    from mailcore.config import DomainSettings, EnvironmentConfig

__all__ = [
    "MAIL_FROM_SPF",
    "DnsRecord",
    "domain_records",
    "environment_records",
    "records_problem",
    "txt_value",
]

MAIL_FROM_SPF = "v=spf1 include:amazonses.com ~all"

# RFC 1035: one character-string holds at most 255 bytes.
_TXT_STRING_LIMIT = 255


@dataclass(frozen=True)
class DnsRecord:
    """One record set: every value at one (name, type)."""

    key: str
    """Stable PascalCase id of the record, used as its construct id."""
    name: str
    """Fully qualified, lower case, without the trailing dot."""
    type: str
    values: tuple[str, ...]
    """Wire-format values (TXT quoted and split, MX as ``priority host``)."""
    purpose: str

    def zone_lines(self, ttl: int) -> list[str]:
        """The record as zone-file lines, names fully qualified with a final dot."""
        return [f"{self.name}. {ttl} IN {self.type} {v}" for v in self.zone_values()]

    def zone_values(self) -> list[str]:
        """Values as a zone file writes them: host names end with a dot."""
        if self.type in ("CNAME", "MX"):
            return [f"{value}." for value in self.values]
        return list(self.values)


def txt_value(text: str) -> str:
    """``text`` as one TXT record value: quoted strings of at most 255 bytes each.

    Readers join the strings with nothing between them, so a long DKIM key or a
    long site verification survives the split unchanged. Quotes and backslashes
    inside the text are escaped; the text itself must not carry outer quotes.
    """
    raw = text.encode("ascii")
    chunks = [
        raw[start : start + _TXT_STRING_LIMIT].decode("ascii")
        for start in range(0, len(raw), _TXT_STRING_LIMIT)
    ] or [""]
    return " ".join(f'"{_escape(chunk)}"' for chunk in chunks)


def _escape(chunk: str) -> str:
    return chunk.replace("\\", "\\\\").replace('"', '\\"')


def environment_records(
    config: EnvironmentConfig,
    domain: DomainSettings,
    *,
    easy_dkim: Sequence[tuple[str, str]] = (),
) -> list[DnsRecord]:
    """Every record ``domain`` of ``config`` needs: what its stack publishes.

    The stacks and the helper commands both start here, so ``mailctl records``
    prints, and ``mailctl doctor`` expects, exactly what a deploy writes.
    """
    return domain_records(
        domain,
        ses_region=config.ses_region_of(domain),
        easy_dkim=easy_dkim,
        workmail_region=config.workmail_region_of(domain),
    )


def domain_records(
    domain: DomainSettings,
    *,
    ses_region: str,
    easy_dkim: Sequence[tuple[str, str]] = (),
    workmail_region: str | None = None,
) -> list[DnsRecord]:
    """Every record ``domain`` needs to send from SES in ``ses_region``.

    With ``workmail_region``, the domain also receives mail in WorkMail there:
    its apex MX points at WorkMail and ``autodiscover.<domain>`` at WorkMail's
    autodiscover host. The apex MX keeps the id ``InboundMx`` whichever way
    mail comes in, so switching is an update of one record set, not a second
    set at the same name.

    ``easy_dkim`` holds the three (name, value) pairs SES gives for Easy DKIM;
    they are used as given, never rebuilt from a suffix. One record set comes
    back per (name, type): the apex SPF and the extra apex TXT values share one.
    """
    records = _records_of(
        domain,
        ses_region=ses_region,
        easy_dkim=easy_dkim,
        workmail_region=workmail_region,
    )
    _check_one_set_per_name_and_type(records)
    return records


def _records_of(
    domain: DomainSettings,
    *,
    ses_region: str,
    easy_dkim: Sequence[tuple[str, str]],
    workmail_region: str | None,
) -> list[DnsRecord]:
    records: list[DnsRecord] = []
    apex = domain.name

    for index, (name, value) in enumerate(easy_dkim, start=1):
        records.append(
            DnsRecord(f"DkimToken{index}", name, "CNAME", (value,), "Easy DKIM")
        )
    if domain.dkim.signing == "byo":
        assert domain.dkim.selector and domain.dkim.public_key
        records.append(
            DnsRecord(
                "DkimPublicKey",
                f"{domain.dkim.selector}._domainkey.{apex}",
                "TXT",
                (txt_value(f"v=DKIM1; k=rsa; p={domain.dkim.public_key}"),),
                "DKIM public key (bring your own)",
            )
        )

    records.append(
        DnsRecord(
            "MailFromMx",
            domain.mail_from,
            "MX",
            (f"10 {mail_from_mx_host(ses_region)}",),
            "custom MAIL FROM: bounces return to SES",
        )
    )
    records.append(
        DnsRecord(
            "MailFromSpf",
            domain.mail_from,
            "TXT",
            (txt_value(MAIL_FROM_SPF),),
            "custom MAIL FROM: SPF",
        )
    )

    apex_txt = [domain.spf.value()] if domain.spf.enabled else []
    apex_txt += domain.txt
    if apex_txt:
        records.append(
            DnsRecord(
                "ApexTxt",
                apex,
                "TXT",
                tuple(txt_value(text) for text in apex_txt),
                "apex SPF and other apex TXT values",
            )
        )

    if domain.dmarc.enabled:
        records.append(
            DnsRecord(
                "Dmarc",
                f"_dmarc.{apex}",
                "TXT",
                (txt_value(domain.dmarc.value()),),
                "DMARC policy",
            )
        )

    # One MX record set at the apex: the settings allow only one way in, and
    # the check below refuses two should a caller combine them anyway.
    if domain.inbound is not None:
        records.append(
            DnsRecord(
                "InboundMx",
                apex,
                "MX",
                (f"10 {inbound_mx_host(ses_region)}",),
                "inbound mail: SES receiving",
            )
        )
    if workmail_region is not None:
        records.append(
            DnsRecord(
                "InboundMx",
                apex,
                "MX",
                (f"10 {inbound_mx_host(workmail_region)}",),
                "inbound mail to WorkMail",
            )
        )
        records.append(
            DnsRecord(
                "WorkMailAutodiscover",
                f"autodiscover.{apex}",
                "CNAME",
                (autodiscover_target(workmail_region),),
                "WorkMail autodiscover for mail clients",
            )
        )
    if domain.mx:
        records.append(
            DnsRecord(
                "InboundMx",
                apex,
                "MX",
                tuple(f"{mx.priority} {mx.host}" for mx in domain.mx),
                "inbound mail exchangers",
            )
        )
    return records


def _check_one_set_per_name_and_type(records: list[DnsRecord]) -> None:
    seen: set[tuple[str, str]] = set()
    cname_names = {r.name for r in records if r.type == "CNAME"}
    for record in records:
        slot = (record.name, record.type)
        if slot in seen:
            raise ValueError(f"two {record.type} record sets at {record.name}")
        if record.type != "CNAME" and record.name in cname_names:
            raise ValueError(f"a CNAME and a {record.type} record at {record.name}")
        seen.add(slot)


# The setting that chose each record's name, where it is not the domain's name.
# A clash is blamed on such a setting first: it is the one a user picked.
_CHOSEN_BY = {
    "DkimPublicKey": "dkim.selector",
    "MailFromMx": "mail_from",
    "MailFromSpf": "mail_from",
}


@dataclass(frozen=True)
class _Published:
    index: int
    domain: DomainSettings
    record: DnsRecord

    @property
    def setting(self) -> str:
        return _CHOSEN_BY.get(self.record.key, "name")

    @property
    def value(self) -> str:
        if self.setting == "dkim.selector":
            return str(self.domain.dkim.selector)
        return (
            self.domain.mail_from if self.setting == "mail_from" else self.domain.name
        )

    def describe(self) -> str:
        return (
            f"the {self.record.type} record ({self.record.purpose}) of "
            f"domains[{self.index}] {self.domain.name}"
        )


def records_problem(config: EnvironmentConfig) -> str | None:
    """The first DNS record clash among every domain stack of ``config``, else None.

    Route 53 refuses a second record set at one (name, type), even from another
    stack, and a CNAME that shares its name with any other record; the first
    only fails at deploy and the second already at synth. Built from the same
    records the stacks publish, so the check cannot drift from them. Easy DKIM
    names are left out: SES picks their tokens, which nothing else can guess.
    """
    by_name: dict[str, list[_Published]] = {}
    for index, domain in enumerate(config.domains):
        records = _records_of(
            domain,
            ses_region=config.ses_region_of(domain),
            easy_dkim=(),
            workmail_region=config.workmail_region_of(domain),
        )
        for record in records:
            published = _Published(index, domain, record)
            for earlier in by_name.get(record.name, []):
                clash = _clash(earlier, published)
                if clash:
                    return clash
            by_name.setdefault(record.name, []).append(published)
    return None


def _clash(earlier: _Published, later: _Published) -> str | None:
    first, second = earlier.record, later.record
    if first.type == second.type:
        reason = (
            f"Route 53 takes one {first.type} record set per name; expected "
            "a name that no other record of the environment uses"
        )
    elif "CNAME" in (first.type, second.type):
        reason = (
            "a CNAME allows no other record at its name; expected a name that no "
            "other record of the environment uses"
        )
    else:
        return None
    blamed, other = later, earlier
    if earlier.setting != "name" and later.setting == "name":
        blamed, other = earlier, later
    return (
        f"domains[{blamed.index}].{blamed.setting} = {blamed.value!r}: "
        f"{blamed.describe()} and {other.describe()} are both at {first.name}; "
        f"{reason}"
    )
