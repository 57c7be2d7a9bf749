"""Postfix configuration of the SMTP relay, rendered from the relay's settings.

One renderer serves the EC2 user data (Amazon Linux 2023, real SES endpoint) and
the tests (Debian, loopback addresses, a private queue and a test CA): callers
change addresses, ports, paths and the CA file, never the rules. The credentials
themselves are never rendered; :attr:`PostfixFiles.sasl_passwd_key` is the key
that the boot script writes the secret's ``username:password`` beside.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mailcore.regions import smtp_endpoint

__all__ = [
    "OS_FLAVOURS",
    "WRAPPER_PORTS",
    "OsFlavour",
    "PostfixFiles",
    "relayhost",
    "render",
    "ses_smtp_host",
]

# SES speaks TLS from the first byte on these ports, STARTTLS on the others.
WRAPPER_PORTS = frozenset({465, 2465})


@dataclass(frozen=True)
class OsFlavour:
    """What differs between the distributions the relay is rendered for."""

    name: str
    packages: tuple[str, ...]
    """Postfix and the SASL PLAIN/LOGIN client plugin (without it: "no mechanism
    available")."""
    server_sasl_packages: tuple[str, ...]
    """Cyrus SASL's sasldb and saslpasswd2, for clients authenticating to us."""
    ca_bundle: str


OS_FLAVOURS = {
    "amazon-linux-2023": OsFlavour(
        name="amazon-linux-2023",
        packages=("postfix", "cyrus-sasl-plain"),
        server_sasl_packages=("cyrus-sasl", "cyrus-sasl-lib"),
        ca_bundle="/etc/pki/tls/certs/ca-bundle.crt",
    ),
    "debian": OsFlavour(
        name="debian",
        packages=("postfix", "libsasl2-modules"),
        server_sasl_packages=("sasl2-bin", "libsasl2-modules-db"),
        ca_bundle="/etc/ssl/certs/ca-certificates.crt",
    ),
}


@dataclass(frozen=True)
class PostfixFiles:
    """A rendered relay: file contents and what the boot script needs beside them."""

    main_cf: str
    master_cf: str
    relayhost: str
    sasl_passwd_key: str
    """Byte-identical to :attr:`relayhost`, or Postfix sends without AUTH."""
    sasl_passwd_path: str
    packages: tuple[str, ...]
    smtpd_conf: str | None = None
    """Cyrus SASL's ``smtpd.conf`` with ``submission_auth``, else None."""
    smtpd_conf_path: str | None = None
    sasldb_path: str | None = None


def ses_smtp_host(region: str) -> str:
    """The SES SMTP endpoint of ``region``."""
    return smtp_endpoint(region)


def relayhost(host: str, port: int) -> str:
    """``[host]:port``: the brackets stop Postfix from looking up an MX record."""
    return f"[{host}]:{port}"


def render(
    *,
    relay_host: str,
    relay_port: int,
    mynetworks: Sequence[str],
    os_flavour: str,
    listen: Sequence[str] = ("25", "587"),
    submission_auth: bool = False,
    config_directory: str = "/etc/postfix",
    queue_directory: str | None = None,
    data_directory: str | None = None,
    maillog_file: str = "/var/log/maillog",
    ca_file: str | None = None,
    myhostname: str | None = None,
    server_cert: tuple[str, str] | None = None,
) -> PostfixFiles:
    """Render ``main.cf`` and ``master.cf`` of a relay to ``relay_host``.

    - ``mynetworks``: the client networks allowed to relay; nobody else may,
      except SASL-authenticated clients on the submission port when
      ``submission_auth`` is on.
    - ``listen``: the smtpd listeners, as master.cf service names (``25`` or
      ``127.0.0.1:10025``). The last one is the submission port when
      ``submission_auth`` is on.
    - ``ca_file``: the CA bundle the relay trusts. Default: the OS's bundle.
    - ``server_cert``: (certificate, key) files for STARTTLS offered to clients.
      Required with ``submission_auth``.
    - ``queue_directory``/``data_directory``/``myhostname``: default to the
      distribution's own when None.
    """
    flavour = OS_FLAVOURS[os_flavour]
    if not mynetworks:
        raise ValueError("a relay needs at least one client network")
    if "0.0.0.0/0" in mynetworks or "::/0" in mynetworks:
        raise ValueError("mynetworks must not be everybody: that is an open relay")
    if submission_auth and server_cert is None:
        raise ValueError("submission_auth needs a server certificate for STARTTLS")

    host = relayhost(relay_host, relay_port)
    passwd = f"{config_directory}/sasl_passwd"
    settings: list[tuple[str, str]] = [
        ("compatibility_level", "3.6"),
        ("maillog_file_prefixes", maillog_file.rsplit("/", 1)[0] or "/"),
        ("maillog_file", maillog_file),
        ("inet_interfaces", "all"),
        ("inet_protocols", "ipv4"),
        # The relay delivers nothing itself: no local domains, no aliases.
        ("mydestination", ""),
        ("local_recipient_maps", ""),
        ("local_transport", "error:this relay delivers no local mail"),
        ("alias_maps", ""),
        ("alias_database", ""),
        ("relay_domains", ""),
        ("mynetworks", " ".join(mynetworks)),
        ("smtpd_relay_restrictions", _relay_restrictions(submission_auth=False)),
        ("smtpd_recipient_restrictions", ""),
        ("smtpd_banner", "$myhostname ESMTP"),
        ("disable_vrfy_command", "yes"),
        ("smtpd_helo_required", "yes"),
        ("message_size_limit", str(40 * 1024 * 1024)),
        ("relayhost", host),
        ("smtp_sasl_auth_enable", "yes"),
        ("smtp_sasl_password_maps", f"$default_database_type:{passwd}"),
        ("smtp_sasl_security_options", "noanonymous"),
        ("smtp_sasl_tls_security_options", "noanonymous"),
        ("smtp_tls_security_level", "encrypt"),
        ("smtp_tls_wrappermode", "yes" if relay_port in WRAPPER_PORTS else "no"),
        ("smtp_tls_CAfile", ca_file or flavour.ca_bundle),
        ("smtp_tls_loglevel", "1"),
        # Several messages per TLS session with SES (through tlsproxy), instead
        # of a new TCP, TLS and AUTH exchange for each one.
        ("smtp_tls_connection_reuse", "yes"),
        ("smtp_tls_session_cache_database", "btree:$data_directory/smtp_scache"),
        ("smtp_tls_mandatory_protocols", ">=TLSv1.2"),
        # Retry soon after SES (or the network) refuses, and keep mail 5 days.
        ("minimal_backoff_time", "60s"),
        ("maximal_backoff_time", "15m"),
        ("queue_run_delay", "60s"),
        ("maximal_queue_lifetime", "5d"),
        ("bounce_queue_lifetime", "5d"),
    ]
    if queue_directory:
        settings.append(("queue_directory", queue_directory))
    if data_directory:
        settings.append(("data_directory", data_directory))
    if myhostname:
        settings.append(("myhostname", myhostname))
    if server_cert:
        settings += [
            ("smtpd_tls_cert_file", server_cert[0]),
            ("smtpd_tls_key_file", server_cert[1]),
            ("smtpd_tls_security_level", "may"),
            ("smtpd_tls_mandatory_protocols", ">=TLSv1.2"),
        ]
    sasl_directory = f"{config_directory}/sasl"
    sasldb = f"{config_directory}/sasldb2"
    if submission_auth:
        # Clients authenticate against Cyrus SASL's sasldb, in the realm
        # $myhostname; the boot script fills it from Secrets Manager.
        settings += [
            ("smtpd_sasl_type", "cyrus"),
            ("smtpd_sasl_path", "smtpd"),
            ("cyrus_sasl_config_path", sasl_directory),
            ("smtpd_sasl_local_domain", "$myhostname"),
        ]

    main_cf = "".join(f"{name} = {value}\n" for name, value in settings)
    return PostfixFiles(
        main_cf=_HEADER + main_cf,
        master_cf=_master_cf(listen, submission_auth=submission_auth),
        relayhost=host,
        sasl_passwd_key=host,
        sasl_passwd_path=passwd,
        packages=flavour.packages
        + (flavour.server_sasl_packages if submission_auth else ()),
        smtpd_conf=(
            "pwcheck_method: auxprop\nauxprop_plugin: sasldb\n"
            f"mech_list: PLAIN LOGIN\nsasldb_path: {sasldb}\n"
            if submission_auth
            else None
        ),
        smtpd_conf_path=f"{sasl_directory}/smtpd.conf" if submission_auth else None,
        sasldb_path=sasldb if submission_auth else None,
    )


_HEADER = "# Rendered by mailcore/postfix.py; changes here are lost on replacement.\n"


def _relay_restrictions(*, submission_auth: bool) -> str:
    allowed = ["permit_mynetworks"]
    if submission_auth:
        allowed.append("permit_sasl_authenticated")
    return ", ".join([*allowed, "reject_unauth_destination"])


# The daemons every Postfix 3 instance runs, as in the distributions' master.cf,
# unchrooted so that a private instance in a temporary directory works too.
_DAEMONS = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
tlsproxy  unix  -       -       n       -       0       tlsproxy
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def _master_cf(listen: Sequence[str], *, submission_auth: bool) -> str:
    lines = [_HEADER.rstrip("\n")]
    for index, service in enumerate(listen):
        lines.append(f"{service:<20} inet  n  -  n  -  -  smtpd")
        if submission_auth and index == len(listen) - 1:
            # Clients that authenticate (over TLS only) may relay here too.
            lines += [
                "  -o smtpd_tls_security_level=encrypt",
                "  -o smtpd_sasl_auth_enable=yes",
                "  -o smtpd_tls_auth_only=yes",
                "  -o smtpd_sasl_security_options=noanonymous",
                "  -o smtpd_relay_restrictions="
                + _relay_restrictions(submission_auth=True).replace(" ", ""),
            ]
    return "\n".join(lines) + "\n" + _DAEMONS
