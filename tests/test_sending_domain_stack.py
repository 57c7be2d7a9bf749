"""Templates of a sending domain's stack, as a reviewer reads them before deploying."""

from __future__ import annotations

from aws_cdk import App
from aws_cdk.assertions import Match, Template

from stacks.environment import build_environment
from tests.conftest import RSA_PUBLIC_KEY, domain_settings, make_config

EXISTING_ZONE = {"id": "Z0EXAMPLE0000000000", "name": "example.com"}


def _records(template, record_type: str) -> dict[str, dict]:
    found = template.find_resources(
        "AWS::Route53::RecordSet", {"Properties": {"Type": record_type}}
    )
    return {_name(r["Properties"]["Name"]): r["Properties"] for r in found.values()}


def _name(name) -> str:
    """A record name as a reviewer sees it; DKIM names stay as their GetAtt."""
    if isinstance(name, str):
        return name
    parts = name["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else p["Fn::GetAtt"][1] for p in parts)


def test_identity_signs_with_easy_dkim_2048_and_uses_the_mail_subdomain(synth_domain):
    template = synth_domain(domain_settings())

    template.resource_count_is("AWS::SES::EmailIdentity", 1)
    template.has_resource_properties(
        "AWS::SES::EmailIdentity",
        {
            "EmailIdentity": "example.com",
            "DkimAttributes": {"SigningEnabled": True},
            "DkimSigningAttributes": {"NextSigningKeyLength": "RSA_2048_BIT"},
            "MailFromAttributes": {
                "MailFromDomain": "mail.example.com",
                "BehaviorOnMxFailure": "USE_DEFAULT_VALUE",
            },
            "ConfigurationSetAttributes": {
                "ConfigurationSetName": {"Ref": Match.any_value()}
            },
        },
    )


def test_easy_dkim_1024_is_available_for_dns_hosts_with_short_txt_limits(
    synth_domain,
):
    template = synth_domain(domain_settings(dkim={"key_length": 1024}))

    template.has_resource_properties(
        "AWS::SES::EmailIdentity",
        {"DkimSigningAttributes": {"NextSigningKeyLength": "RSA_1024_BIT"}},
    )


def test_configuration_set_requires_tls_and_suppresses_bounces_and_complaints(
    synth_domain,
):
    template = synth_domain(domain_settings())

    template.resource_count_is("AWS::SES::ConfigurationSet", 1)
    template.has_resource_properties(
        "AWS::SES::ConfigurationSet",
        {
            "Name": "mail-test-example-com",
            "DeliveryOptions": {"TlsPolicy": "REQUIRE"},
            "ReputationOptions": {"ReputationMetricsEnabled": True},
            "SendingOptions": {"SendingEnabled": True},
            "SuppressionOptions": {"SuppressedReasons": ["BOUNCE", "COMPLAINT"]},
        },
    )


def test_bounces_complaints_rejects_and_delays_are_published_to_the_topic(
    synth_domain,
):
    template = synth_domain(domain_settings())

    template.resource_count_is("AWS::SNS::Topic", 1)
    template.resource_count_is("AWS::SES::ConfigurationSetEventDestination", 1)
    template.has_resource_properties(
        "AWS::SES::ConfigurationSetEventDestination",
        {
            "EventDestination": {
                "Enabled": True,
                "MatchingEventTypes": [
                    "bounce",
                    "complaint",
                    "reject",
                    "deliveryDelay",
                ],
                "SnsDestination": {"TopicARN": {"Ref": Match.any_value()}},
            }
        },
    )


def test_event_topic_accepts_ses_of_this_configuration_set_over_tls_only(
    synth_domain,
):
    template = synth_domain(domain_settings())

    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "sns:Publish",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        ),
                        Match.object_like(
                            {
                                "Effect": "Allow",
                                "Action": "sns:Publish",
                                "Principal": {"Service": "ses.amazonaws.com"},
                                "Condition": {
                                    "StringEquals": {
                                        "AWS:SourceAccount": Match.any_value(),
                                        "AWS:SourceArn": Match.any_value(),
                                    }
                                },
                            }
                        ),
                    ]
                )
            }
        },
    )


def test_existing_zone_gets_every_record_once_and_fully_qualified_once(
    synth_domain,
):
    template = synth_domain(domain_settings(hosted_zone=EXISTING_ZONE))

    template.resource_count_is("AWS::Route53::RecordSet", 7)
    template.resource_count_is("AWS::Route53::HostedZone", 0)
    cnames = _records(template, "CNAME")
    assert sorted(cnames) == [
        "DkimDNSTokenName1.",
        "DkimDNSTokenName2.",
        "DkimDNSTokenName3.",
    ]
    assert {r["HostedZoneId"] for r in cnames.values()} == {"Z0EXAMPLE0000000000"}
    assert sorted(_records(template, "MX")) == ["mail.example.com."]
    assert sorted(_records(template, "TXT")) == [
        "_dmarc.example.com.",
        "example.com.",
        "mail.example.com.",
    ]


def test_dkim_cname_values_come_from_the_identity_not_a_fixed_suffix(synth_domain):
    template = synth_domain(domain_settings(hosted_zone=EXISTING_ZONE))

    values = [
        r["ResourceRecords"][0]["Fn::GetAtt"][1]
        for r in _records(template, "CNAME").values()
    ]
    assert sorted(values) == [
        "DkimDNSTokenValue1",
        "DkimDNSTokenValue2",
        "DkimDNSTokenValue3",
    ]
    assert "dkim.amazonses.com" not in str(template.to_json())


def test_subdomain_in_parent_zone_is_not_qualified_twice(synth_domain):
    template = synth_domain(
        domain_settings(name="Notify.Example.COM.", hosted_zone=EXISTING_ZONE)
    )

    names = {
        _name(r["Properties"]["Name"])
        for r in template.find_resources("AWS::Route53::RecordSet").values()
    }
    assert {
        "mail.notify.example.com.",
        "notify.example.com.",
        "_dmarc.notify.example.com.",
    } <= names
    assert not [n for n in names if "example.com.example.com" in n]
    template.has_resource_properties(
        "AWS::SES::EmailIdentity", {"EmailIdentity": "notify.example.com"}
    )


def test_mail_from_records_point_at_the_ses_region_of_the_domain(synth_domain):
    settings = domain_settings(hosted_zone=EXISTING_ZONE, ses_region="eu-central-1")
    template = synth_domain(settings)

    mx = _records(template, "MX")["mail.example.com."]
    assert mx["ResourceRecords"] == ["10 feedback-smtp.eu-central-1.amazonses.com"]
    spf = _records(template, "TXT")["mail.example.com."]
    assert spf["ResourceRecords"] == ['"v=spf1 include:amazonses.com ~all"']


def test_domain_stack_is_deployed_to_the_domain_ses_region():
    app = App()
    config = make_config(
        {
            "region": "eu-west-1",
            "domains": [{"name": "example.com", "ses_region": "eu-central-1"}],
        }
    )

    (stack,) = build_environment(app, config)

    assert stack.region == "eu-central-1"
    assert stack.stack_name == "mail-test-example-com"


def test_apex_spf_and_site_verifications_share_one_record_set(synth_domain):
    template = synth_domain(
        domain_settings(
            hosted_zone=EXISTING_ZONE,
            spf={"mechanisms": ["include:_spf.google.com"], "all": "-all"},
            txt=["google-site-verification=abc", '"MS=ms12345"'],
        )
    )

    apex = _records(template, "TXT")["example.com."]
    assert apex["ResourceRecords"] == [
        '"v=spf1 include:_spf.google.com -all"',
        '"google-site-verification=abc"',
        '"MS=ms12345"',
    ]


def test_dmarc_record_lives_at_underscore_dmarc_with_the_configured_tags(
    synth_domain,
):
    template = synth_domain(
        domain_settings(
            hosted_zone=EXISTING_ZONE,
            dmarc={"policy": "reject", "rua": ["dmarc@example.com"], "pct": 25},
        )
    )

    dmarc = _records(template, "TXT")["_dmarc.example.com."]
    assert dmarc["ResourceRecords"] == [
        '"v=DMARC1; p=reject; pct=25; rua=mailto:dmarc@example.com"'
    ]


def test_inbound_mx_hosts_form_one_record_set_at_the_apex(synth_domain):
    template = synth_domain(
        domain_settings(
            hosted_zone=EXISTING_ZONE,
            mx=[
                {"host": "MX1.provider.example."},
                {"host": "mx2.provider.example", "priority": 20},
            ],
        )
    )

    inbound = _records(template, "MX")["example.com."]
    assert inbound["ResourceRecords"] == [
        "10 mx1.provider.example",
        "20 mx2.provider.example",
    ]


def test_byodkim_private_key_is_resolved_from_secrets_manager_at_deploy_time(
    synth_domain,
):
    public_key = RSA_PUBLIC_KEY
    template = synth_domain(
        domain_settings(
            hosted_zone=EXISTING_ZONE,
            dkim={
                "signing": "byo",
                "selector": "s2026",
                "private_key_secret": "mail/dkim/example.com",
                "private_key_field": "private_key",
                "public_key": public_key,
            },
        )
    )

    template.has_resource_properties(
        "AWS::SES::EmailIdentity",
        {
            "DkimSigningAttributes": {
                "DomainSigningSelector": "s2026",
                "DomainSigningPrivateKey": (
                    "{{resolve:secretsmanager:mail/dkim/example.com"
                    ":SecretString:private_key::}}"
                ),
            }
        },
    )
    assert _records(template, "CNAME") == {}
    key_record = _records(template, "TXT")["s2026._domainkey.example.com."]
    (value,) = key_record["ResourceRecords"]
    strings = value[1:-1].split('" "')
    assert [len(s) for s in strings] == [255, 155]
    assert "".join(strings) == f"v=DKIM1; k=rsa; p={public_key}"


def test_domain_without_zone_outputs_every_record_as_zone_file_lines(synth_domain):
    template = synth_domain(domain_settings(name="example.net"))

    template.resource_count_is("AWS::Route53::RecordSet", 0)
    outputs = template.find_outputs("*")
    described = {
        key: output for key, output in outputs.items() if key.startswith("Dns")
    }
    assert sorted(described) == [
        "DnsApexTxt",
        "DnsDkimToken1",
        "DnsDkimToken2",
        "DnsDkimToken3",
        "DnsDmarc",
        "DnsMailFromMx",
        "DnsMailFromSpf",
    ]
    static = sorted(
        o["Value"] for o in described.values() if isinstance(o["Value"], str)
    )
    assert static == [
        '_dmarc.example.net. 1800 IN TXT "v=DMARC1; p=none"',
        'example.net. 1800 IN TXT "v=spf1 include:amazonses.com ~all"',
        "mail.example.net. 1800 IN MX 10 feedback-smtp.us-east-1.amazonses.com.",
        'mail.example.net. 1800 IN TXT "v=spf1 include:amazonses.com ~all"',
    ]
    dkim = [o["Value"] for o in described.values() if not isinstance(o["Value"], str)]
    for value in dkim:
        parts = value["Fn::Join"][1]
        assert parts[1] == ". 1800 IN CNAME "
        assert parts[3] == "."


def test_created_zone_holds_the_records_outputs_name_servers_and_is_kept(synth_domain):
    template = synth_domain(domain_settings(hosted_zone={"create": True}))

    template.resource_count_is("AWS::Route53::HostedZone", 1)
    template.has_resource(
        "AWS::Route53::HostedZone",
        {
            "Properties": {"Name": "example.com."},
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )
    template.has_output(
        "NameServers",
        {
            "Value": {
                "Fn::Join": [" ", {"Fn::GetAtt": [Match.any_value(), "NameServers"]}]
            }
        },
    )
    template.all_resources_properties(
        "AWS::Route53::RecordSet", {"HostedZoneId": {"Ref": Match.any_value()}}
    )


def test_environment_tags_reach_every_taggable_resource(synth_domain):
    settings = domain_settings(hosted_zone={"create": True})
    settings["tags"] = {"team": "platform", "cost-center": "4711"}
    template = synth_domain(settings)

    expected = Match.array_with(
        [{"Key": "cost-center", "Value": "4711"}, {"Key": "team", "Value": "platform"}]
    )
    template.has_resource_properties("AWS::SES::EmailIdentity", {"Tags": expected})
    template.has_resource_properties("AWS::SES::ConfigurationSet", {"Tags": expected})
    template.has_resource_properties("AWS::SNS::Topic", {"Tags": expected})
    template.has_resource_properties(
        "AWS::Route53::HostedZone", {"HostedZoneTags": expected}
    )


def test_stack_outputs_name_the_configuration_set_and_event_topic(synth_domain):
    template = synth_domain(domain_settings())

    template.has_output("ConfigurationSetName", {"Value": {"Ref": Match.any_value()}})
    template.has_output("EventTopicArn", {"Value": {"Ref": Match.any_value()}})


def test_adding_a_domain_adds_exactly_one_stack_and_leaves_others_unchanged():
    one = {"region": "us-east-1", "domains": [{"name": "example.com"}]}
    two = {
        "region": "us-east-1",
        "domains": [{"name": "example.com"}, {"name": "example.org"}],
    }

    first = build_environment(App(), make_config(one))
    second = build_environment(App(), make_config(two))

    assert [s.stack_name for s in second] == [
        "mail-test-example-com",
        "mail-test-example-org",
    ]
    assert (
        Template.from_stack(first[0]).to_json()
        == Template.from_stack(second[0]).to_json()
    )


def test_a_long_domain_gets_an_event_topic_display_name_of_at_most_100(
    synth_domain,
):
    # 24 characters of "SES delivery events for " plus this domain make 111.
    long_domain = "a" * 40 + "." + "b" * 34 + ".example.com"

    template = synth_domain(domain_settings(name=long_domain))

    display = template.find_resources("AWS::SNS::Topic")
    (topic,) = display.values()
    name = topic["Properties"]["DisplayName"]
    assert len(name) == 100
    assert name.startswith("SES delivery events for aaaa")
