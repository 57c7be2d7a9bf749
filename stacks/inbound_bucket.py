"""The S3 bucket SES writes received messages to, and its access log bucket."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

__all__ = ["ACCESS_LOG_DAYS", "InboundBucket", "PrefixLifecycle"]

ACCESS_LOG_DAYS = 365
_INCOMPLETE_UPLOAD_DAYS = 7


@dataclass(frozen=True)
class PrefixLifecycle:
    """How long the messages under one prefix are kept; None keeps them."""

    rule_id: str
    prefix: str
    expire_after_days: int | None = None
    noncurrent_expire_after_days: int | None = None


class InboundBucket(Construct):
    """An encrypted, versioned, private bucket for raw messages, kept on delete.

    Objects are encrypted with S3-managed keys, every request must use TLS and
    public access is blocked. Nothing expires unless ``lifecycles`` says so for
    a prefix. The bucket and its access log bucket are retained when the stack
    is deleted: they hold mail and the record of who read it.
    Only SES of this account may write, and only what :meth:`allow_ses_writes`
    allows: one prefix per receipt rule.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        lifecycles: Sequence[PrefixLifecycle] = (),
    ) -> None:
        super().__init__(scope, construct_id)

        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.RETAIN,
            auto_delete_objects=False,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireAccessLogs",
                    expiration=Duration.days(ACCESS_LOG_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(
                        _INCOMPLETE_UPLOAD_DAYS
                    ),
                )
            ],
        )
        Validations.of(self.access_logs).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-S1",
                reason=(
                    "This bucket receives the server access logs of the mail "
                    "bucket; logging its own access would log into itself."
                ),
            )
        )

        rules = [
            s3.LifecycleRule(
                id="AbortIncompleteUploads",
                abort_incomplete_multipart_upload_after=Duration.days(
                    _INCOMPLETE_UPLOAD_DAYS
                ),
            )
        ]
        for lifecycle in lifecycles:
            if (
                lifecycle.expire_after_days is None
                and lifecycle.noncurrent_expire_after_days is None
            ):
                continue
            rules.append(
                s3.LifecycleRule(
                    id=lifecycle.rule_id,
                    prefix=lifecycle.prefix,
                    expiration=_days(lifecycle.expire_after_days),
                    noncurrent_version_expiration=_days(
                        lifecycle.noncurrent_expire_after_days
                    ),
                )
            )

        self.bucket = s3.Bucket(
            self,
            "Mail",
            encryption=s3.BucketEncryption.S3_MANAGED,
            versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.RETAIN,
            auto_delete_objects=False,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="mail/",
            lifecycle_rules=rules,
        )

    def allow_ses_writes(self, *, sid: str, prefix: str, rule_arn: str) -> None:
        """Let SES write under ``prefix``, for the receipt rule ``rule_arn`` only."""
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid,
                principals=[iam.ServicePrincipal("ses.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects(f"{prefix}*")],
                conditions={
                    "StringEquals": {
                        "aws:SourceAccount": Stack.of(self).account,
                        "aws:SourceArn": rule_arn,
                    }
                },
            )
        )


def _days(days: int | None) -> Duration | None:
    return None if days is None else Duration.days(days)
