"""The relay instance's boot script (EC2 user data) and the scripts it installs.

Everything is rendered here, from :mod:`mailcore.postfix`'s output and names the
stack passes in: no credential is ever part of the text. At boot the instance
fetches the SMTP user's secret with the AWS CLI and writes ``sasl_passwd``
itself (:func:`credentials_script`), again every 15 minutes so that a rotated
key reaches the relay. When its Auto Scaling group terminates it, the instance
delivers what is queued before letting it go (:func:`drain_script`).
"""

from __future__ import annotations

import json
import shlex

from mailcore.postfix import PostfixFiles

__all__ = [
    "METRIC_NAME",
    "credentials_script",
    "drain_script",
    "queue_metric_script",
    "submission_users_script",
    "user_data",
]

METRIC_NAME = "QueuedMessages"

# Settings the distribution compiles in or writes into its own main.cf; they
# are kept when the rendered main.cf replaces the distribution's.
_DISTRIBUTION_PATHS = (
    "command_directory",
    "daemon_directory",
    "data_directory",
    "queue_directory",
    "mail_owner",
    "setgid_group",
    "meta_directory",
    "shlib_directory",
    "sendmail_path",
    "newaliases_path",
    "mailq_path",
    "manpage_directory",
    "sample_directory",
    "readme_directory",
    "html_directory",
)


def credentials_script(
    *,
    files: PostfixFiles,
    secret_id: str,
    region: str,
    config_directory: str = "/etc/postfix",
) -> str:
    """A Python script writing the secret's credentials into ``sasl_passwd``.

    It asks the AWS CLI for the secret (never passing it on a command line),
    writes one line keyed by the relayhost with mode 0600, runs ``postmap``,
    and reloads Postfix when the credentials changed. It prints no secret.
    """
    return f"""#!/usr/bin/python3
# Rendered by mailcore/relay_boot.py: SMTP credentials from Secrets Manager.
import json, os, subprocess, sys

PATH = {files.sasl_passwd_path!r}
KEY = {files.sasl_passwd_key!r}
value = subprocess.run(
    ["aws", "secretsmanager", "get-secret-value", "--region", {region!r},
     "--secret-id", {secret_id!r}, "--query", "SecretString", "--output", "text"],
    check=True, capture_output=True, text=True,
).stdout
secret = json.loads(value)
if "username" not in secret or "password" not in secret:
    sys.exit("the secret holds no SMTP credentials yet")
line = KEY + " " + secret["username"] + ":" + secret["password"] + "\\n"
try:
    with open(PATH) as current:
        if current.read() == line:
            sys.exit(0)
except FileNotFoundError:
    pass
descriptor = os.open(PATH + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(descriptor, "w") as new:
    new.write(line)
os.chmod(PATH + ".new", 0o600)
os.replace(PATH + ".new", PATH)
subprocess.run(["postmap", "-c", {config_directory!r}, PATH], check=True)
subprocess.run(["postfix", "-c", {config_directory!r}, "reload"],
               capture_output=True, check=False)
print("sasl_passwd updated for", KEY)
"""


def submission_users_script(
    *,
    files: PostfixFiles,
    secret_id: str,
    region: str,
    config_directory: str = "/etc/postfix",
) -> str:
    """A Python script filling sasldb with the submission client's credentials.

    The secret holds ``username`` and ``password``; the user is created in the
    realm ``$myhostname`` (``smtpd_sasl_local_domain``), in a new database that
    replaces the old one, readable by root and the postfix group only.
    """
    if files.sasldb_path is None:
        raise ValueError("rendered without submission_auth: there is no sasldb")
    return f"""#!/usr/bin/python3
# Rendered by mailcore/relay_boot.py: submission clients' credentials.
import json, os, shutil, subprocess, sys

SASLDB = {files.sasldb_path!r}
value = subprocess.run(
    ["aws", "secretsmanager", "get-secret-value", "--region", {region!r},
     "--secret-id", {secret_id!r}, "--query", "SecretString", "--output", "text"],
    check=True, capture_output=True, text=True,
).stdout
secret = json.loads(value)
realm = subprocess.run(
    ["postconf", "-c", {config_directory!r}, "-h", "myhostname"],
    check=True, capture_output=True, text=True,
).stdout.strip()
new = SASLDB + ".new"
if os.path.exists(new):
    os.remove(new)
subprocess.run(
    ["saslpasswd2", "-p", "-c", "-f", new, "-u", realm, secret["username"]],
    input=secret["password"], check=True, text=True,
)
shutil.chown(new, "root", "postfix")
os.chmod(new, 0o640)
os.replace(new, SASLDB)
print("sasldb updated for", secret["username"] + "@" + realm)
"""


def queue_metric_script(*, namespace: str, relay: str, region: str) -> str:
    """A shell script putting the number of queued messages into CloudWatch."""
    return f"""#!/bin/bash
# Rendered by mailcore/relay_boot.py: Postfix queue size to CloudWatch.
set -euo pipefail
count=$(postqueue -j | wc -l)
aws cloudwatch put-metric-data --region {shlex.quote(region)} \\
    --namespace {shlex.quote(namespace)} --metric-name {METRIC_NAME} \\
    --dimensions Relay={shlex.quote(relay)} --unit Count --value "$count"
"""


def drain_script(
    *,
    region: str,
    group_name: str,
    hook_name: str,
    deadline_seconds: int,
    poll_seconds: int = 30,
    credentials_command: str = "/usr/local/sbin/relay-credentials",
    metadata_url: str = "http://169.254.169.254",
    done_path: str = "/run/relay-drain-done",
    config_directory: str = "/etc/postfix",
) -> str:
    """A Python script delivering the queue once the instance is being terminated.

    Run every ``poll_seconds`` by a timer, it reads the instance's target
    lifecycle state from the instance metadata service (IMDSv2) and does
    nothing until that is ``Terminated``. Then it closes Postfix's SMTP
    listeners, refreshes the SMTP credentials once with ``credentials_command``,
    flushes the queue every ``poll_seconds`` until it is empty or
    ``deadline_seconds`` have passed, and completes the lifecycle action
    ``hook_name`` of ``group_name`` with ``CONTINUE``. ``done_path`` records
    that it did, so that later runs stay quiet.
    """
    return f"""#!/usr/bin/python3
# Rendered by mailcore/relay_boot.py: deliver the queue before the instance goes.
import os, subprocess, sys, time, urllib.error, urllib.request

METADATA = {metadata_url!r}
CONFIG = {config_directory!r}
DONE = {done_path!r}
DEADLINE_SECONDS = {deadline_seconds!r}
POLL_SECONDS = {poll_seconds!r}


def metadata(path, token):
    request = urllib.request.Request(
        METADATA + "/latest/meta-data/" + path,
        headers={{"X-aws-ec2-metadata-token": token}},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read().decode().strip()


def queued():
    listing = subprocess.run(
        ["postqueue", "-c", CONFIG, "-j"], check=True, capture_output=True, text=True
    ).stdout
    return len([line for line in listing.splitlines() if line.strip()])


if os.path.exists(DONE):
    sys.exit(0)
token_request = urllib.request.Request(
    METADATA + "/latest/api/token",
    method="PUT",
    headers={{"X-aws-ec2-metadata-token-ttl-seconds": "3600"}},
)
with urllib.request.urlopen(token_request, timeout=5) as response:
    token = response.read().decode()
try:
    state = metadata("autoscaling/target-lifecycle-state", token)
except urllib.error.HTTPError as error:
    # Not (yet) known to Auto Scaling: nothing to drain for.
    if error.code == 404:
        sys.exit(0)
    raise
if state != "Terminated":
    sys.exit(0)

print("terminating: closing the SMTP listeners and delivering the queue")
# Closed ports make clients try again later or elsewhere (a rejection could
# bounce their mail); Postfix's own delivery runs over unix services and goes on.
subprocess.run(
    ["postconf", "-c", CONFIG, "-e", "master_service_disable = inet"], check=False
)
subprocess.run(["postfix", "-c", CONFIG, "reload"], check=False)
# A key rotated since the last timed refresh is what most likely holds mail
# back; a failure here must not keep the drain from trying what it has.
subprocess.run([{credentials_command!r}], check=False)

deadline = time.monotonic() + DEADLINE_SECONDS
while queued() and time.monotonic() < deadline:
    subprocess.run(["postqueue", "-c", CONFIG, "-f"], check=False)
    time.sleep(max(0, min(POLL_SECONDS, deadline - time.monotonic())))
left = queued()
if left:
    print(left, "messages still queued at the deadline; they are lost")

instance = metadata("instance-id", token)
subprocess.run(
    ["aws", "autoscaling", "complete-lifecycle-action", "--region", {region!r},
     "--auto-scaling-group-name", {group_name!r},
     "--lifecycle-hook-name", {hook_name!r},
     "--instance-id", instance, "--lifecycle-action-result", "CONTINUE"],
    check=True,
)
with open(DONE, "w"):
    pass
print("lifecycle action completed for", instance)
"""


def _agent_config(*, log_group: str) -> str:
    return json.dumps(
        {
            "logs": {
                "logs_collected": {
                    "files": {
                        "collect_list": [
                            {
                                "file_path": "/var/log/maillog",
                                "log_group_name": log_group,
                                "log_stream_name": "{instance_id}",
                            }
                        ]
                    }
                }
            }
        },
        indent=2,
    )


def _unit(description: str, body: str) -> str:
    return f"[Unit]\nDescription={description}\n{body}"


def user_data(
    *,
    files: PostfixFiles,
    secret_id: str,
    region: str,
    log_group: str,
    metric_namespace: str,
    relay: str,
    group_name: str,
    drain_hook_name: str,
    drain_deadline_seconds: int,
    submission_secret_id: str | None = None,
    server_cert: tuple[str, str] | None = None,
) -> str:
    """The bash boot script of a relay instance on Amazon Linux 2023.

    When Auto Scaling group ``group_name`` terminates the instance, the
    lifecycle hook ``drain_hook_name`` holds it while :func:`drain_script`
    delivers the queue, for at most ``drain_deadline_seconds``.

    With ``submission_secret_id`` (the relay rendered with ``submission_auth``)
    it also fills sasldb from that secret, and makes a self-signed
    ``server_cert`` (certificate, key) for STARTTLS when there is none.
    """
    written = {
        "/usr/local/sbin/relay-credentials": credentials_script(
            files=files, secret_id=secret_id, region=region
        ),
        "/usr/local/sbin/relay-queue-metric": queue_metric_script(
            namespace=metric_namespace, relay=relay, region=region
        ),
        "/usr/local/sbin/relay-drain": drain_script(
            region=region,
            group_name=group_name,
            hook_name=drain_hook_name,
            deadline_seconds=drain_deadline_seconds,
        ),
        "/opt/aws/amazon-cloudwatch-agent/etc/relay.json": _agent_config(
            log_group=log_group
        ),
        "/etc/systemd/system/relay-credentials.service": _unit(
            "SMTP credentials for Postfix from Secrets Manager",
            # Secrets Manager is only reachable once the network is up; without
            # this the first run at boot can fail before Postfix starts.
            "Wants=network-online.target\nAfter=network-online.target\n"
            "Before=postfix.service\n\n[Service]\nType=oneshot\n"
            "ExecStart=/usr/local/sbin/relay-credentials\n"
            "Restart=on-failure\nRestartSec=30\n\n"
            "[Install]\nWantedBy=multi-user.target\n",
        ),
        "/etc/systemd/system/relay-credentials.timer": _unit(
            "Refresh the SMTP credentials (key rotation)",
            "\n[Timer]\nOnBootSec=15min\nOnUnitActiveSec=15min\n\n"
            "[Install]\nWantedBy=timers.target\n",
        ),
        "/etc/systemd/system/relay-queue-metric.service": _unit(
            "Postfix queue size to CloudWatch",
            "\n[Service]\nType=oneshot\nExecStart=/usr/local/sbin/relay-queue-metric\n",
        ),
        "/etc/systemd/system/relay-queue-metric.timer": _unit(
            "Postfix queue size to CloudWatch every minute",
            "\n[Timer]\nOnBootSec=1min\nOnUnitActiveSec=1min\n\n"
            "[Install]\nWantedBy=timers.target\n",
        ),
        "/etc/systemd/system/relay-drain.service": _unit(
            "Deliver the Postfix queue before Auto Scaling terminates the instance",
            "After=postfix.service\n\n[Service]\nType=oneshot\n"
            "ExecStart=/usr/local/sbin/relay-drain\n",
        ),
        # Polls every 30 seconds: the lifecycle state is only in the instance
        # metadata, and systemd's default accuracy (a minute) would lose time
        # the drain needs.
        "/etc/systemd/system/relay-drain.timer": _unit(
            "Watch for the instance's termination by Auto Scaling",
            "\n[Timer]\nOnBootSec=1min\nOnUnitInactiveSec=30s\nAccuracySec=5s\n\n"
            "[Install]\nWantedBy=timers.target\n",
        ),
        "/etc/systemd/system/postfix.service.d/restart.conf": (
            "[Service]\nRestart=on-failure\nRestartSec=5\n"
        ),
    }
    if submission_secret_id is not None:
        written["/usr/local/sbin/relay-submission-users"] = submission_users_script(
            files=files, secret_id=submission_secret_id, region=region
        )
        assert files.smtpd_conf is not None and files.smtpd_conf_path is not None
        written[files.smtpd_conf_path] = files.smtpd_conf
        written["/etc/systemd/system/relay-credentials.service"] = written[
            "/etc/systemd/system/relay-credentials.service"
        ].replace(
            "ExecStart=/usr/local/sbin/relay-credentials\n",
            "ExecStart=/usr/local/sbin/relay-credentials\n"
            "ExecStart=/usr/local/sbin/relay-submission-users\n",
        )
    keep = " ".join(_DISTRIBUTION_PATHS)
    lines = [
        "#!/bin/bash",
        "# Rendered by mailcore/relay_boot.py. It holds no credential: the",
        "# instance reads them from Secrets Manager (relay-credentials).",
        "set -euo pipefail",
        "dnf install -y -q "
        + " ".join((*files.packages, "openssl", "amazon-cloudwatch-agent")),
        f"distribution=$(postconf -n {keep} 2>/dev/null || true)",
        _heredoc("/etc/postfix/main.cf", files.main_cf, mode="0644"),
        'printf "%s\\n" "$distribution" >> /etc/postfix/main.cf',
        _heredoc("/etc/postfix/master.cf", files.master_cf, mode="0644"),
    ]
    for path, text in written.items():
        mode = "0755" if path.startswith("/usr/local/sbin/") else "0644"
        lines.append(_heredoc(path, text, mode=mode))
    if submission_secret_id is not None and server_cert is not None:
        # NOTE: self-signed, so clients cannot verify the relay; README "Known
        # limitations".
        certificate, key = (shlex.quote(path) for path in server_cert)
        lines.append(
            f"[ -s {certificate} ] || openssl req -x509 -newkey rsa:2048 -nodes "
            f'-days 3650 -subj "/CN=$(hostname -f)" -keyout {key} '
            f"-out {certificate} && chmod 0600 {key}"
        )
    lines += [
        "touch /var/log/maillog && chmod 0640 /var/log/maillog",
        "systemctl daemon-reload",
        # Postfix starts without credentials too: mail waits in the queue.
        "systemctl enable --now relay-credentials.service || true",
        "systemctl enable --now postfix.service",
        "systemctl enable --now relay-credentials.timer relay-queue-metric.timer "
        "relay-drain.timer",
        "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl "
        "-a fetch-config -m ec2 -s "
        "-c file:/opt/aws/amazon-cloudwatch-agent/etc/relay.json",
    ]
    return "\n".join(lines) + "\n"


def _heredoc(path: str, text: str, *, mode: str) -> str:
    marker = "RELAY_EOF"
    if marker in text:
        raise ValueError(f"{path} contains the heredoc marker {marker}")
    directory = path.rsplit("/", 1)[0]
    return (
        f"install -d {shlex.quote(directory)}\n"
        f"cat > {shlex.quote(path)} <<'{marker}'\n{text.rstrip(chr(10))}\n{marker}\n"
        f"chmod {mode} {shlex.quote(path)}"
    )
