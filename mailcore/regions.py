"""Region tables that change over time, kept in one place with the day checked.

An environment can add regions that AWS opened after these dates with the
``additional_ses_regions`` and ``additional_receiving_regions`` settings, without
waiting for a release of this project.
"""

from __future__ import annotations

__all__ = [
    "RECEIVING_REGIONS",
    "RECEIVING_REGIONS_CHECKED",
    "SES_REGIONS",
    "SES_REGIONS_CHECKED",
    "inbound_mx_host",
    "mail_from_mx_host",
    "smtp_endpoint",
]

SES_REGIONS_CHECKED = "2026-12-03"

# Commercial-partition regions with an SES endpoint, taken from botocore 1.44.8's
# endpoint data and the "Amazon Simple Email Service endpoints and quotas" page of
# the AWS General Reference on the date above.
SES_REGIONS: frozenset[str] = frozenset(
    {
        "af-south-1",
        "ap-east-2",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "ca-central-1",
        "ca-west-1",
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "mx-central-1",
        "sa-east-1",
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
    }
)


RECEIVING_REGIONS_CHECKED = "2026-12-03"

# Regions where SES receives mail (an ``inbound-smtp.<region>.amazonaws.com``
# endpoint and receipt rule sets), checked on the date above against the "Email
# receiving endpoints" table of the AWS General Reference as republished in
# public material, and against public deployments that receive mail through
# eu-north-1 and ap-northeast-3. The list has grown since SES first received
# mail in three regions only; an environment adds a region opened later with
# ``additional_receiving_regions``.
RECEIVING_REGIONS: frozenset[str] = frozenset(
    {
        "ap-northeast-1",
        "ap-northeast-3",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ca-central-1",
        "eu-central-1",
        "eu-north-1",
        "eu-west-1",
        "eu-west-2",
        "us-east-1",
        "us-east-2",
        "us-west-2",
    }
)


def inbound_mx_host(region: str) -> str:
    """The host a receiving domain's MX record points at, for an SES region."""
    return f"inbound-smtp.{region}.amazonaws.com"


def mail_from_mx_host(region: str) -> str:
    """The host a custom MAIL FROM domain's MX record points at, for an SES region."""
    return f"feedback-smtp.{region}.amazonses.com"


def smtp_endpoint(region: str) -> str:
    """The SES SMTP interface of a region."""
    return f"email-smtp.{region}.amazonaws.com"
