"""Postfix relay instances in an Auto Scaling group, their access and their alarms."""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import (
    Acknowledgment,
    ArnFormat,
    Duration,
    RemovalPolicy,
    Stack,
    Validations,
)
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from constructs import Construct

from mailcore import relay_boot
from mailcore.postfix import render, ses_smtp_host
from stacks.nag import acknowledge_wildcard

__all__ = [
    "DRAIN_HOOK_NAME",
    "DRAIN_TIMEOUT",
    "METRIC_NAMESPACE",
    "SERVER_CERT",
    "SMTP_PORTS",
    "SmtpRelay",
    "queue_metric",
]

METRIC_NAMESPACE = "Mail/Relay"
SMTP_PORTS = (25, 587)
# Made at first boot (self-signed) when clients may authenticate.
SERVER_CERT = ("/etc/postfix/relay-cert.pem", "/etc/postfix/relay-key.pem")
# A fixed name, so that the boot script can name the hook without referring to
# a resource that needs the launch template first.
DRAIN_HOOK_NAME = "drain-queue"
# How long a terminating instance may keep delivering its queue. Mail piles up
# mostly while SES refuses a just-rotated key, which lasts up to 15 minutes;
# longer would hold up every deployment that replaces the instance.
DRAIN_TIMEOUT = Duration.minutes(15)
# The drain gives up this much earlier, so that it, not the heartbeat running
# out, ends the wait and logs what is left: its timer notices the termination
# up to about half a minute late.
_DRAIN_MARGIN = Duration.minutes(2)


class SmtpRelay(Construct):
    """Postfix on Amazon Linux 2023 (arm64), relaying what allowed clients send to SES.

    ``count`` instances run in ``subnets`` from one launch template; with more
    than one they sit behind an internal Network Load Balancer (:attr:`endpoint`
    is its DNS name). Clients in ``allowed_cidrs`` may reach ports 25 and 587
    and relay; Postfix's ``mynetworks`` is the same list. Instances read only
    ``secret_name`` (and decrypt with ``encryption_key`` when given), are reached
    through Session Manager only, and ship ``/var/log/maillog`` and the queue size
    to CloudWatch, where alarms watch both the queue and the instances.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        relay_name: str,
        log_group_name: str,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        secret_name: str,
        ses_region: str,
        ses_port: int,
        allowed_cidrs: Sequence[str],
        instance_type: str = "t4g.nano",
        count: int = 1,
        queue_alarm_threshold: int = 100,
        alarm_topic_arn: str | None = None,
        encryption_key_arn: str | None = None,
        submission_secret_name: str | None = None,
        submission_cidrs: Sequence[str] = (),
    ) -> None:
        """Keyword arguments:

        - ``relay_name``: names the metric dimension, the alarms and the Auto
          Scaling group.
        - ``log_group_name``: the log group Postfix's maillog is shipped to.
        - ``secret_name``: the SMTP user's secret (``username``, ``password``).
        - ``ses_port``: 587 (default in settings), 2587, 465 or 2465.
        - ``queue_alarm_threshold``: queued messages that raise the alarm.
        - ``alarm_topic_arn``: SNS topic notified by alarms and scaling events.
          Default: none (the alarms show in the console only).
        - ``encryption_key_arn``: the secret's customer managed KMS key.
          Default: the AWS-managed key, which needs no grant.
        - ``submission_secret_name``: a secret to make with generated
          credentials (``username`` relay, ``password``) that clients may
          authenticate with on 587, after STARTTLS, to relay from anywhere in
          ``allowed_cidrs`` and ``submission_cidrs``. Default: none, no SMTP
          AUTH is offered.
        """
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        region = stack.region

        submission_auth = submission_secret_name is not None
        files = render(
            relay_host=ses_smtp_host(ses_region),
            relay_port=ses_port,
            mynetworks=list(allowed_cidrs),
            os_flavour="amazon-linux-2023",
            submission_auth=submission_auth,
            server_cert=SERVER_CERT if submission_auth else None,
        )
        self.relayhost = files.relayhost

        self.log_group = logs.LogGroup(
            self,
            "MailLog",
            log_group_name=log_group_name,
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=RemovalPolicy.RETAIN,
        )

        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description=f"SMTP relay {relay_name}: SMTP from allowed clients only",
            allow_all_outbound=False,
        )
        self._allow_clients(self.security_group, allowed_cidrs, submission_cidrs)
        self.security_group.add_egress_rule(
            ec2.Peer.any_ipv4(),
            ec2.Port.tcp(ses_port),
            "SES SMTP endpoint",
        )
        self.security_group.add_egress_rule(
            ec2.Peer.any_ipv4(),
            ec2.Port.tcp(443),
            "AWS APIs (SSM, Secrets Manager, CloudWatch) and package repositories",
        )

        self.role = iam.Role(
            self,
            "InstanceRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description=f"SMTP relay {relay_name}: Session Manager, its secret, logs",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "AmazonSSMManagedInstanceCore"
                )
            ],
        )
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id=(
                    "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:"
                    "iam::aws:policy/AmazonSSMManagedInstanceCore]"
                ),
                reason=(
                    "Session Manager is the only way in (no SSH key, no port 22); "
                    "AWS maintains this policy as Session Manager's actions change."
                ),
            )
        )
        secret = secretsmanager.Secret.from_secret_name_v2(
            self, "SmtpSecret", secret_name
        )
        secret.grant_read(self.role)
        self.submission_secret: secretsmanager.Secret | None = None
        if submission_secret_name is not None:
            self.submission_secret = self._submission_secret(submission_secret_name)
            self.submission_secret.grant_read(self.role)
        if encryption_key_arn:
            kms.Key.from_key_arn(self, "SecretKey", encryption_key_arn).grant_decrypt(
                self.role
            )
        self.log_group.grant_write(self.role)
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="QueueSizeMetric",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}},
            )
        )
        acknowledge_wildcard(
            self.role,
            resource="*",
            reason=(
                "PutMetricData has no resource-level permissions; the statement "
                f"is limited to the {METRIC_NAMESPACE} namespace by a condition."
            ),
        )

        # Named, not referenced: the group needs the launch template that holds
        # this role, so the role cannot refer to the group.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="CompleteDrainLifecycleAction",
                actions=["autoscaling:CompleteLifecycleAction"],
                resources=[self._group_arn(relay_name)],
            )
        )
        acknowledge_wildcard(
            self.role,
            resource=self._group_arn(relay_name),
            reason=(
                "An Auto Scaling group's ARN holds an ID unknown until it is "
                "created; the group's fixed name limits the statement to it."
            ),
        )

        script = relay_boot.user_data(
            files=files,
            secret_id=secret_name,
            region=region,
            log_group=log_group_name,
            metric_namespace=METRIC_NAMESPACE,
            relay=relay_name,
            group_name=relay_name,
            drain_hook_name=DRAIN_HOOK_NAME,
            drain_deadline_seconds=int(
                DRAIN_TIMEOUT.to_seconds() - _DRAIN_MARGIN.to_seconds()
            ),
            submission_secret_id=submission_secret_name,
            server_cert=SERVER_CERT if submission_auth else None,
        )
        self.launch_template = ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            machine_image=ec2.MachineImage.latest_amazon_linux2023(
                cpu_type=ec2.AmazonLinuxCpuType.ARM_64
            ),
            instance_type=ec2.InstanceType(instance_type),
            role=self.role,
            security_group=self.security_group,
            user_data=ec2.UserData.custom(script),
            require_imdsv2=True,
            http_put_response_hop_limit=1,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(
                        8,
                        encrypted=True,
                        delete_on_termination=True,
                        volume_type=ec2.EbsDeviceVolumeType.GP3,
                    ),
                )
            ],
        )

        topic = (
            sns.Topic.from_topic_arn(self, "AlarmTopic", alarm_topic_arn)
            if alarm_topic_arn
            else None
        )
        # With a load balancer the group also replaces instances that fail its
        # health check (Postfix not answering); EC2 status checks always count.
        health_checks = (
            autoscaling.HealthChecks.with_additional_checks(
                additional_types=[autoscaling.AdditionalHealthCheckType.ELB],
                grace_period=Duration.minutes(5),
            )
            if count > 1
            else autoscaling.HealthChecks.ec2(grace_period=Duration.minutes(5))
        )
        self.group = autoscaling.AutoScalingGroup(
            self,
            "Group",
            auto_scaling_group_name=relay_name,
            vpc=vpc,
            vpc_subnets=subnets,
            launch_template=self.launch_template,
            min_capacity=count,
            max_capacity=count,
            health_checks=health_checks,
            group_metrics=[autoscaling.GroupMetrics.all()],
            update_policy=autoscaling.UpdatePolicy.rolling_update(
                max_batch_size=1,
                min_instances_in_service=count - 1,
            ),
            notifications=(
                [autoscaling.NotificationConfiguration(topic=topic)] if topic else None
            ),
        )
        # Whatever ends an instance (a new AMI, a new instance type, a failed
        # health check), it first gets the time to deliver what it queued.
        self.group.add_lifecycle_hook(
            "QueueDrain",
            lifecycle_hook_name=DRAIN_HOOK_NAME,
            lifecycle_transition=autoscaling.LifecycleTransition.INSTANCE_TERMINATING,
            default_result=autoscaling.DefaultResult.CONTINUE,
            heartbeat_timeout=DRAIN_TIMEOUT,
        )
        if topic is None:
            Validations.of(self.group).acknowledge(
                Acknowledgment(
                    id="AwsSolutions::AwsSolutions-AS3",
                    reason=(
                        "No relay.alarm_topic_arn is configured to notify; the "
                        "group replaces unhealthy instances by itself and the "
                        "InstancesInService alarm shows a shortfall."
                    ),
                )
            )

        self.endpoint: str | None = None
        self.load_balancer: elbv2.NetworkLoadBalancer | None = None
        if count > 1:
            self._add_load_balancer(vpc, subnets, allowed_cidrs, submission_cidrs)

        self.queue_alarm = cloudwatch.Alarm(
            self,
            "QueueAlarm",
            alarm_description=(
                f"Mail is piling up in the queue of relay {relay_name}: SES "
                "refuses it or cannot be reached. See /var/log/maillog."
            ),
            metric=queue_metric(relay_name),
            threshold=queue_alarm_threshold,
            comparison_operator=(
                cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
            ),
            evaluation_periods=3,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
        self.instances_alarm = cloudwatch.Alarm(
            self,
            "InstancesAlarm",
            alarm_description=(
                f"Relay {relay_name} runs fewer healthy instances than {count}."
            ),
            metric=cloudwatch.Metric(
                namespace="AWS/AutoScaling",
                metric_name="GroupInServiceInstances",
                dimensions_map={
                    "AutoScalingGroupName": self.group.auto_scaling_group_name
                },
                statistic="Minimum",
                period=Duration.minutes(1),
            ),
            threshold=count,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=5,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
        if topic is not None:
            for alarm in (self.queue_alarm, self.instances_alarm):
                alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))

    def _add_load_balancer(
        self,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        allowed_cidrs: Sequence[str],
        submission_cidrs: Sequence[str],
    ) -> None:
        balancer_group = ec2.SecurityGroup(
            self,
            "LoadBalancerSecurityGroup",
            vpc=vpc,
            description="SMTP relay load balancer: SMTP from allowed clients only",
            allow_all_outbound=False,
        )
        self._allow_clients(balancer_group, allowed_cidrs, submission_cidrs)
        load_balancer = elbv2.NetworkLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            vpc_subnets=subnets,
            internet_facing=False,
            cross_zone_enabled=True,
            security_groups=[balancer_group],
        )
        Validations.of(load_balancer).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-ELB2",
                reason=(
                    "A TCP load balancer's access logs hold TLS listeners only; "
                    "SMTP sessions are logged by Postfix in /var/log/maillog."
                ),
            )
        )
        # The balancer keeps the client's address, so the instances' security
        # group and mynetworks still see (and limit) the real clients; only
        # its health checks come from the balancer itself.
        for port in SMTP_PORTS:
            self.security_group.connections.allow_from(
                balancer_group, ec2.Port.tcp(port), "From the load balancer"
            )
        for port in SMTP_PORTS:
            listener = load_balancer.add_listener(f"Smtp{port}", port=port)
            listener.add_targets(
                f"Relay{port}",
                port=port,
                targets=[self.group],
                preserve_client_ip=True,
                health_check=elbv2.HealthCheck(
                    protocol=elbv2.Protocol.TCP,
                    port="25",
                    interval=Duration.seconds(10),
                    healthy_threshold_count=2,
                    unhealthy_threshold_count=2,
                ),
                deregistration_delay=Duration.seconds(60),
            )
        self.load_balancer = load_balancer
        self.endpoint = load_balancer.load_balancer_dns_name

    def _group_arn(self, name: str) -> str:
        return Stack.of(self).format_arn(
            service="autoscaling",
            resource="autoScalingGroup",
            resource_name=f"*:autoScalingGroupName/{name}",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    def _submission_secret(self, name: str) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self,
            "SubmissionSecret",
            secret_name=name,
            description="SMTP AUTH credentials clients use on port 587 of the relay",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({"username": "relay"}),
                generate_string_key="password",
                exclude_punctuation=True,
                password_length=32,
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )
        Validations.of(secret).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SMG4",
                reason=(
                    "Clients and the relay read the password from this secret; the "
                    "relay picks up a new value within 15 minutes, but clients "
                    "holding the old one would fail, so changing it is an "
                    "operator's decision, not a schedule."
                ),
            )
        )
        return secret

    @staticmethod
    def _allow_clients(
        group: ec2.SecurityGroup,
        allowed_cidrs: Sequence[str],
        submission_cidrs: Sequence[str],
    ) -> None:
        """25 and 587 from the relaying networks; 587 from submission networks."""
        for cidr in allowed_cidrs:
            for port in SMTP_PORTS:
                group.add_ingress_rule(
                    ec2.Peer.ipv4(cidr),
                    ec2.Port.tcp(port),
                    f"SMTP {port} from allowed clients",
                )
        for cidr in submission_cidrs:
            if cidr not in allowed_cidrs:
                group.add_ingress_rule(
                    ec2.Peer.ipv4(cidr),
                    ec2.Port.tcp(587),
                    "SMTP submission from authenticating clients",
                )


def queue_metric(relay_name: str) -> cloudwatch.Metric:
    """Messages in the queues of relay ``relay_name``, as its instances report them."""
    return cloudwatch.Metric(
        namespace=METRIC_NAMESPACE,
        metric_name=relay_boot.METRIC_NAME,
        dimensions_map={"Relay": relay_name},
        statistic="Maximum",
        period=Duration.minutes(5),
    )
