#!/usr/bin/env python3
"""CDK entry point: `cdk synth -c env=NAME` builds environments/NAME.yaml."""

import os
import sys
from pathlib import Path

# jsii warns on every run that the machine's Node.js is past its end of life; the
# CDK CLI itself still supports it, so keep synth output to what matters here.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from aws_cdk import App

from mailcore.config import ConfigError, load_environment
from stacks.environment import add_checks, build_environment

ENVIRONMENTS = Path(__file__).resolve().parent / "environments"
DEFAULT_ENVIRONMENT = "example"


def main() -> int:
    app = App()
    # Only a missing -c env means the example: an explicit but empty one
    # (`make synth ENV=`) is a mistake to report, not a wish for the example.
    name = app.node.try_get_context("env")
    try:
        config = load_environment(
            DEFAULT_ENVIRONMENT if name is None else str(name), ENVIRONMENTS
        )
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)  # noqa: T201
        return 1
    build_environment(app, config)
    add_checks(app)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
