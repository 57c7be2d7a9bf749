"""The zones and environment the doctor tests serve: one good, and its mistakes."""

from __future__ import annotations

from pathlib import Path

ENVIRONMENT = """\
region: us-east-1
domains:
  - name: example.com
    spf:
      mechanisms: [include:amazonses.com, include:_spf.provider.test]
    dmarc:
      policy: quarantine
      rua: [dmarc@example.com]
    mx:
      - host: mx.provider.test
"""

TOKENS = ("tok1abc", "tok2def", "tok3ghi")

EXAMPLE = """\
@ 300 IN TXT "v=spf1 include:amazonses.com include:_spf.provider.test ~all"
@ 300 IN TXT "google-site-verification=abc123"
@ 300 IN MX 10 mx.provider.test.
_dmarc 300 IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com"
mail 300 IN MX 10 feedback-smtp.us-east-1.amazonses.com.
mail 300 IN TXT "v=spf1 include:amazonses.com ~all"
tok1abc._domainkey 300 IN CNAME tok1abc.dkim.amazonses.com.
tok2def._domainkey 300 IN CNAME tok2def.dkim.amazonses.com.
tok3ghi._domainkey 300 IN CNAME tok3ghi.dkim.amazonses.com.
_mta-sts 300 IN TXT "v=STSv1; id=20261203T000000"
_smtp._tls 300 IN TXT "v=TLSRPTv1; rua=mailto:tls-reports@example.com"
"""

AMAZONSES = """\
@ 300 IN TXT "v=spf1 ip4:199.255.192.0/22 ip4:199.127.232.0/22 ip4:54.240.0.0/18 -all"
"""

PROVIDER = """\
_spf 300 IN TXT "v=spf1 ip4:192.0.2.0/24 include:_spf2.provider.test ~all"
_spf2 300 IN TXT "v=spf1 ip4:198.51.100.0/24 ~all"
mx 300 IN A 192.0.2.25
"""

# Five includes of two lookups each behind one include: 17 in all.
BULKY_PROVIDER = (
    '_spf 300 IN TXT "v=spf1 '
    + " ".join(f"include:p{n}.provider.test" for n in range(5))
    + ' ~all"\n'
    + "".join(
        f'p{n} 300 IN TXT "v=spf1 a mx -all"\n'
        f"p{n} 300 IN A 192.0.2.{n + 1}\n"
        f"p{n} 300 IN MX 10 mx.provider.test.\n"
        for n in range(5)
    )
    + "mx 300 IN A 192.0.2.25\n"
)

VOID_PROVIDER = (
    '_spf 300 IN TXT "v=spf1 a:gone1.provider.test a:gone2.provider.test '
    'mx:gone3.provider.test ~all"\n'
    "mx 300 IN A 192.0.2.25\n"
)

_APEX_SPF = "v=spf1 include:amazonses.com include:_spf.provider.test ~all"


def zones(example: str = EXAMPLE, provider: str = PROVIDER) -> dict[str, str]:
    return {
        "example.com.": example,
        "amazonses.com.": AMAZONSES,
        "provider.test.": provider,
    }


def replace(line: str, by: str) -> str:
    """The good example.com zone with one line replaced (or removed with "")."""
    assert line in EXAMPLE
    return EXAMPLE.replace(line + "\n", by + ("\n" if by else ""))


BROKEN = {
    "split-txt-joined-without-space": zones(
        replace(
            f'@ 300 IN TXT "{_APEX_SPF}"',
            '@ 300 IN TXT "v=spf1 include:amazonses.com" '
            '"include:_spf.provider.test ~all"',
        )
    ),
    "two-spf-records": zones(
        EXAMPLE + '@ 300 IN TXT "v=spf1 include:mailgun.org ~all"\n'
    ),
    "spf-over-ten-lookups": zones(provider=BULKY_PROVIDER),
    "spf-void-lookups": zones(provider=VOID_PROVIDER),
    "dmarc-at-apex": zones(
        replace(
            '_dmarc 300 IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com"',
            '@ 300 IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com"',
        )
    ),
    "mail-from-wrong-region": zones(
        replace(
            "mail 300 IN MX 10 feedback-smtp.us-east-1.amazonses.com.",
            "mail 300 IN MX 10 feedback-smtp.us-west-2.amazonses.com.",
        )
    ),
    "dkim-missing": zones(
        replace("tok2def._domainkey 300 IN CNAME tok2def.dkim.amazonses.com.", "")
    ),
}


def write_environment(directory: Path) -> Path:
    """environments/test.yaml under ``directory``; returns the folder."""
    folder = directory / "environments"
    folder.mkdir()
    (folder / "test.yaml").write_text(ENVIRONMENT)
    return folder
