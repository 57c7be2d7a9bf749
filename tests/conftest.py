"""Shared helpers: settings from plain dicts, and templates synthesized from them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

import yaml
from aws_cdk import App
from aws_cdk.assertions import Template

from mailcore.config import EnvironmentConfig, parse_environment
from stacks.environment import build_environment

REPO = Path(__file__).resolve().parent.parent
ENVIRONMENTS = REPO / "environments"
SHIPPED_ENVIRONMENTS = sorted(p.stem for p in ENVIRONMENTS.glob("*.yaml"))

# A real 2048-bit RSA public key (SubjectPublicKeyInfo, base64). Its private key
# was never kept: it only has to parse as a key that may be published.
RSA_PUBLIC_KEY = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1C179gbZG/0ucnJcg9kL"
    "wva15zWKhQh423VTaiQnvxRN61rx2zQRUKqsuqTfc3uvRLhhapkK+a4tkVWj6fpW"
    "Ts+QTVu/jP1XnZZNyDkaU10MEIgeLE5nuu4hmYmbCNn1P8Wim+vS1WRBOKyfcduo"
    "T6JbWIAL0O4Nxpv4Aug+/qxq7Fpvs+59AJIb/+AZ8F89enFS/b3Q4+gfbE9u0eME"
    "aUUxWwMbSbXqSeGrdjsSGkTn+6sEHWjLrrOfwXPishp1TgF10wqr5lNGuWgHwVq8"
    "i3AuKK6/LxRffySekLekJKQ5mwRLPdcjF5617DlEhaOfQlxg3GKolRSLAK9KhHig"
    "SwIDAQAB"
)


def make_config(settings: dict[str, Any], name: str = "test") -> EnvironmentConfig:
    """Settings as a user would write them, read through the real YAML parser."""
    return parse_environment(yaml.safe_dump(settings), name=name, source="test.yaml")


def domain_settings(**domain: Any) -> dict[str, Any]:
    """An environment in us-east-1 holding one domain (example.com unless named)."""
    domain.setdefault("name", "example.com")
    return {"region": "us-east-1", "domains": [domain]}


@pytest.fixture
def synth_domain() -> Callable[..., Template]:
    """Synthesize the stack of the first domain of the given settings."""

    def synth(settings: dict[str, Any], name: str = "test") -> Template:
        app = App()
        stacks = build_environment(app, make_config(settings, name))
        return Template.from_stack(stacks[0])

    return synth
