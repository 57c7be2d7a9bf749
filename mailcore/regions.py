"""Region tables that change over time, kept in one place with the day checked.

An environment can add regions that AWS opened after this date with the
``additional_ses_regions`` setting, without waiting for a release of this project.
"""

from __future__ import annotations

__all__ = [
    "SES_REGIONS",
    "SES_REGIONS_CHECKED",
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


def mail_from_mx_host(region: str) -> str:
    """The host a custom MAIL FROM domain's MX record points at, for an SES region."""
    return f"feedback-smtp.{region}.amazonses.com"


def smtp_endpoint(region: str) -> str:
    """The SES SMTP interface of a region."""
    return f"email-smtp.{region}.amazonaws.com"
