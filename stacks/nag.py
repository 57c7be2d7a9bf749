"""Helpers to acknowledge one cdk-nag finding precisely, not a whole rule."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct

__all__ = ["acknowledge_provider_framework", "acknowledge_wildcard"]

_BASIC_EXECUTION_POLICY = (
    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
    "AWSLambdaBasicExecutionRole"
)


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


def acknowledge_provider_framework(
    provider: IConstruct, *invoked: lambda_.IFunction
) -> None:
    """Acknowledge what the CDK provider framework brings that cannot be changed.

    Its own functions get roles from CDK with the AWS-managed basic execution
    policy, and may invoke each function in ``invoked`` (the handlers, and the
    framework's own functions it calls) in any version: ``<function ARN>:*``.
    """
    Validations.of(provider).acknowledge(
        Acknowledgment(
            id=f"AwsSolutions::AwsSolutions-IAM4[{_BASIC_EXECUTION_POLICY}]",
            reason=(
                "The provider framework's own functions get their roles from CDK "
                "with the AWS-managed basic execution policy (CloudWatch Logs "
                "only); the roles are not configurable without replacing the "
                "framework."
            ),
        )
    )
    for function in invoked:
        acknowledge_wildcard(
            provider,
            resource=f"{function.function_arn}:*",
            reason=(
                "The provider framework may invoke the function and any of its "
                "versions (<function ARN>:*); the wildcard covers versions of that "
                "one function only."
            ),
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
