"""The Postfix renderer: what main.cf and master.cf say for each relay setting."""

from __future__ import annotations

import pytest

from mailcore.postfix import relayhost, render, ses_smtp_host


def main_cf(**options: object) -> dict[str, str]:
    files = render(
        **{
            "relay_host": ses_smtp_host("eu-west-1"),
            "relay_port": 587,
            "mynetworks": ["10.0.0.0/8"],
            "os_flavour": "amazon-linux-2023",
            **options,
        }  # type: ignore[arg-type]
    )
    lines = [line for line in files.main_cf.splitlines() if not line.startswith("#")]
    return dict(line.split(" = ", 1) for line in lines)


def test_relayhost_is_bracketed_and_the_sasl_key_is_byte_identical() -> None:
    files = render(
        relay_host="email-smtp.eu-central-1.amazonaws.com",
        relay_port=587,
        mynetworks=["10.0.0.0/8"],
        os_flavour="amazon-linux-2023",
    )

    assert files.relayhost == "[email-smtp.eu-central-1.amazonaws.com]:587"
    assert files.sasl_passwd_key.encode() == files.relayhost.encode()
    assert "relayhost = [email-smtp.eu-central-1.amazonaws.com]:587\n" in files.main_cf
    assert files.sasl_passwd_path == "/etc/postfix/sasl_passwd"
    # The credentials live in their own file, which main.cf only points at.
    assert [line for line in files.main_cf.splitlines() if "sasl_passwd" in line] == [
        "smtp_sasl_password_maps = $default_database_type:/etc/postfix/sasl_passwd"
    ]


def test_sending_to_ses_needs_tls_and_sasl_without_anonymous_mechanisms() -> None:
    settings = main_cf()

    assert settings["smtp_tls_security_level"] == "encrypt"
    assert settings["smtp_sasl_auth_enable"] == "yes"
    assert settings["smtp_sasl_security_options"] == "noanonymous"
    assert settings["smtp_tls_wrappermode"] == "no"
    assert settings["smtp_sasl_password_maps"] == (
        "$default_database_type:/etc/postfix/sasl_passwd"
    )


@pytest.mark.parametrize(
    ("port", "wrapper"), [(587, "no"), (2587, "no"), (465, "yes"), (2465, "yes")]
)
def test_wrapper_mode_is_on_for_465_and_2465_only(port: int, wrapper: str) -> None:
    settings = main_cf(relay_port=port)

    assert settings["smtp_tls_wrappermode"] == wrapper
    assert settings["relayhost"] == relayhost(ses_smtp_host("eu-west-1"), port)


@pytest.mark.parametrize(
    ("flavour", "packages", "ca_bundle"),
    [
        (
            "amazon-linux-2023",
            ("postfix", "cyrus-sasl-plain"),
            "/etc/pki/tls/certs/ca-bundle.crt",
        ),
        (
            "debian",
            ("postfix", "libsasl2-modules"),
            "/etc/ssl/certs/ca-certificates.crt",
        ),
    ],
)
def test_each_os_gets_its_sasl_plugin_package_and_ca_bundle(
    flavour: str, packages: tuple[str, ...], ca_bundle: str
) -> None:
    files = render(
        relay_host="h.example",
        relay_port=587,
        mynetworks=["10.0.0.0/8"],
        os_flavour=flavour,
    )

    assert files.packages == packages
    assert f"smtp_tls_CAfile = {ca_bundle}\n" in files.main_cf


def test_only_mynetworks_may_relay_and_nothing_is_delivered_locally() -> None:
    settings = main_cf(mynetworks=["10.0.0.0/8", "192.0.2.10/32"])

    assert settings["mynetworks"] == "10.0.0.0/8 192.0.2.10/32"
    assert settings["smtpd_relay_restrictions"] == (
        "permit_mynetworks, reject_unauth_destination"
    )
    assert settings["mydestination"] == ""
    assert settings["relay_domains"] == ""
    assert settings["maillog_file"] == "/var/log/maillog"


@pytest.mark.parametrize("everybody", ["0.0.0.0/0", "::/0"])
def test_the_renderer_refuses_an_open_relay(everybody: str) -> None:
    with pytest.raises(ValueError, match="open relay"):
        main_cf(mynetworks=["10.0.0.0/8", everybody])


def test_submission_auth_lets_authenticated_clients_relay_on_the_last_listener() -> (
    None
):
    files = render(
        relay_host="h.example",
        relay_port=587,
        mynetworks=["10.0.0.0/8"],
        os_flavour="amazon-linux-2023",
        submission_auth=True,
        server_cert=("/etc/postfix/c.pem", "/etc/postfix/k.pem"),
    )
    smtp, submission = (
        files.master_cf.split("\n")[1:3],
        files.master_cf.split("\n587")[1],
    )

    assert smtp[0].startswith("25 ")
    assert "smtpd_sasl_auth_enable" not in smtp[1]
    assert "-o smtpd_tls_security_level=encrypt" in submission
    assert "-o smtpd_tls_auth_only=yes" in submission
    assert (
        "-o smtpd_relay_restrictions=permit_mynetworks,permit_sasl_authenticated,"
        "reject_unauth_destination" in submission
    )
    assert files.smtpd_conf == (
        "pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\n"
        "sasldb_path: /etc/postfix/sasldb2\n"
    )
    assert files.packages == (
        "postfix",
        "cyrus-sasl-plain",
        "cyrus-sasl",
        "cyrus-sasl-lib",
    )


def test_submission_auth_without_a_certificate_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a server certificate"):
        main_cf(submission_auth=True)
