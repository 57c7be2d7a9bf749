"""Checks of values that end up in public DNS: SPF terms, DKIM keys, TXT text.

Each function returns the value in its published form or raises ``ValueError``
with a sentence that says what was expected; the settings model turns that into
the one-line error a user sees. Anything that passes here is something a
resolver or receiver accepts, and nothing private ends up published.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re

from mailcore import names

__all__ = [
    "SPF_LOOKUP_TERMS",
    "TXT_TEXT_LIMIT",
    "check_spf_term",
    "rsa_public_key",
    "txt_text",
]

# Terms that make an SPF evaluation query DNS (RFC 7208, section 4.6.4).
SPF_LOOKUP_TERMS = ("include", "a", "mx", "ptr", "exists", "redirect")

# CloudFormation takes at most 4,000 characters per record value; quoting every
# 255-byte string costs 3 more characters each.
TXT_TEXT_LIMIT = 3800

_SPF_QUALIFIED = re.compile(r"^([+\-~?]?)([a-z0-9]+)(.*)$")
_SPF_MACRO = re.compile(
    r"^(?:[a-z0-9._\-]|%[{][slodiphcrtv]\d*r?[.\-+,/_=]*[}]|%%|%_|%-)+$"
)
_CIDR = re.compile(r"^(?:/(\d{1,2}))?(?://(\d{1,3}))?$")
_PEM_ARMOUR = re.compile(r"-----(BEGIN|END) ([A-Z0-9 ]+)-----")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
_QUOTED_STRINGS = re.compile(r'^"((?:[^"\\]|\\.)*)"(?:\s+"((?:[^"\\]|\\.)*)")*$')
_ONE_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
# DER of the rsaEncryption algorithm identifier, 1.2.840.113549.1.1.1.
_RSA_OID = bytes.fromhex("06092a864886f70d010101")


def check_spf_term(term: str) -> str:
    """``term`` if it is a valid SPF mechanism other than ``all``, else ValueError."""
    match = _SPF_QUALIFIED.match(term.lower())
    if not match:
        raise ValueError(f"{term!r} is not an SPF mechanism; {_SPF_EXPECTED}")
    _, word, rest = match.groups()
    if word in ("include", "exists"):
        if not rest.startswith(":"):
            raise ValueError(f"{term!r} needs a domain, as in '{word}:example.net'")
        _spf_domain(term, rest[1:])
    elif word in ("a", "mx"):
        domain, _, cidr = rest.partition("/")
        if domain:
            if not domain.startswith(":"):
                raise ValueError(f"{term!r} is not an SPF mechanism; {_SPF_EXPECTED}")
            _spf_domain(term, domain[1:])
        _spf_cidr(term, "/" + cidr if cidr else "")
    elif word == "ptr":
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{term!r} is not an SPF mechanism; {_SPF_EXPECTED}")
            _spf_domain(term, rest[1:])
    elif word in ("ip4", "ip6"):
        _spf_network(term, word, rest)
    else:
        raise ValueError(f"{term!r} is not an SPF mechanism; {_SPF_EXPECTED}")
    return term


_SPF_EXPECTED = (
    "expected include:, a, mx, ptr, ip4:, ip6: or exists:, optionally with a +, "
    "-, ~ or ? qualifier"
)


def _spf_domain(term: str, domain: str) -> None:
    if not domain:
        raise ValueError(f"{term!r} is not an SPF mechanism; {_SPF_EXPECTED}")
    if "%" in domain:
        # A macro (RFC 7208, section 7) expands at the receiver; check only
        # that it is made of the characters a macro string may hold.
        if not _SPF_MACRO.match(domain):
            raise ValueError(f"{term!r} holds a malformed SPF macro")
        return
    try:
        names.normalise_domain(domain, allow_service_labels=True)
    except ValueError:
        raise ValueError(
            f"{term!r} names {domain!r}, which is not a domain; expected a name "
            "such as _spf.example.net"
        ) from None


def _spf_cidr(term: str, cidr: str) -> None:
    match = _CIDR.match(cidr)
    if not match:
        raise ValueError(f"{term!r} has a malformed prefix length; expected /0-/32")
    ip4, ip6 = match.groups()
    if (ip4 and int(ip4) > 32) or (ip6 and int(ip6) > 128):
        raise ValueError(
            f"{term!r} has a prefix length out of range; expected at most /32 for "
            "IPv4 and //128 for IPv6"
        )


def _spf_network(term: str, word: str, rest: str) -> None:
    if not rest.startswith(":"):
        raise ValueError(f"{term!r} needs an address, as in '{word}:192.0.2.0/24'")
    try:
        network = ipaddress.ip_network(rest[1:], strict=False)
    except ValueError:
        network = None
    if network is None or network.version != (4 if word == "ip4" else 6):
        kind = "IPv4" if word == "ip4" else "IPv6"
        raise ValueError(
            f"{term!r} is not an {kind} address or network; expected one such as "
            f"'{word}:{'192.0.2.0/24' if word == 'ip4' else '2001:db8::/32'}'"
        )


def rsa_public_key(value: str) -> str:
    """The base64 body of an RSA public key given in base64 or PEM, else ValueError.

    A private key is refused loudly: whatever is given here is published in DNS.
    """
    armour = {kind for _, kind in _PEM_ARMOUR.findall(value)}
    if any("PRIVATE" in kind for kind in armour):
        raise ValueError(
            "this is a PRIVATE key, which must never be published; expected the "
            "public key (keep the private key in the Secrets Manager secret)"
        )
    body = "".join(_PEM_ARMOUR.sub("", value).split())
    try:
        der = base64.b64decode(body, validate=True) if _BASE64.match(body) else b""
    except binascii.Error:
        der = b""
    if not _is_rsa_public_key(der):
        raise ValueError(
            "expected an RSA public key in base64 (SubjectPublicKeyInfo, as "
            "'openssl rsa -pubout' writes it); PEM armour and line breaks may stay"
        )
    return body


def _is_rsa_public_key(der: bytes) -> bool:
    """Whether ``der`` is a SubjectPublicKeyInfo for RSA (not a PKCS#8 private key).

    A public key starts SEQUENCE { SEQUENCE { rsaEncryption, NULL }, BIT STRING };
    a PKCS#8 private key has an INTEGER version where the inner SEQUENCE is.
    """
    if len(der) < 64 or der[0] != 0x30:
        return False
    header = 2 + (der[1] & 0x7F if der[1] & 0x80 else 0)
    return der[header : header + 1] == b"\x30" and _RSA_OID in der[header : header + 16]


def txt_text(value: str) -> str:
    """The text of a TXT value written by a user, without quoting, else ValueError.

    A value copied from a DNS provider as one or more quoted strings
    (``"v=DKIM1; p=AB" "CD"``) is joined the way resolvers join it. Anything
    else must be plain printable ASCII without double quotes or backslashes.
    """
    text = value.strip()
    if _QUOTED_STRINGS.match(text):
        text = "".join(
            re.sub(r"\\(.)", r"\1", part) for part in _ONE_QUOTED.findall(text)
        )
    if not text or not text.isascii() or not text.isprintable():
        raise ValueError(f"{value!r} cannot be published; expected printable ASCII")
    if '"' in text or "\\" in text:
        raise ValueError(
            f"{value!r} holds a double quote or backslash; expected plain text "
            "(the project adds the quoting)"
        )
    if len(text) > TXT_TEXT_LIMIT:
        raise ValueError(
            f"a value of {len(text)} characters is too long; expected at most "
            f"{TXT_TEXT_LIMIT}"
        )
    return text
