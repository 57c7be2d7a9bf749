"""Helpers to acknowledge one cdk-nag finding precisely, not a whole rule."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

__all__ = ["acknowledge_wildcard"]


def acknowledge_wildcard(
    scope: IConstruct, *, resource: str, reason: str, stack: Stack | None = None
) -> None:
    """Acknowledge AwsSolutions-IAM5 for the one wildcard ``resource`` under ``scope``.

    cdk-nag names such a finding after the resource as it resolves, with
    references written ``<LogicalId>`` or ``<LogicalId.Attribute>``; a finding
    for any other wildcard still fails synthesis.
    """
    owner = stack or Stack.of(scope)
    text = _as_nag_text(owner.resolve(resource))
    Validations.of(scope).acknowledge(
        Acknowledgment(
            id=f"AwsSolutions::AwsSolutions-IAM5[Resource::{text}]", reason=reason
        )
    )


def _as_nag_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_as_nag_text(part) for part in parts)
    raise ValueError(f"cannot name a cdk-nag finding after {value!r}")
