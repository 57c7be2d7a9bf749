"""SES SMTP passwords, derived from an IAM secret access key for one SES region.

The scheme is the SigV4-based one SES has required since 2021: an HMAC-SHA256
chain keyed with ``"AWS4" + secret``, signing a fixed date, the region, the
service, the terminator and the message ``SendRawEmail``; the password is the
base64 of a version byte (4) followed by the last signature. A password works in
the region it was derived for only.

This file is the only implementation in the project. The custom resource that
issues SMTP credentials imports it as a sibling module, and ``mailctl`` loads the
same file by path. It uses the standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

__all__ = ["is_secret_access_key", "smtp_password"]

# The date, service, terminator and message are fixed by the SES scheme; they
# are not a real signing date or request.
_DATE = "11111111"
_SERVICE = "ses"
_TERMINAL = "aws4_request"
_MESSAGE = "SendRawEmail"
_VERSION = b"\x04"

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_SECRET_ACCESS_KEY = re.compile(r"^[A-Za-z0-9+/]{40}$")


def smtp_password(secret_access_key: str, region: str) -> str:
    """The SMTP password of ``secret_access_key`` for SES in ``region``.

    Always 44 characters starting with ``B``. Raises ``ValueError`` for an empty
    key or a value that is not shaped like a region name.
    """
    if not secret_access_key:
        raise ValueError("expected a secret access key, got an empty one")
    if not _REGION.match(region):
        raise ValueError(f"{region!r}: expected a region name such as eu-west-1")

    signature = ("AWS4" + secret_access_key).encode("utf-8")
    for part in (_DATE, region, _SERVICE, _TERMINAL, _MESSAGE):
        signature = hmac.new(signature, part.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(_VERSION + signature).decode("ascii")


def is_secret_access_key(value: str) -> bool:
    """Whether ``value`` has the shape of an IAM secret access key (40 base64 chars)."""
    return bool(_SECRET_ACCESS_KEY.match(value))
