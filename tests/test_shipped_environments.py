"""Every environment in environments/ synthesizes to templates fit to deploy.

Each shipped environment is synthesized once for this module, in-process, with
cdk.json's feature flags and with cdk-nag on, as ``cdk synth -c env=NAME`` runs
it. The cloud assembly is then linted with cfn-lint, its cdk-nag report read,
scanned for anything that looks like a credential, and its stacks compared with
the environment's domains.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Acknowledgment, App, Stack, Validations
from aws_cdk import aws_sns as sns
from cfnlint.api import ManualArgs, lint

from mailcore.config import EnvironmentConfig, load_environment
from mailcore.inbound_settings import inbound_stack_name, receiving_domains_by_region
from stacks.environment import add_checks, build_environment
from tests.conftest import ENVIRONMENTS, REPO, SHIPPED_ENVIRONMENTS

CDK_CONTEXT: dict[str, Any] = json.loads((REPO / "cdk.json").read_text())["context"]

# W3005: a DependsOn that a Ref already implies. CDK adds some on its own.
ALLOWED_CFN_LINT_RULES = frozenset({"W3005"})

# Termination protection as the shipped files are meant to deploy; an
# environment added later is held to the documented default instead.
PROTECTED = {"example": False, "production": True}

SECRET_PATTERNS = {
    "PEM private key": re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----"),
    "AWS access key id": re.compile(
        r"(?<![A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"
    ),
    "AWS secret access key": re.compile(
        r"(?i)[\w-]*(secret|password|passwd|credential|private[_-]?key|token)[\w-]*"
        r"[\"']?\s*[:=]\s*[\"']?(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"
    ),
    "SES SMTP password": re.compile(
        r"(?<![A-Za-z0-9/+=])B[A-Za-z0-9/+]{43}(?![\w/+=])"
    ),
}


@dataclass(frozen=True)
class Synthesized:
    """One environment's cloud assembly and what synthesis said about it."""

    config: EnvironmentConfig
    directory: Path
    stacks: dict[str, dict[str, Any]]
    """Stack artifacts of manifest.json by artifact id."""
    synth_error: str | None

    def template(self, artifact_id: str) -> dict[str, Any]:
        return json.loads(self.template_path(artifact_id).read_text())

    def template_path(self, artifact_id: str) -> Path:
        return self.directory / self.stacks[artifact_id]["properties"]["templateFile"]


@pytest.fixture(scope="module", params=SHIPPED_ENVIRONMENTS)
def shipped(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Synthesized:
    name: str = request.param
    config = load_environment(name, ENVIRONMENTS)
    directory = tmp_path_factory.mktemp(f"cdk.out.{name}")
    app = App(outdir=str(directory), context=CDK_CONTEXT)
    build_environment(app, config)
    add_checks(app)
    try:
        app.synth()
    except RuntimeError as failure:
        # The assembly and its validation report are written before this.
        synth_error: str | None = str(failure)
    else:
        synth_error = None
    manifest = json.loads((directory / "manifest.json").read_text())
    stacks = {
        artifact_id: artifact
        for artifact_id, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    return Synthesized(config, directory, stacks, synth_error)


def region_of(artifact: dict[str, Any]) -> str:
    """The region of a stack artifact, from ``aws://<account>/<region>``."""
    return artifact["environment"].rsplit("/", 1)[-1]


def lint_findings(template: str, region: str) -> list[str]:
    """cfn-lint errors and warnings for ``template`` in ``region``, one line each."""
    matches = lint(template, config=ManualArgs(regions=[region]))
    return [
        f"{match.rule.id} line {match.linenumber}: {match.message}"
        for match in matches
        if match.rule.id[0] in "EW" and match.rule.id not in ALLOWED_CFN_LINT_RULES
    ]


# CDK lists construct annotations in the validation report as a plugin of its
# own; warnings there are what synth prints, not findings of a check.
ANNOTATIONS_PLUGIN = "Construct Annotations"


def nag_violations(assembly: Path) -> list[str]:
    report = json.loads((assembly / "validation-report.json").read_text())
    return [
        f"{plugin['pluginName']}: {violation['ruleName']} at "
        + ", ".join(c["constructPath"] for c in violation["violatingConstructs"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        if not (
            plugin["pluginName"] == ANNOTATIONS_PLUGIN
            and violation.get("severity") == "warning"
        )
    ]


def annotation_warnings(assembly: Path) -> list[str]:
    """``<rule> at <stack>`` for each warning annotation synth reported."""
    path = assembly / "validation-report.json"
    if not path.exists():
        return []
    report = json.loads(path.read_text())
    return [
        f"{violation['ruleName']} at "
        + ", ".join(c["constructPath"] for c in violation["violatingConstructs"])
        for plugin in report["pluginReports"]
        if plugin["pluginName"] == ANNOTATIONS_PLUGIN
        for violation in plugin["violations"]
        if violation.get("severity") == "warning"
    ]


def acknowledgements(assembly: Path) -> Iterator[tuple[str, str, str]]:
    """(where, rule id, reason) of every acknowledged finding in ``assembly``.

    An id as cdk-nag documents it (``AwsSolutions-SNS3``) is filtered by cdk-nag
    itself and lives only in the construct metadata; a plugin-qualified id
    (``AwsSolutions::AwsSolutions-SNS3``) is filtered by CDK, which lists it
    under ``suppressedViolations`` in the report. Both are read here.
    """
    report = json.loads((assembly / "validation-report.json").read_text())
    for plugin in report["pluginReports"]:
        for suppressed in plugin.get("suppressedViolations", []):
            yield (
                suppressed["acknowledgedAt"],
                suppressed["acknowledgedId"],
                suppressed.get("reason", ""),
            )
    for metadata_file in sorted(assembly.glob("*.metadata.json")):
        for path, entries in json.loads(metadata_file.read_text()).items():
            for entry in entries:
                if entry["type"] == Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                    for rule_id, reason in entry["data"].items():
                        yield path, rule_id, reason or ""


def secret_findings(directory: Path) -> list[str]:
    """``file: kind: excerpt`` for each credential-shaped string below ``directory``."""
    findings = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        text = path.read_text(encoding="utf-8", errors="replace")
        for kind, pattern in SECRET_PATTERNS.items():
            findings += [
                f"{path.relative_to(directory)}: {kind}: {match.group(0)[:12]}..."
                for match in pattern.finditer(text)
            ]
    return findings


def test_cfn_lint_finds_no_error_or_warning(shipped: Synthesized) -> None:
    findings = [
        f"{shipped.template_path(artifact_id).name}: {finding}"
        for artifact_id, artifact in shipped.stacks.items()
        for finding in lint_findings(
            shipped.template_path(artifact_id).read_text(), region_of(artifact)
        )
    ]

    assert shipped.stacks
    assert not findings, "cfn-lint:\n" + "\n".join(findings)


def test_cfn_lint_check_reports_an_unknown_property() -> None:
    template = {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"DisplayNam": "x"}}
        }
    }

    findings = lint_findings(json.dumps(template), "eu-west-1")

    assert [finding.split()[0] for finding in findings] == ["E3002"]


def test_synthesis_passes_cdk_nag_aws_solutions(shipped: Synthesized) -> None:
    assert shipped.synth_error is None, shipped.synth_error
    assert nag_violations(shipped.directory) == []


def test_every_acknowledged_nag_finding_has_a_reason(shipped: Synthesized) -> None:
    unexplained = [
        f"{where}: {rule_id}"
        for where, rule_id, reason in acknowledgements(shipped.directory)
        if not reason.strip()
    ]

    assert not unexplained, "acknowledged without a reason:\n" + "\n".join(unexplained)


def test_nag_check_reports_findings_and_reads_acknowledgements(
    tmp_path: Path,
) -> None:
    app = App(outdir=str(tmp_path), context=CDK_CONTEXT)
    stack = Stack(app, "Probe")
    sns.Topic(stack, "Plain")
    for construct_id, rule_id in (
        ("AcknowledgedAsDocumented", "AwsSolutions-SNS3"),
        ("AcknowledgedWithPlugin", "AwsSolutions::AwsSolutions-SNS3"),
    ):
        topic = sns.Topic(stack, construct_id)
        Validations.of(topic).acknowledge(
            Acknowledgment(id=rule_id, reason=f"probe {construct_id}")
        )
    add_checks(app)

    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()

    assert nag_violations(tmp_path) == [
        "AwsSolutions: AwsSolutions-SNS3 at Probe/Plain/Resource"
    ]
    assert {reason for _, _, reason in acknowledgements(tmp_path)} == {
        "probe AcknowledgedAsDocumented",
        "probe AcknowledgedWithPlugin",
    }


def test_cloud_assembly_holds_no_credential(shipped: Synthesized) -> None:
    findings = secret_findings(shipped.directory)

    assert not findings, "credential-shaped strings:\n" + "\n".join(findings)


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        # Built at run time so that no scanner flags this file.
        ("PEM private key", "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIE"),
        ("AWS access key id", '"Key": "' + "AKIA" + "Q3EXAMPLE7KEY2ID" + '"'),
        ("AWS secret access key", '"SecretAccessKey": "' + "wJalr/" + "x" * 34 + '"'),
        ("SES SMTP password", '"SmtpPassword": "' + "B" + "a1+/" * 10 + 'abc"'),
    ],
)
def test_secret_scan_flags_each_kind(tmp_path: Path, kind: str, text: str) -> None:
    (tmp_path / "leak.json").write_text(text)

    assert any(f": {kind}: " in finding for finding in secret_findings(tmp_path))


def test_bring_your_own_dkim_key_is_only_a_secrets_manager_reference(
    shipped: Synthesized,
) -> None:
    byo = [d for d in shipped.config.domains if d.dkim.signing == "byo"]
    easy = [d for d in shipped.config.domains if d.dkim.signing == "easy"]
    for domain in easy:
        template = shipped.template(shipped.config.stack_name_of(domain))
        assert "DomainSigningPrivateKey" not in json.dumps(template)
    for domain in byo:
        template = shipped.template(shipped.config.stack_name_of(domain))
        identities = [
            resource["Properties"]
            for resource in template["Resources"].values()
            if resource["Type"] == "AWS::SES::EmailIdentity"
        ]
        field = domain.dkim.private_key_field or ""

        [identity] = identities
        assert identity["DkimSigningAttributes"] == {
            "DomainSigningPrivateKey": (
                "{{resolve:secretsmanager:"
                f"{domain.dkim.private_key_secret}:SecretString:{field}::}}}}"
            ),
            "DomainSigningSelector": domain.dkim.selector,
        }


def test_each_domain_has_one_stack_in_its_ses_region(shipped: Synthesized) -> None:
    config = shipped.config
    expected = {
        f"{config.app}-{config.name}-{domain.name.replace('.', '-')}": (
            [domain.name],
            domain.ses_region or config.region,
        )
        for domain in config.domains
    }
    receiving = receiving_domains_by_region(config)
    for region in receiving:
        expected[inbound_stack_name(config.app, config.name, region)] = ([], region)
    monitoring = {}
    if config.bounces and config.bounces.enabled:
        regions = {domain.ses_region or config.region for domain in config.domains}
        monitoring = {
            f"{config.app}-{config.name}-monitoring-{region}": ([], region)
            for region in regions | {config.region}
        }
        expected.update(monitoring)
    if config.smtp_users:
        expected[f"{config.app}-{config.name}-shared"] = ([], config.region)
    if config.workmail:
        expected[f"{config.app}-{config.name}-workmail"] = ([], config.workmail.region)
    if config.relay.enabled:
        expected[f"{config.app}-{config.name}-relay"] = ([], config.region)
    found = {}
    for artifact_id, artifact in shipped.stacks.items():
        identities = [
            resource["Properties"]["EmailIdentity"]
            for resource in shipped.template(artifact_id)["Resources"].values()
            if resource["Type"] == "AWS::SES::EmailIdentity"
        ]
        stack_name = artifact["properties"].get("stackName", artifact_id)
        found[stack_name] = (identities, region_of(artifact))

    assert len(expected) == (
        len(config.domains)
        + len(receiving)
        + len(monitoring)
        + bool(config.smtp_users)
        + bool(config.workmail)
        + config.relay.enabled
    )
    assert found == expected


def test_synth_warns_about_the_end_of_workmail_where_it_is_used(
    shipped: Synthesized,
) -> None:
    config = shipped.config
    stack = f"{config.app}-{config.name}-workmail"
    expected = (
        [f"Annotation::mail:workmailEndOfSupport at {stack}"] if config.workmail else []
    )

    assert annotation_warnings(shipped.directory) == expected


def test_termination_protection_matches_the_environment(
    shipped: Synthesized,
) -> None:
    config = shipped.config
    protected = PROTECTED.get(config.name, "prod" in config.name)

    assert shipped.stacks
    assert {
        artifact_id: artifact["properties"].get("terminationProtection", False)
        for artifact_id, artifact in shipped.stacks.items()
    } == dict.fromkeys(shipped.stacks, protected)
