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
    "BYODKIM_KEY_BITS",
    "SPF_LOOKUP_TERMS",
    "TXT_TEXT_LIMIT",
    "PrivateKeyError",
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
_DER_INTEGER = 0x02
_DER_BIT_STRING = 0x03
_DER_SEQUENCE = 0x30

# The RSA key lengths SES accepts for Bring Your Own DKIM, in bits.
BYODKIM_KEY_BITS = (1024, 2048)


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
    The modulus must be one SES BYODKIM signs with, 1024 to 2048 bits.
    """
    armour = {kind for _, kind in _PEM_ARMOUR.findall(value)}
    body = "".join(_PEM_ARMOUR.sub("", value).split())
    try:
        der = base64.b64decode(body, validate=True) if _BASE64.match(body) else b""
    except binascii.Error:
        der = b""
    if any("PRIVATE" in kind for kind in armour) or _is_private_key(der):
        raise PrivateKeyError(
            "this is a PRIVATE key, which must never be published; expected the "
            "public key (keep the private key in the Secrets Manager secret)"
        )
    bits = _rsa_public_key_bits(der)
    if bits is None:
        raise ValueError(
            "expected an RSA public key in base64 (SubjectPublicKeyInfo, as "
            "'openssl rsa -pubout' writes it); PEM armour and line breaks may stay"
        )
    if not BYODKIM_KEY_BITS[0] <= bits <= BYODKIM_KEY_BITS[1]:
        raise ValueError(
            f"the key is {bits} bits long; expected an RSA key of "
            f"{BYODKIM_KEY_BITS[0]} to {BYODKIM_KEY_BITS[1]} bits, the lengths "
            "SES signs with"
        )
    return body


class PrivateKeyError(ValueError):
    """A private key where a public one belongs; its text must not be shown."""


def _der_items(data: bytes) -> list[tuple[int, bytes]] | None:
    """The (tag, content) pairs of the DER elements in ``data``, else None.

    Only what keys use: one-byte tags and definite lengths of up to 4 bytes.
    """
    items = []
    position = 0
    while position < len(data):
        if position + 2 > len(data):
            return None
        tag, length = data[position], data[position + 1]
        position += 2
        if length & 0x80:
            count = length & 0x7F
            if not 1 <= count <= 4 or position + count > len(data):
                return None
            length = int.from_bytes(data[position : position + count], "big")
            position += count
        if position + length > len(data):
            return None
        items.append((tag, data[position : position + length]))
        position += length
    return items


def _sequence(data: bytes) -> list[tuple[int, bytes]] | None:
    """The elements of ``data`` if it is exactly one DER SEQUENCE, else None."""
    outer = _der_items(data)
    if not outer or len(outer) != 1 or outer[0][0] != _DER_SEQUENCE:
        return None
    return _der_items(outer[0][1])


def _is_private_key(der: bytes) -> bool:
    """Whether ``der`` is an RSA private key, PKCS#1 or PKCS#8, without armour.

    Both start with an INTEGER version of 0 and hold more than a public key's
    two integers; a public key starts with a SEQUENCE or with its modulus.
    """
    items = _sequence(der)
    return bool(items and len(items) >= 3 and items[0] == (_DER_INTEGER, b"\x00"))


def _rsa_public_key_bits(der: bytes) -> int | None:
    """The modulus length of ``der`` if it is an RSA SubjectPublicKeyInfo, else None.

    SEQUENCE { SEQUENCE { rsaEncryption, NULL }, BIT STRING { SEQUENCE {
    INTEGER modulus, INTEGER exponent } } }.
    """
    items = _sequence(der)
    if not items or len(items) != 2:
        return None
    (algorithm_tag, algorithm), (key_tag, key_bits) = items
    if algorithm_tag != _DER_SEQUENCE or not algorithm.startswith(_RSA_OID):
        return None
    if key_tag != _DER_BIT_STRING or key_bits[:1] != b"\x00":
        return None
    numbers = _sequence(key_bits[1:])
    if not numbers or len(numbers) != 2:
        return None
    if any(tag != _DER_INTEGER for tag, _ in numbers):
        return None
    return int.from_bytes(numbers[0][1], "big").bit_length()


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
