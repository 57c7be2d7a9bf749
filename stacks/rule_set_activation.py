"""The custom resource that makes a receipt rule set the active one."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aws_cdk import (
    CustomResource,
    Duration,
    RemovalPolicy,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from stacks.nag import acknowledge_provider_framework, acknowledge_wildcard

__all__ = ["HANDLER_DIR", "RuleSetActivation"]

HANDLER_DIR = Path(__file__).resolve().parent.parent / "lambda" / "receipt_rule_set"


class RuleSetActivation(Construct):
    """Activates ``rule_set_name`` on deploy; deactivates it on delete if still active.

    CloudFormation cannot activate a receipt rule set, and a set that is not
    active runs no rules. The handler (``lambda/receipt_rule_set``) activates
    the set when none or this one is active, and fails the deployment, naming
    the active set, when another set is active: it never switches off another
    stack's rules. Make it depend on every rule of the set, so that it runs
    after they exist and, on delete, before they go. ``rule_names`` is passed
    to the handler only so that a deploy changing the rules checks, and if
    needed restores, the activation again.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rule_set_name: str,
        rule_names: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)

        log_group = logs.LogGroup(
            self,
            "HandlerLogs",
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=RemovalPolicy.DESTROY,
        )
        role = iam.Role(
            self,
            "HandlerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Activates the SES receipt rule set {rule_set_name}",
        )
        log_group.grant_write(role)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "ses:DescribeActiveReceiptRuleSet",
                    "ses:SetActiveReceiptRuleSet",
                ],
                resources=["*"],
            )
        )
        acknowledge_wildcard(
            role,
            resource="*",
            reason=(
                "ses:DescribeActiveReceiptRuleSet and ses:SetActiveReceiptRuleSet "
                "act on the account and region, not on a resource: IAM accepts "
                "only '*' for them."
            ),
        )

        handler = lambda_.Function(
            self,
            "Handler",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.on_event",
            code=lambda_.Code.from_asset(str(HANDLER_DIR)),
            role=role,
            log_group=log_group,
            timeout=Duration.minutes(1),
            memory_size=128,
            description="Makes the environment's SES receipt rule set the active one",
        )

        provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=handler,
            log_group=logs.LogGroup(
                self,
                "ProviderLogs",
                retention=logs.RetentionDays.ONE_YEAR,
                removal_policy=RemovalPolicy.DESTROY,
            ),
        )
        acknowledge_provider_framework(provider, handler)

        self.resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type="Custom::ActiveReceiptRuleSet",
            properties={"RuleSetName": rule_set_name, "Rules": list(rule_names)},
        )
        # The handler's permissions must outlive the Delete that deactivates.
        self.resource.node.add_dependency(role)
