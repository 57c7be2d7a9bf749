"""Templates of the relay stack: network, access, instances, balancer and alarms."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Capture, Match, Template

from stacks.environment import build_environment
from tests.conftest import make_config
from tests.relay_harness import SECRET

ALLOWED = "10.20.0.0/16"


def settings(**relay: Any) -> dict[str, Any]:
    return {
        "region": "eu-west-1",
        "domains": [{"name": "example.com"}],
        "smtp_users": [{"name": "app-relay", "send_as": ["example.com"]}],
        "relay": {
            "enabled": True,
            "smtp_user": "app-relay",
            "allowed_cidrs": [ALLOWED],
            **relay,
        },
    }


def relay_template(config: dict[str, Any]) -> Template:
    stacks = build_environment(App(), make_config(config))
    assert [s.stack_name for s in stacks][-2:] == [
        "mail-test-shared",
        "mail-test-relay",
    ]
    return Template.from_stack(stacks[-1])


def user_data(template: Template) -> str:
    [launch_template] = template.find_resources("AWS::EC2::LaunchTemplate").values()
    data = launch_template["Properties"]["LaunchTemplateData"]["UserData"]
    parts = data["Fn::Base64"]
    assert isinstance(parts, str), "the boot script has no reference to resolve"
    return parts


def role_statements(template: Template) -> list[Any]:
    """The statements of the relay instance role's policy."""
    statements = Capture()
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyName": Match.string_like_regexp("^RelayInstanceRole"),
            "PolicyDocument": {"Statement": statements},
        },
    )
    return statements.as_array()


def relay_subnets(template: Template) -> list[dict[str, Any]]:
    """The subnets the relay's instances launch in, as (subnet type, AZ) facts."""
    resources = template.to_json()["Resources"]
    [group] = template.find_resources("AWS::AutoScaling::AutoScalingGroup").values()
    subnets = []
    for ref in group["Properties"]["VPCZoneIdentifier"]:
        properties = resources[ref["Ref"]]["Properties"]
        tags = {tag["Key"]: tag["Value"] for tag in properties["Tags"]}
        subnets.append(
            {
                "type": tags["aws-cdk:subnet-type"],
                "public_ip": properties["MapPublicIpOnLaunch"],
                "zone": json.dumps(properties["AvailabilityZone"]),
                "ref": ref,
            }
        )
    return subnets


def test_the_relay_is_off_unless_enabled() -> None:
    config = settings()
    config["relay"] = {"smtp_user": "app-relay", "allowed_cidrs": [ALLOWED]}

    stacks = build_environment(App(), make_config(config))

    assert [s.stack_name for s in stacks] == [
        "mail-test-example-com",
        "mail-test-shared",
    ]


def test_smtp_is_open_to_the_allowed_networks_only_and_ssh_to_nobody() -> None:
    template = relay_template(settings(allowed_cidrs=[ALLOWED, "192.168.2.10/32"]))

    groups = template.find_resources(
        "AWS::EC2::SecurityGroup",
        {"Properties": {"GroupDescription": Match.string_like_regexp("^SMTP relay")}},
    )
    [group] = groups.values()
    assert group["Properties"]["SecurityGroupIngress"] == [
        {
            "CidrIp": cidr,
            "Description": f"SMTP {port} from allowed clients",
            "FromPort": port,
            "IpProtocol": "tcp",
            "ToPort": port,
        }
        for cidr in (ALLOWED, "192.168.2.10/32")
        for port in (25, 587)
    ]
    assert [
        rule["FromPort"] for rule in group["Properties"]["SecurityGroupEgress"]
    ] == [
        587,
        443,
    ]
    template.resource_count_is("AWS::EC2::SecurityGroupIngress", 2)
    assert '"FromPort": 22' not in json.dumps(template.to_json())
    # Postfix relays for exactly the networks the security group lets in.
    assert f"mynetworks = {ALLOWED} 192.168.2.10/32\n" in user_data(template)


def test_the_instance_role_reads_only_its_smtp_users_secret() -> None:
    template = relay_template(settings())

    [secret] = [s for s in role_statements(template) if "secretsmanager" in str(s)]
    assert secret == {
        "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
        "Effect": "Allow",
        "Resource": {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":secretsmanager:eu-west-1:",
                    {"Ref": "AWS::AccountId"},
                    ":secret:mail/test/smtp/app-relay-??????",
                ],
            ]
        },
    }
    [metric] = [s for s in role_statements(template) if "cloudwatch" in str(s)]
    assert metric["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "Mail/Relay"}
    }
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "ManagedPolicyArns": [
                {
                    "Fn::Join": [
                        "",
                        [
                            "arn:",
                            {"Ref": "AWS::Partition"},
                            ":iam::aws:policy/AmazonSSMManagedInstanceCore",
                        ],
                    ]
                }
            ]
        },
    )


def test_one_graviton_instance_with_imdsv2_and_an_encrypted_volume() -> None:
    template = relay_template(settings())

    template.resource_count_is("AWS::AutoScaling::AutoScalingGroup", 1)
    template.has_resource_properties(
        "AWS::AutoScaling::AutoScalingGroup",
        {"MinSize": "1", "MaxSize": "1", "HealthCheckType": "EC2"},
    )
    template.has_resource_properties(
        "AWS::EC2::LaunchTemplate",
        {
            "LaunchTemplateData": Match.object_like(
                {
                    "InstanceType": "t4g.nano",
                    "MetadataOptions": {
                        "HttpTokens": "required",
                        "HttpPutResponseHopLimit": 1,
                    },
                    "BlockDeviceMappings": [
                        {
                            "DeviceName": "/dev/xvda",
                            "Ebs": {
                                "DeleteOnTermination": True,
                                "Encrypted": True,
                                "VolumeSize": 8,
                                "VolumeType": "gp3",
                            },
                        }
                    ],
                    "KeyName": Match.absent(),
                }
            )
        },
    )
    # The AMI is resolved from SSM when CloudFormation deploys, not at synth.
    parameters = template.to_json()["Parameters"]
    assert [
        p["Default"] for p in parameters.values() if "ami-amazon-linux" in p["Default"]
    ] == ["/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-arm64"]
    template.resource_count_is("AWS::ElasticLoadBalancingV2::LoadBalancer", 0)


def test_more_than_one_instance_sits_behind_an_internal_load_balancer() -> None:
    template = relay_template(settings(count=3, instance_type="m7g.medium"))

    template.has_resource_properties(
        "AWS::AutoScaling::AutoScalingGroup",
        {"MinSize": "3", "MaxSize": "3", "HealthCheckType": "ELB"},
    )
    template.resource_count_is("AWS::ElasticLoadBalancingV2::LoadBalancer", 1)
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        {"Scheme": "internal", "Type": "network"},
    )
    template.resource_count_is("AWS::ElasticLoadBalancingV2::Listener", 2)
    for port in (25, 587):
        template.has_resource_properties(
            "AWS::ElasticLoadBalancingV2::TargetGroup",
            {
                "Port": port,
                "Protocol": "TCP",
                "HealthCheckPort": "25",
                "TargetGroupAttributes": Match.array_with(
                    [{"Key": "preserve_client_ip.enabled", "Value": "true"}]
                ),
            },
        )
    template.has_resource_properties(
        "AWS::EC2::LaunchTemplate",
        {"LaunchTemplateData": Match.object_like({"InstanceType": "m7g.medium"})},
    )


def test_the_user_data_holds_the_rendered_postfix_config_and_no_secret() -> None:
    script = user_data(relay_template(settings()))

    assert "relayhost = [email-smtp.eu-west-1.amazonaws.com]:587\n" in script
    assert "KEY = '[email-smtp.eu-west-1.amazonaws.com]:587'" in script
    assert f"mynetworks = {ALLOWED}\n" in script
    assert "smtp_tls_security_level = encrypt\n" in script
    assert "dnf install -y -q postfix cyrus-sasl-plain" in script
    assert "smtp_tls_CAfile = /etc/pki/tls/certs/ca-bundle.crt\n" in script
    assert "\"--secret-id\", 'mail/test/smtp/app-relay'" in script
    assert SECRET["password"] not in script
    assert 'password":' not in script
    assert "smtpd_sasl_auth_enable" not in script


def test_submission_auth_adds_a_generated_client_secret_and_port_587_networks() -> None:
    template = relay_template(
        settings(submission_auth=True, submission_cidrs=["172.16.0.0/12"])
    )
    script = user_data(template)

    template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {
            "Name": "mail/test/relay/submission",
            "GenerateSecretString": {
                "SecretStringTemplate": '{"username": "relay"}',
                "GenerateStringKey": "password",
                "ExcludePunctuation": True,
                "PasswordLength": 32,
            },
        },
    )
    template.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "SecurityGroupIngress": Match.array_with(
                [
                    Match.object_like(
                        {"CidrIp": "172.16.0.0/12", "FromPort": 587, "ToPort": 587}
                    )
                ]
            )
        },
    )
    assert "-o smtpd_sasl_auth_enable=yes" in script
    assert "-o smtpd_tls_auth_only=yes" in script
    assert "/usr/local/sbin/relay-submission-users" in script
    assert "cyrus-sasl cyrus-sasl-lib" in script


def test_a_new_vpc_without_nat_reaches_aws_through_endpoints() -> None:
    template = relay_template(settings(vpc={"cidr": "10.90.0.0/16"}))

    template.has_resource_properties("AWS::EC2::VPC", {"CidrBlock": "10.90.0.0/16"})
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    template.resource_count_is("AWS::EC2::FlowLog", 1)
    template.resource_count_is("AWS::EC2::VPCEndpoint", 8)
    template.has_resource_properties(
        "AWS::EC2::VPCEndpoint",
        {
            "ServiceName": "com.amazonaws.eu-west-1.email-smtp",
            "PrivateDnsEnabled": True,
            "VpcEndpointType": "Interface",
        },
    )
    template.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {"FromPort": 587, "ToPort": 587, "Description": "From the SMTP relay"},
    )
    subnets = relay_subnets(template)
    assert [(s["type"], s["public_ip"]) for s in subnets] == [("Isolated", False)] * 2
    assert len({s["zone"] for s in subnets}) == 2


def test_a_new_vpc_with_nat_has_one_gateway_and_no_endpoints() -> None:
    template = relay_template(settings(vpc={"nat": True}))

    template.has_resource_properties("AWS::EC2::VPC", {"CidrBlock": "10.80.0.0/16"})
    template.resource_count_is("AWS::EC2::NatGateway", 1)
    template.resource_count_is("AWS::EC2::VPCEndpoint", 0)
    subnets = relay_subnets(template)
    assert [(s["type"], s["public_ip"]) for s in subnets] == [("Private", False)] * 2


def test_several_relays_and_their_balancer_spread_over_two_zones() -> None:
    template = relay_template(settings(count=3))

    subnets = relay_subnets(template)
    assert len({s["zone"] for s in subnets}) == 2
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        {"Subnets": [s["ref"] for s in subnets]},
    )


def test_an_existing_vpc_is_used_through_its_subnets() -> None:
    template = relay_template(
        settings(
            vpc={
                "id": "vpc-0123456789abcdef0",
                "subnet_ids": ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
            }
        )
    )

    template.resource_count_is("AWS::EC2::VPC", 0)
    template.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "GroupDescription": Match.string_like_regexp("^SMTP relay"),
            "VpcId": "vpc-0123456789abcdef0",
        },
    )
    template.has_resource_properties(
        "AWS::AutoScaling::AutoScalingGroup",
        {"VPCZoneIdentifier": ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]},
    )


def test_alarms_watch_the_queue_and_the_instances_and_notify_a_topic() -> None:
    topic = "arn:aws:sns:eu-west-1:123456789012:mail-alarms"
    template = relay_template(settings(queue_alarm_threshold=50, alarm_topic_arn=topic))

    template.resource_count_is("AWS::CloudWatch::Alarm", 2)
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "Mail/Relay",
            "MetricName": "QueuedMessages",
            "Dimensions": [{"Name": "Relay", "Value": "mail-test-relay"}],
            "Threshold": 50,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "AlarmActions": [topic],
        },
    )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/AutoScaling",
            "MetricName": "GroupInServiceInstances",
            "Threshold": 1,
            "ComparisonOperator": "LessThanThreshold",
            "AlarmActions": [topic],
        },
    )
    template.has_resource_properties(
        "AWS::AutoScaling::AutoScalingGroup",
        {"NotificationConfigurations": [Match.object_like({"TopicARN": topic})]},
    )
    template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {"LogGroupName": "/mail/test/relay/maillog", "RetentionInDays": 90},
    )


def test_the_maillog_group_keeps_hyphens_in_the_app_and_environment_names() -> None:
    stacks = build_environment(App(), make_config(settings(), "prod-eu"))
    template = Template.from_stack(stacks[-1])

    template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {"LogGroupName": "/mail/prod-eu/relay/maillog", "RetentionInDays": 90},
    )
    assert '"log_group_name": "/mail/prod-eu/relay/maillog"' in user_data(template)


def test_the_smallest_new_vpc_holds_the_relays_four_subnets() -> None:
    template = relay_template(settings(vpc={"cidr": "10.80.0.0/22"}))

    template.has_resource_properties("AWS::EC2::VPC", {"CidrBlock": "10.80.0.0/22"})
    template.resource_count_is("AWS::EC2::Subnet", 4)


def test_a_terminating_instance_is_held_up_to_15_minutes_to_drain_its_queue() -> None:
    template = relay_template(settings())
    group = Capture()

    template.resource_count_is("AWS::AutoScaling::LifecycleHook", 1)
    template.has_resource_properties(
        "AWS::AutoScaling::LifecycleHook",
        {
            "AutoScalingGroupName": {"Ref": group},
            "LifecycleHookName": "drain-queue",
            "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
            "DefaultResult": "CONTINUE",
            "HeartbeatTimeout": 900,
            "NotificationTargetARN": Match.absent(),
            "RoleARN": Match.absent(),
        },
    )
    resources = template.to_json()["Resources"]
    assert resources[group.as_string()]["Type"] == "AWS::AutoScaling::AutoScalingGroup"
    template.has_resource_properties(
        "AWS::AutoScaling::AutoScalingGroup",
        {"AutoScalingGroupName": "mail-test-relay"},
    )
    # The drain gives up two minutes before the heartbeat would.
    script = user_data(template)
    assert "DEADLINE_SECONDS = 780\n" in script
    assert "\"--auto-scaling-group-name\", 'mail-test-relay'" in script
    assert "\"--lifecycle-hook-name\", 'drain-queue'" in script


def test_the_instance_may_complete_lifecycle_actions_of_its_own_group_only() -> None:
    template = relay_template(settings())

    assert [s for s in role_statements(template) if "autoscaling" in str(s)] == [
        {
            "Sid": "CompleteDrainLifecycleAction",
            "Action": "autoscaling:CompleteLifecycleAction",
            "Effect": "Allow",
            "Resource": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":autoscaling:eu-west-1:",
                        {"Ref": "AWS::AccountId"},
                        ":autoScalingGroup:*:autoScalingGroupName/mail-test-relay",
                    ],
                ]
            },
        }
    ]


# EC2 refuses user data over 16 KB before base64: the instance would never launch.
USER_DATA_LIMIT = 16 * 1024


@pytest.mark.parametrize(("allowed", "submission"), [(29, 0), (1, 56)])
def test_the_largest_boot_script_fits_ec2s_user_data_limit(
    allowed: int, submission: int
) -> None:
    # The longest private networks the settings allow, as many as they allow.
    networks = [f"100.{64 + n // 200}.{n % 200}.128/25" for n in range(allowed)]
    others = [f"192.168.{n}.128/25" for n in range(submission)]
    template = relay_template(
        settings(
            allowed_cidrs=networks,
            submission_auth=True,
            submission_cidrs=others,
        )
    )

    assert len(user_data(template).encode()) <= USER_DATA_LIMIT
