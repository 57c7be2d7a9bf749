"""What SES v2 says about a domain identity and the account, as plain values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mailctl.common import AwsError

__all__ = [
    "AccountStatus",
    "IdentityStatus",
    "read_account",
    "read_identity",
]


@dataclass(frozen=True)
class IdentityStatus:
    """The parts of GetEmailIdentity that the DNS and the operator care about."""

    verified: bool
    verification_status: str
    dkim_status: str
    dkim_signing: bool
    dkim_origin: str
    dkim_tokens: tuple[str, ...]
    dkim_zone: str | None
    mail_from_domain: str | None
    mail_from_status: str | None
    mail_from_behavior: str | None

    @property
    def external_dkim(self) -> bool:
        """True when the domain signs with its own key (BYODKIM)."""
        return self.dkim_origin == "EXTERNAL"

    def easy_dkim(self, domain: str) -> list[tuple[str, str]]:
        """The Easy DKIM (name, target) pairs; none for a key of one's own.

        The target is ``<token>.<SigningHostedZone>`` as SES reports it; the zone
        differs between regions, so without it nothing is guessed and the
        records stay pending.
        """
        if self.external_dkim or not self.dkim_zone:
            return []
        return [
            (f"{token}._domainkey.{domain}", f"{token}.{self.dkim_zone}")
            for token in self.dkim_tokens
        ]


@dataclass(frozen=True)
class AccountStatus:
    """Sandbox, sending and quota of the account in one region."""

    production_access: bool
    sending_enabled: bool
    enforcement_status: str
    max_24_hour_send: float
    max_send_rate: float
    sent_last_24_hours: float


def read_identity(client: Any, domain: str) -> IdentityStatus | None:
    """The identity ``domain`` in the client's region, or None when it is not there."""
    try:
        response = client.get_email_identity(EmailIdentity=domain)
    except client.exceptions.NotFoundException:
        return None
    except Exception as error:
        raise AwsError(_describe(error, "sesv2:GetEmailIdentity")) from None
    dkim = response.get("DkimAttributes") or {}
    mail_from = response.get("MailFromAttributes") or {}
    return IdentityStatus(
        verified=bool(response.get("VerifiedForSendingStatus")),
        verification_status=str(response.get("VerificationStatus", "UNKNOWN")),
        dkim_status=str(dkim.get("Status", "NOT_STARTED")),
        dkim_signing=bool(dkim.get("SigningEnabled")),
        dkim_origin=str(dkim.get("SigningAttributesOrigin", "AWS_SES")),
        dkim_tokens=tuple(dkim.get("Tokens") or ()),
        dkim_zone=dkim.get("SigningHostedZone") or None,
        mail_from_domain=mail_from.get("MailFromDomain"),
        mail_from_status=mail_from.get("MailFromDomainStatus"),
        mail_from_behavior=mail_from.get("BehaviorOnMxFailure"),
    )


def read_account(client: Any) -> AccountStatus:
    """Sandbox and quota of the account in the client's region."""
    try:
        response = client.get_account()
    except Exception as error:
        raise AwsError(_describe(error, "sesv2:GetAccount")) from None
    quota = response.get("SendQuota") or {}
    return AccountStatus(
        production_access=bool(response.get("ProductionAccessEnabled")),
        sending_enabled=bool(response.get("SendingEnabled", True)),
        enforcement_status=str(response.get("EnforcementStatus", "HEALTHY")),
        max_24_hour_send=float(quota.get("Max24HourSend", 0)),
        max_send_rate=float(quota.get("MaxSendRate", 0)),
        sent_last_24_hours=float(quota.get("SentLast24Hours", 0)),
    )


def _describe(error: Exception, action: str) -> str:
    """One line for an AWS failure: the action and AWS's own code and message."""
    response = getattr(error, "response", None)
    if isinstance(response, dict) and "Error" in response:
        code = response["Error"].get("Code", "Error")
        message = response["Error"].get("Message", "")
        return f"{action} failed: {code}: {message}".rstrip(": ")
    return f"{action} failed: {type(error).__name__}: {error}".splitlines()[0]
