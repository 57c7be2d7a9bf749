"""How synthesis time and template size grow with the number of domains.

For each N given (default 1 10 50), builds an environment of N varied domains,
reads it through :func:`mailcore.config.parse_environment`, and synthesizes it
in-process with cdk.json's feature flags and cdk-nag on, as ``cdk synth`` runs
it. Prints one table row per N::

    .venv/bin/python benchmarks/synth_domains.py 1 10 50

A one-domain synthesis runs first, untimed in the table, so that starting the
jsii runtime is not charged to the first N; its time is printed apart.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

import yaml  # noqa: E402
from aws_cdk import App  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

from mailcore.config import parse_environment  # noqa: E402
from stacks.environment import add_checks, build_environment  # noqa: E402

CDK_CONTEXT: dict[str, Any] = json.loads((REPO / "cdk.json").read_text())["context"]
REGION = "us-east-1"
OTHER_SES_REGIONS = ("eu-west-1", "eu-central-1", "ap-southeast-2")


@dataclass(frozen=True)
class Result:
    domains: int
    parse_seconds: float
    build_seconds: float
    synth_seconds: float
    resources: list[int]
    """Resources of each stack's template."""

    @property
    def total_seconds(self) -> float:
        return self.parse_seconds + self.build_seconds + self.synth_seconds


def dkim_public_key() -> str:
    """The base64 body of a fresh 2048-bit RSA public key, as SES wants it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


def environment_settings(count: int, public_key: str) -> dict[str, Any]:
    """``count`` domains: half in an existing zone, every 7th with its own DKIM
    key, every 5th sending from another region, the rest with DNS elsewhere."""
    domains = []
    for index in range(count):
        name = f"sender{index:03d}.example.org"
        domain: dict[str, Any] = {"name": name}
        if index % 2 == 0:
            domain["hosted_zone"] = {"id": "Z0BENCH000000000", "name": "example.org"}
        if index % 5 == 4:
            domain["ses_region"] = OTHER_SES_REGIONS[index % len(OTHER_SES_REGIONS)]
        if index % 7 == 3:
            domain["dkim"] = {
                "signing": "byo",
                "selector": "bench2026",
                "private_key_secret": f"mail/bench/dkim/{name}",
                "private_key_field": "private_key",
                "public_key": public_key,
            }
        if index % 3 == 0:
            domain["dmarc"] = {"policy": "reject", "rua": [f"dmarc@{name}"]}
            domain["mx"] = [{"host": "mx1.mail-provider.example", "priority": 10}]
        domains.append(domain)
    return {"region": REGION, "tags": {"project": "benchmark"}, "domains": domains}


def synthesize(count: int, public_key: str, workdir: Path) -> Result:
    text = yaml.safe_dump(environment_settings(count, public_key))

    started = time.perf_counter()
    config = parse_environment(text, name=f"bench-{count}", source="benchmark")
    parsed = time.perf_counter()

    outdir = workdir / f"cdk.out.{count}"
    app = App(outdir=str(outdir), context=CDK_CONTEXT)
    build_environment(app, config)
    add_checks(app)
    built = time.perf_counter()

    app.synth()
    done = time.perf_counter()

    return Result(
        domains=count,
        parse_seconds=parsed - started,
        build_seconds=built - parsed,
        synth_seconds=done - built,
        resources=resource_counts(outdir),
    )


def resource_counts(assembly: Path) -> list[int]:
    manifest = json.loads((assembly / "manifest.json").read_text())
    counts = []
    for artifact in manifest["artifacts"].values():
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        template = assembly / artifact["properties"]["templateFile"]
        counts.append(len(json.loads(template.read_text())["Resources"]))
    return counts


def table(results: list[Result]) -> list[str]:
    header = (
        f"{'N':>4} {'stacks':>6} {'total s':>8} {'ms/domain':>10} {'parse ms':>9} "
        f"{'build s':>8} {'synth s':>8}  {'res min/med/max':>15} {'res total':>9}"
    )
    lines = [header, "-" * len(header)]
    for result in results:
        counts = result.resources
        spread = (
            f"{min(counts)}/{statistics.median(counts):g}/{max(counts)}"
            if counts
            else "-"
        )
        lines.append(
            f"{result.domains:>4} {len(counts):>6} {result.total_seconds:>8.2f} "
            f"{1000 * result.total_seconds / result.domains:>10.0f} "
            f"{1000 * result.parse_seconds:>9.1f} {result.build_seconds:>8.2f} "
            f"{result.synth_seconds:>8.2f}  {spread:>15} {sum(counts):>9}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("counts", nargs="*", type=int, default=[1, 10, 50], metavar="N")
    args = parser.parse_args(argv)
    if any(count < 1 for count in args.counts):
        parser.error("N: expected whole numbers of domains, 1 or more")

    public_key = dkim_public_key()
    with tempfile.TemporaryDirectory(prefix="synth-bench-") as workdir:
        started = time.perf_counter()
        synthesize(1, public_key, Path(workdir))
        warm_up = time.perf_counter() - started
        results = [synthesize(n, public_key, Path(workdir)) for n in args.counts]

    print(f"warm-up (jsii start, 1 domain, untimed below): {warm_up:.2f} s")  # noqa: T201
    print(  # noqa: T201
        "in-process synthesis with cdk-nag AwsSolutions and cdk.json context; "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    for line in table(results):
        print(line)  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
