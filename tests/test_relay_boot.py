"""The relay's boot script: what it installs, and that it carries no credential."""

from __future__ import annotations

import pytest

from mailcore import relay_boot
from mailcore.postfix import render

FILES = render(
    relay_host="email-smtp.eu-west-1.amazonaws.com",
    relay_port=587,
    mynetworks=["10.0.0.0/8"],
    os_flavour="amazon-linux-2023",
)


def boot_script(**options: object) -> str:
    return relay_boot.user_data(
        **{
            "files": FILES,
            "secret_id": "mail/prod/smtp/app",
            "region": "eu-west-1",
            "log_group": "/mail/prod/relay/maillog",
            "metric_namespace": "Mail/Relay",
            "relay": "mail-prod-relay",
            "group_name": "mail-prod-relay",
            "drain_hook_name": "drain-queue",
            "drain_deadline_seconds": 780,
            **options,
        }  # type: ignore[arg-type]
    )


def test_the_boot_script_installs_postfix_the_sasl_plugin_and_the_agent() -> None:
    script = boot_script()

    assert (
        "dnf install -y -q postfix cyrus-sasl-plain openssl amazon-cloudwatch-agent"
        in script
    )
    assert FILES.main_cf in script
    assert FILES.master_cf in script
    assert "systemctl enable --now postfix.service" in script
    assert '"file_path": "/var/log/maillog"' in script
    assert '"log_group_name": "/mail/prod/relay/maillog"' in script


def test_the_credentials_script_writes_0600_postmaps_and_never_prints_a_secret() -> (
    None
):
    script = relay_boot.credentials_script(
        files=FILES, secret_id="mail/prod/smtp/app", region="eu-west-1"
    )

    assert "KEY = '[email-smtp.eu-west-1.amazonaws.com]:587'" in script
    assert "0o600" in script
    assert '["postmap", "-c", \'/etc/postfix\', PATH]' in script
    assert "print(secret" not in script
    assert "print(line" not in script


def test_the_queue_size_goes_to_cloudwatch_every_minute() -> None:
    script = boot_script()

    assert "count=$(postqueue -j | wc -l)" in script
    assert "--namespace Mail/Relay --metric-name QueuedMessages" in script
    assert "--dimensions Relay=mail-prod-relay" in script
    assert "OnUnitActiveSec=1min" in script


def test_a_file_containing_the_heredoc_marker_is_refused() -> None:
    broken = render(
        relay_host="h.example",
        relay_port=587,
        mynetworks=["10.0.0.0/8"],
        os_flavour="amazon-linux-2023",
        myhostname="RELAY_EOF",
    )

    with pytest.raises(ValueError, match="heredoc marker"):
        boot_script(files=broken)


def test_the_credentials_service_waits_for_the_network_before_postfix_starts() -> None:
    script = boot_script()

    unit = script.split("/etc/systemd/system/relay-credentials.service", 1)[1]
    unit = unit.split("[Service]", 1)[0]
    assert "Wants=network-online.target\n" in unit
    assert "After=network-online.target\n" in unit
    assert "Before=postfix.service\n" in unit


def test_a_timer_watches_for_termination_and_drains_within_the_deadline() -> None:
    script = boot_script()

    timer = script.split("/etc/systemd/system/relay-drain.timer", 1)[1]
    timer = timer.split("RELAY_EOF", 2)[1]
    assert "OnUnitInactiveSec=30s\nAccuracySec=5s\n" in timer
    assert "WantedBy=timers.target" in timer
    assert "ExecStart=/usr/local/sbin/relay-drain\n" in script
    assert "relay-queue-metric.timer relay-drain.timer\n" in script
    assert "DEADLINE_SECONDS = 780\n" in script
    assert "\"--auto-scaling-group-name\", 'mail-prod-relay'" in script
    assert "\"--lifecycle-hook-name\", 'drain-queue'" in script
