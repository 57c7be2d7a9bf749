"""The real CDK CLI and ``make synth``, run from the repository as a user runs them.

Each command runs once per module, a few at a time (each costs seconds). The
environment is a user's shell: of the jsii and CDK settings, only the Node.js
end-of-life silencer and the telemetry opt-out, so app.py, cdk.json and the
Makefile have to keep the rest of the output quiet themselves.
``cdk ls`` writes to a temporary directory so that it cannot race ``make
synth``, which rebuilds ./cdk.out.
"""

from __future__ import annotations

import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mailcore.config import EnvironmentConfig, load_environment
from mailcore.inbound_settings import inbound_stack_name, receiving_domains_by_region
from tests.conftest import ENVIRONMENTS, REPO, SHIPPED_ENVIRONMENTS

CDK = ("npx", "--no-install", "cdk")
UNKNOWN_ENVIRONMENT = "does-not-exist"
NOISE = ("end-of-life", "feature flags are not configured", "NOTICES", "telemetry")
TIMEOUT_SECONDS = 300


def user_environment() -> dict[str, str]:
    """This process's environment without what pytest, make or conftest added."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JSII_", "CDK_", "MAKE"))
        and key not in ("MFLAGS", "PYTEST_CURRENT_TEST")
    }
    return {
        **inherited,
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
    }


def run(command: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=REPO,
        env=user_environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def runs(out: Path) -> dict[str, subprocess.CompletedProcess[str]]:
    commands = {
        "synth production": (
            *CDK,
            *("synth", "-c", "env=production", "--quiet", "-o", str(out / "synth")),
        ),
        **{
            f"ls {name}": (*CDK, "ls", "-c", f"env={name}", "-o", str(out / name))
            for name in SHIPPED_ENVIRONMENTS
        },
        f"synth {UNKNOWN_ENVIRONMENT}": (
            *CDK,
            *("synth", "-c", f"env={UNKNOWN_ENVIRONMENT}", "-o", str(out / "unknown")),
        ),
        "make synth": ("make", "synth"),
    }
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        started = {
            name: pool.submit(run, command) for name, command in commands.items()
        }
        return {name: future.result() for name, future in started.items()}


def shipped(name: str) -> EnvironmentConfig:
    return load_environment(name, ENVIRONMENTS)


def stack_names(config: EnvironmentConfig) -> list[str]:
    """One stack per domain, one per receiving region, with bounce handling one
    monitoring stack per region the environment uses, then shared, WorkMail and
    relay stacks."""
    names = [config.stack_name_of(domain) for domain in config.domains]
    names += [
        inbound_stack_name(config.app, config.name, region)
        for region in receiving_domains_by_region(config)
    ]
    if config.bounces and config.bounces.enabled:
        regions = {config.ses_region_of(domain) for domain in config.domains}
        regions.add(config.region or config.ses_region_of(config.domains[0]))
        names += [f"{config.app}-{config.name}-monitoring-{r}" for r in regions]
    if config.smtp_users:
        names.append(f"{config.app}-{config.name}-shared")
    if config.workmail:
        names.append(f"{config.app}-{config.name}-workmail")
    if config.relay.enabled:
        names.append(f"{config.app}-{config.name}-relay")
    return names


def explain(result: subprocess.CompletedProcess[str]) -> str:
    return f"$ {' '.join(result.args)}\n{result.stdout}\n{result.stderr}"


def test_cdk_synth_writes_one_template_per_domain(
    runs: dict[str, subprocess.CompletedProcess[str]], out: Path
) -> None:
    result = runs["synth production"]
    templates = sorted(path.name for path in (out / "synth").glob("*.template.json"))

    assert result.returncode == 0, explain(result)
    assert templates == sorted(
        f"{name}.template.json" for name in stack_names(shipped("production"))
    )


@pytest.mark.parametrize("name", SHIPPED_ENVIRONMENTS)
def test_cdk_ls_prints_one_stack_per_domain(
    runs: dict[str, subprocess.CompletedProcess[str]], name: str
) -> None:
    result = runs[f"ls {name}"]

    assert result.returncode == 0, explain(result)
    assert sorted(result.stdout.split()) == sorted(stack_names(shipped(name)))


@pytest.mark.parametrize(
    "command",
    [
        "synth production",
        *(f"ls {name}" for name in SHIPPED_ENVIRONMENTS),
        f"synth {UNKNOWN_ENVIRONMENT}",
    ],
)
def test_cdk_stderr_carries_no_banner_or_notice(
    runs: dict[str, subprocess.CompletedProcess[str]], command: str
) -> None:
    stderr = runs[command].stderr

    assert [text for text in NOISE if text.lower() in stderr.lower()] == [], stderr


def test_cdk_synth_warns_once_about_the_end_of_workmail(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    result = runs["synth production"]
    uses_workmail = shipped("production").workmail is not None
    warnings = [
        line
        for line in result.stderr.splitlines()
        if line.startswith("WARNING") and "WorkMail" in line
    ]

    assert uses_workmail
    assert result.returncode == 0, explain(result)
    assert len(warnings) == 1, explain(result)
    for line in warnings:
        assert "2026-04-30" in line
        assert "2027-03-31" in line
        assert "inbound: ses" in line


def test_make_synth_shows_the_workmail_warning_only_where_it_applies(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    result = runs["make synth"]
    uses_workmail = shipped("example").workmail is not None

    assert result.returncode == 0, explain(result)
    assert ("WorkMail" in result.stderr) == uses_workmail, explain(result)


def test_cdk_synth_of_an_unknown_environment_fails_in_one_line(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    result = runs[f"synth {UNKNOWN_ENVIRONMENT}"]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]

    assert result.returncode != 0, explain(result)
    assert len(errors) == 1, explain(result)
    assert f"'{UNKNOWN_ENVIRONMENT}'" in errors[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_make_synth_lists_each_example_template_with_its_resources(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    result = runs["make synth"]
    config = shipped("example")
    lines = result.stdout.splitlines()

    assert result.returncode == 0, explain(result)
    for domain in config.domains:
        template = re.escape(f"{config.stack_name_of(domain)}.template.json")
        region = re.escape(config.ses_region_of(domain))
        listed = [
            line
            for line in lines
            if re.search(rf"/{template}\s+{region}\s+[1-9]\d* resources \(", line)
        ]
        assert len(listed) == 1, explain(result)
    # Both example domains send from us-east-1: one monitoring stack there.
    monitoring = re.escape(f"{config.app}-{config.name}-monitoring-us-east-1")
    assert [
        line
        for line in lines
        if re.search(rf"/{monitoring}\.template\.json\s+us-east-1\s.*Dashboard", line)
    ], explain(result)
    assert len(lines) == 1 + len(config.domains) + 1, explain(result)
