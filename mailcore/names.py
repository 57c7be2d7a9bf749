"""Rules for domain names and email addresses: one normal form, and its checks.

Domain names are compared and turned into ids in one form only: lower case, no
surrounding spaces, no trailing dot. Every other module goes through
:func:`normalise_domain` before it looks at a name, and through
:func:`normalise_address` before it looks at an email address.
"""

from __future__ import annotations

import hashlib
import re

__all__ = [
    "is_within",
    "normalise_address",
    "normalise_domain",
    "relative_name",
    "shortened",
    "stack_slug",
]

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SERVICE_LABEL = re.compile(r"^_[a-z0-9-]{1,62}$")
# RFC 5322's dot-atom: runs of these characters joined by single dots.
_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL_PART = re.compile(rf"^{_ATOM}(\.{_ATOM})*$")
_LOCAL_PART_LIMIT = 64


def normalise_domain(value: str, *, allow_service_labels: bool = False) -> str:
    """Return ``value`` as a lower-case domain name without a trailing dot.

    Raises ``ValueError`` with a sentence saying what was expected when the name
    is not a valid host name of at least two labels. Labels starting with an
    underscore (``_dmarc``) are accepted only with ``allow_service_labels``.
    """
    if not value.isascii():
        raise ValueError(
            "expected an ASCII domain name; write internationalised names in "
            "their xn-- (punycode) form"
        )
    name = value.strip().lower()
    name = name.removesuffix(".")
    if not name:
        raise ValueError("expected a domain name such as example.com")
    if len(name) > 253:
        raise ValueError("expected a domain name of at most 253 characters")

    labels = name.split(".")
    if len(labels) < 2:
        raise ValueError("expected a domain name with at least two labels")
    for label in labels:
        if _LABEL.match(label):
            continue
        if allow_service_labels and _SERVICE_LABEL.match(label):
            continue
        raise ValueError(
            f"label {label!r} is not valid; expected letters, digits and inner "
            "hyphens, 1 to 63 characters"
        )
    if labels[-1].isdigit():
        raise ValueError("expected a domain name, not an IP address")
    return name


def normalise_address(value: str, *, example: str = "name@example.com") -> str:
    """Return ``value`` as ``local@domain`` in lower case, the domain normalised.

    The part before the @ is a dot-atom of RFC 5322 (no leading, trailing or
    doubled dot, at most 64 characters); the domain follows
    :func:`normalise_domain`, so an internationalised one is written in its
    xn-- form. Raises ``ValueError`` with one sentence that names the value and
    offers ``example`` as what was expected.
    """
    text = value.strip().lower()
    local, at, domain = text.rpartition("@")
    if not at or not local:
        raise ValueError(
            f"{value!r} is not an email address; expected an address such as {example}"
        )
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise ValueError(
            f"{value!r} is not an email address: a dot starts or ends the part "
            "before the @, or two dots follow each other; expected an address "
            f"such as {example}"
        )
    if len(local) > _LOCAL_PART_LIMIT or not _LOCAL_PART.match(local):
        raise ValueError(
            f"{value!r} is not an email address; expected at most 64 letters, "
            f"digits and !#$%&'*+/=?^_`{{|}}~.- before the @, such as {example}"
        )
    try:
        domain = normalise_domain(domain)
    except ValueError as error:
        raise ValueError(f"{value!r}: {error}") from None
    return f"{local}@{domain}"


def is_within(name: str, zone: str) -> bool:
    """Whether ``name`` is ``zone`` itself or a name below it (both normalised)."""
    return name == zone or name.endswith("." + zone)


def relative_name(name: str, zone: str) -> str:
    """``name`` relative to ``zone``: ``@`` for the apex, else the leading labels."""
    if name == zone:
        return "@"
    return name[: -(len(zone) + 1)]


def stack_slug(domain: str) -> str:
    """A domain as it appears in stack names: dots become hyphens."""
    return domain.replace(".", "-")


def shortened(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters, else cut with a digest of it.

    The digest keeps two long texts that share their first characters apart,
    and gives the same result for the same text on every synth, so a name made
    this way is stable.
    """
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{text[: limit - 9]}-{digest}"
