"""Records a domain's delivery events: SNS topic -> SQS queue -> Lambda -> DynamoDB."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.nag import acknowledge_wildcard

__all__ = ["HANDLER_DIR", "MAX_RECEIVES", "DeliveryEventProcessing"]

HANDLER_DIR = Path(__file__).resolve().parent.parent / "lambda" / "delivery_events"

# Receives of one message before SQS moves it to the dead-letter queue.
MAX_RECEIVES = 5
_HANDLER_TIMEOUT = Duration.seconds(30)


class DeliveryEventProcessing(Construct):
    """Every event on ``topic`` becomes items in :attr:`table`; none is lost.

    SNS delivers to :attr:`queue` (SNS's own failures go to :attr:`dead_letters`
    too); the handler reports the messages it cannot process, SQS retries them
    ``MAX_RECEIVES`` times and then moves them to :attr:`dead_letters`, whose
    alarm notifies ``alarm_topic``. The table is kept when the stack is deleted:
    it is the record of who bounced and complained, which a deliverability
    dispute may need after the domain is gone; TTL empties it on its own.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: sns.ITopic,
        configuration_set_name: str,
        retention_days: int,
        alarm_topic: sns.ITopic,
    ) -> None:
        """Keyword arguments:

        - ``topic``: the configuration set's event topic.
        - ``configuration_set_name``: the set whose suppression settings decide
          whether the handler adds addresses to the suppression list itself.
        - ``retention_days``: days an event stays in the table (DynamoDB TTL).
        - ``alarm_topic``: where the dead-letter alarm goes.
        """
        super().__init__(scope, construct_id)

        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(4),
            # Six times the handler's timeout, as Lambda advises for SQS sources.
            visibility_timeout=Duration.seconds(6 * _HANDLER_TIMEOUT.to_seconds()),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letters, max_receive_count=MAX_RECEIVES
            ),
        )
        topic.add_subscription(
            subscriptions.SqsSubscription(
                self.queue, dead_letter_queue=self.dead_letters
            )
        )

        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(
                name="event_type", type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(
                name="event_id", type=dynamodb.AttributeType.STRING
            ),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=(
                dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True
                )
            ),
            time_to_live_attribute="expires_at",
            removal_policy=RemovalPolicy.RETAIN,
        )

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
            description="Records SES delivery events of one domain",
        )
        log_group.grant_write(role)
        self.table.grant(role, "dynamodb:PutItem")
        stack = Stack.of(self)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ses:GetConfigurationSet"],
                resources=[
                    stack.format_arn(
                        service="ses",
                        resource="configuration-set",
                        resource_name=configuration_set_name,
                    )
                ],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ses:GetAccount", "ses:PutSuppressedDestination"],
                resources=["*"],
            )
        )
        acknowledge_wildcard(
            role,
            resource="*",
            reason=(
                "ses:GetAccount and ses:PutSuppressedDestination act on the "
                "account's settings and its suppression list, which have no "
                "resource ARN; IAM accepts only '*' for them."
            ),
        )

        self.handler = lambda_.Function(
            self,
            "Handler",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.handler",
            code=lambda_.Code.from_asset(str(HANDLER_DIR)),
            role=role,
            log_group=log_group,
            timeout=_HANDLER_TIMEOUT,
            memory_size=256,
            description="Records SES bounces, complaints, rejects and delays",
            environment={
                "TABLE_NAME": self.table.table_name,
                "RETENTION_DAYS": str(retention_days),
                "CONFIGURATION_SET_NAME": configuration_set_name,
            },
        )
        self.handler.add_event_source(
            event_sources.SqsEventSource(
                self.queue, batch_size=10, report_batch_item_failures=True
            )
        )

        self.dead_letter_alarm = cloudwatch.Alarm(
            self,
            "DeadLettersAlarm",
            alarm_description=(
                "Delivery events that could not be recorded are waiting in the "
                "dead-letter queue; read them, fix the cause, redrive them"
            ),
            metric=self.dead_letters.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic="Maximum"
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=(
                cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
            ),
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        action = cloudwatch_actions.SnsAction(alarm_topic)
        self.dead_letter_alarm.add_alarm_action(action)
        self.dead_letter_alarm.add_ok_action(action)
