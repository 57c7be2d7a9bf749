"""The custom resource provider behind every WorkMail resource of a stack."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr
from constructs import Construct

from stacks.nag import acknowledge_provider_framework, acknowledge_wildcard

__all__ = ["HANDLER_DIR", "TOTAL_TIMEOUT", "WorkMailProvider"]

HANDLER_DIR = Path(__file__).resolve().parent.parent / "lambda" / "workmail"

# Creating an organisation takes minutes; WorkMail verifies a domain once its
# DNS records resolve. Past this, the resource fails and the stack rolls back.
TOTAL_TIMEOUT = Duration.hours(1)
QUERY_INTERVAL = Duration.seconds(30)

# WorkMail calls these services for the organisation it creates, deletes or
# registers a domain with (its directory, its SES identity and receipt rule).
# NOTE: taken from AWS's managed policy for WorkMail and not yet exercised against
# a live account (README, "Known limitations"); widen here if a deploy is denied.
_SUPPORTING_ACTIONS = [
    "ds:AuthorizeApplication",
    "ds:CheckAlias",
    "ds:CreateAlias",
    "ds:CreateIdentityPoolDirectory",
    "ds:DescribeDirectories",
    "ds:UnauthorizeApplication",
    "ses:CreateReceiptRule",
    "ses:DeleteReceiptRule",
    "ses:DescribeActiveReceiptRuleSet",
    "ses:GetIdentityDkimAttributes",
    "ses:GetIdentityVerificationAttributes",
    "ses:PutIdentityPolicy",
    "ses:VerifyDomainDkim",
    "ses:VerifyDomainIdentity",
]
_ORGANIZATION_ACTIONS = [
    "workmail:AssociateMemberToGroup",
    "workmail:CreateAlias",
    "workmail:CreateGroup",
    "workmail:CreateUser",
    "workmail:DeleteAlias",
    "workmail:DeleteGroup",
    "workmail:DeleteOrganization",
    "workmail:DeleteUser",
    "workmail:DeregisterFromWorkMail",
    "workmail:DeregisterMailDomain",
    "workmail:DescribeGroup",
    "workmail:DescribeOrganization",
    "workmail:DescribeUser",
    "workmail:DisassociateMemberFromGroup",
    "workmail:GetMailDomain",
    "workmail:ListAliases",
    "workmail:ListGroupMembers",
    "workmail:ListGroups",
    "workmail:ListUsers",
    "workmail:RegisterMailDomain",
    "workmail:RegisterToWorkMail",
    "workmail:UpdateDefaultMailDomain",
    "workmail:UpdatePrimaryEmailAddress",
    "workmail:UpdateUser",
]


class WorkMailProvider(Construct):
    """One Lambda handler (``lambda/workmail``) for onEvent and isComplete.

    The framework polls isComplete every 30 seconds for at most an hour: until
    a new organisation is ``Active`` and until WorkMail has verified a domain.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)

        log_group = logs.LogGroup(
            self,
            "HandlerLogs",
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.role = iam.Role(
            self,
            "HandlerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Manages the WorkMail organisation, domains, users, groups",
        )
        log_group.grant_write(self.role)
        organizations = stack.format_arn(
            service="workmail", resource="organization", resource_name="*"
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ManageOrganizations",
                actions=_ORGANIZATION_ACTIONS,
                resources=[organizations],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="CreateAndFindOrganizations",
                actions=[
                    "workmail:CreateOrganization",
                    "workmail:ListOrganizations",
                    *_SUPPORTING_ACTIONS,
                ],
                resources=["*"],
                # Only in the organisation's region: the other regions' SES
                # identities, rule sets and directories stay out of reach.
                conditions={"StringEquals": {"aws:RequestedRegion": stack.region}},
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadOwnStackStatus",
                # An Update that would swap the organisation fails unless the
                # stack is rolling back to the organisation it already has.
                actions=["cloudformation:DescribeStacks"],
                resources=[stack.stack_id],
            )
        )
        # DeleteOrganization removes the directory with the caller's rights. A
        # created organisation that ends up Failed is removed whatever
        # delete_on_remove says, so this is needed for every created one.
        directories = stack.format_arn(
            service="ds", resource="directory", resource_name="*"
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DeleteOrganizationDirectory",
                actions=["ds:DeleteDirectory"],
                resources=[directories],
            )
        )
        acknowledge_wildcard(
            self.role,
            resource=directories,
            reason=(
                "WorkMail makes the organisation's directory, whose id is known "
                "only at deploy time; DeleteOrganization removes it when a failed "
                "organisation is cleaned up or one with delete_on_remove goes."
            ),
        )
        acknowledge_wildcard(
            self.role,
            resource=organizations,
            reason=(
                "Organisation ids are made by WorkMail at deploy time; the "
                "statement covers WorkMail organisations of this account and "
                "region only."
            ),
        )
        acknowledge_wildcard(
            self.role,
            resource="*",
            reason=(
                "CreateOrganization and ListOrganizations, and the Directory "
                "Service and SES calls WorkMail makes for a new organisation, "
                "support no resource-level permissions."
            ),
        )

        self.handler = lambda_.Function(
            self,
            "Handler",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.on_event",
            code=lambda_.Code.from_asset(str(HANDLER_DIR)),
            role=self.role,
            log_group=log_group,
            timeout=Duration.minutes(5),
            memory_size=256,
            description="WorkMail custom resources: organisation, domain, user, group",
        )
        self.is_complete_handler = lambda_.Function(
            self,
            "IsCompleteHandler",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.is_complete",
            code=lambda_.Code.from_asset(str(HANDLER_DIR)),
            role=self.role,
            log_group=log_group,
            timeout=Duration.minutes(1),
            memory_size=256,
            description="WorkMail custom resources: waits for Active and verified",
        )

        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.handler,
            is_complete_handler=self.is_complete_handler,
            total_timeout=TOTAL_TIMEOUT,
            query_interval=QUERY_INTERVAL,
            log_group=logs.LogGroup(
                self,
                "ProviderLogs",
                retention=logs.RetentionDays.ONE_YEAR,
                removal_policy=RemovalPolicy.DESTROY,
            ),
            # Every state change, without the execution data: the events the
            # waiter passes on carry CloudFormation's presigned response URL.
            disable_waiter_state_machine_logging=False,
            waiter_state_machine_log_options=cr.LogOptions(
                destination=logs.LogGroup(
                    self,
                    "WaiterLogs",
                    retention=logs.RetentionDays.ONE_YEAR,
                    removal_policy=RemovalPolicy.DESTROY,
                ),
                include_execution_data=False,
                level=sfn.LogLevel.ALL,
            ),
        )
        Validations.of(self.provider).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-SF2",
                reason=(
                    "The provider framework's waiter state machine has no X-Ray "
                    "option; it only polls the isComplete handler, whose calls "
                    "are logged."
                ),
            ),
        )
        acknowledge_wildcard(
            self.provider,
            resource="*",
            reason=(
                "Step Functions delivers its logs through CloudWatch Logs log "
                "delivery, whose actions support no resource-level permissions."
            ),
        )
        framework = [
            self.provider.node.find_child(child)
            for child in ("framework-isComplete", "framework-onTimeout")
        ]
        acknowledge_provider_framework(
            self.provider, self.handler, self.is_complete_handler, *framework
        )

    @property
    def service_token(self) -> str:
        """What a custom resource names as its ServiceToken."""
        return self.provider.service_token

    def grant_read_password(self, secret_arn: str) -> None:
        """Let the handler read one user's initial password when it creates the user."""
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"], resources=[secret_arn]
            )
        )
