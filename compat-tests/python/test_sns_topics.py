"""SNS resources through boto3 (awsQuery on every boto3): topics, attributes, tags, permissions,
subscriptions and their attributes, with the answers and errors real AWS gave (facts recorded
against AWS, copied here as the expected values)."""

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION, error_code, http_status, make_client, queue_arn_for, name_of


@pytest.fixture(scope="session")
def sns_unvalidated():
    return make_client("sns", validate=False)


DEFAULT_EFFECTIVE = {
    "http": {
        "defaultHealthyRetryPolicy": {
            "minDelayTarget": 20,
            "maxDelayTarget": 20,
            "numRetries": 3,
            "numMaxDelayRetries": 0,
            "numNoDelayRetries": 0,
            "numMinDelayRetries": 0,
            "backoffFunction": "linear",
        },
        "disableSubscriptionOverrides": False,
        "defaultRequestPolicy": {"headerContentType": "text/plain; charset=UTF-8"},
    }
}


def test_new_topic_attributes_are_awss_defaults(sns, new_topic):
    arn = new_topic()
    a = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert set(a) == {
        "DisplayName", "EffectiveDeliveryPolicy", "Owner", "Policy", "SubscriptionsConfirmed",
        "SubscriptionsDeleted", "SubscriptionsPending", "TopicArn",
    }
    assert a["DisplayName"] == "" and a["Owner"] == ACCOUNT and a["TopicArn"] == arn
    assert json.loads(a["EffectiveDeliveryPolicy"]) == DEFAULT_EFFECTIVE
    policy = json.loads(a["Policy"])
    assert list(policy) == ["Version", "Id", "Statement"]
    st = policy["Statement"][0]
    assert st["Sid"] == "__default_statement_ID" and st["Resource"] == arn
    assert st["Condition"] == {"StringEquals": {"AWS:SourceOwner": ACCOUNT}}
    assert arn == f"arn:aws:sns:{REGION}:{ACCOUNT}:{arn.rsplit(':', 1)[1]}"


def test_create_is_idempotent_only_with_equal_attributes(sns, new_topic):
    arn = new_topic(Attributes={"DisplayName": "Value1"}, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    name = arn.rsplit(":", 1)[1]
    assert sns.create_topic(Name=name)["TopicArn"] == arn
    assert sns.create_topic(Name=name, Tags=[{"Key": "a", "Value": "1"}])["TopicArn"] == arn
    with pytest.raises(ClientError) as e:
        sns.create_topic(Name=name, Attributes={"DisplayName": "Value2"})
    assert error_code(e) == "InvalidParameter"
    assert e.value.response["Error"]["Message"] == "Invalid parameter: Attributes Reason: Topic already exists with different attributes"
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "Value1"


def test_set_attributes_and_delivery_policy_rewrites(sns, new_topic):
    arn = new_topic()
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="AlreadySet")
    sns.set_topic_attributes(
        TopicArn=arn, AttributeName="DeliveryPolicy",
        AttributeValue=json.dumps({"http": {"defaultRequestPolicy": {"headerContentType": "application/json"}}}),
    )
    a = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert a["DisplayName"] == "AlreadySet"
    assert json.loads(a["DeliveryPolicy"]) == {
        "http": {"disableSubscriptionOverrides": False, "defaultRequestPolicy": {"headerContentType": "application/json"}}
    }
    eff = json.loads(a["EffectiveDeliveryPolicy"])
    assert eff["http"]["defaultRequestPolicy"]["headerContentType"] == "application/json"
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DeliveryPolicy", AttributeValue="")
    assert "DeliveryPolicy" not in sns.get_topic_attributes(TopicArn=arn)["Attributes"]


def test_fifo_topics(sns, new_topic):
    arn = new_topic(".fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"})
    a = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert a["FifoTopic"] == "true" and a["ContentBasedDeduplication"] == "true"
    std = new_topic(Attributes={"FifoTopic": "false"})
    assert "FifoTopic" not in sns.get_topic_attributes(TopicArn=std)["Attributes"]
    with pytest.raises(ClientError) as e:
        sns.create_topic(Name=std.rsplit(":", 1)[1], Attributes={"FifoTopic": "true"})
    assert e.value.response["Error"]["Message"] == "Invalid parameter: Topic Name"


def test_missing_and_malformed_topics(sns, sns_unvalidated, new_topic):
    arn = new_topic()
    sns.delete_topic(TopicArn=arn)
    with pytest.raises(ClientError) as e:
        sns.get_topic_attributes(TopicArn=arn)
    assert (error_code(e), http_status(e)) == ("NotFound", 404)
    assert e.value.response["Error"]["Message"] == "Topic does not exist"
    with pytest.raises(ClientError) as e:
        sns_unvalidated.publish(TopicArn="arn:aws:sns:us-east-1:random", Message="m")
    assert e.value.response["Error"]["Message"] == "Invalid parameter: TopicArn Reason: An ARN must have at least 6 elements, not 5"


def test_list_topics_pages_by_100(sns, new_topic):
    mine = {new_topic() for _ in range(105)}
    seen, token = [], None
    for _ in range(20):
        page = sns.list_topics(**({"NextToken": token} if token else {}))
        seen.extend(t["TopicArn"] for t in page["Topics"])
        assert len(page["Topics"]) <= 100
        token = page.get("NextToken")
        if not token:
            break
    assert mine <= set(seen)
    assert len(seen) == len(set(seen))


def test_topics_are_regional(new_topic):
    east, west = make_client("sns", region="us-east-1"), make_client("sns", region="eu-west-1")
    name = f"t-{uuid.uuid4().hex[:12]}"
    a, b = east.create_topic(Name=name)["TopicArn"], west.create_topic(Name=name)["TopicArn"]
    try:
        assert a.replace("us-east-1", "eu-west-1") == b
        assert b not in [t["TopicArn"] for t in east.list_topics()["Topics"]]
    finally:
        east.delete_topic(TopicArn=a)
        west.delete_topic(TopicArn=b)


def test_tags(sns, new_topic):
    arn = new_topic()
    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "k1", "Value": "v1"}, {"Key": "k2", "Value": "v2"}])
    sns.untag_resource(ResourceArn=arn, TagKeys=["k1"])
    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "k2", "Value": "v2b"}])
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "k2", "Value": "v2b"}]
    with pytest.raises(ClientError) as e:
        sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}])
    assert e.value.response["Error"]["Message"] == "Invalid parameter: Duplicated keys are not allowed."
    name = arn.rsplit(":", 1)[1]
    sns.delete_topic(TopicArn=arn)
    sns.create_topic(Name=name)
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == []


def test_permissions(sns, new_topic):
    arn = new_topic()
    sns.add_permission(TopicArn=arn, Label="test", AWSAccountId=[ACCOUNT], ActionName=["Publish"])
    sns.add_permission(TopicArn=arn, Label="two", AWSAccountId=[ACCOUNT], ActionName=["Publish", "Subscribe"])
    statements = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])["Statement"]
    assert statements[1] == {
        "Sid": "test", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "SNS:Publish", "Resource": arn,
    }
    assert statements[2]["Action"] == ["SNS:Publish", "SNS:Subscribe"]
    with pytest.raises(ClientError) as e:
        sns.add_permission(TopicArn=arn, Label="test", AWSAccountId=[ACCOUNT], ActionName=["Publish"])
    assert e.value.response["Error"]["Message"] == "Invalid parameter: Statement already exists"
    sns.remove_permission(TopicArn=arn, Label="test")
    sids = [s["Sid"] for s in json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])["Statement"]]
    assert sids == ["__default_statement_ID", "two"]


def test_data_protection_policy(sns, new_topic):
    arn = new_topic()
    doc = {"Name": "p", "Description": "d", "Version": "2021-06-01", "Statement": [{"Sid": "s", "DataDirection": "Inbound",
           "Principal": ["*"], "DataIdentifier": ["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],
           "Operation": {"Deny": {}}}]}
    sns.put_data_protection_policy(ResourceArn=arn, DataProtectionPolicy=json.dumps(doc))
    assert json.loads(sns.get_data_protection_policy(ResourceArn=arn)["DataProtectionPolicy"]) == doc
    assert "DataProtectionPolicy" not in sns.get_topic_attributes(TopicArn=arn)["Attributes"]


def test_subscriptions_and_their_attributes(sns, sqs, new_topic, new_queue):
    arn = new_topic()
    queue_arn = queue_arn_for(name_of(new_queue()))
    sub = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)["SubscriptionArn"]
    assert sub.startswith(arn + ":") and len(sub.split(":")) == 7
    a = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert a["PendingConfirmation"] == "false" and a["RawMessageDelivery"] == "false"
    assert (a["Protocol"], a["Endpoint"], a["TopicArn"], a["Owner"]) == ("sqs", queue_arn, arn, ACCOUNT)
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="RawMessageDelivery", AttributeValue="true")
    policy = {"attr1": [{"numeric": [">", 0, "<=", 100]}]}
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue=json.dumps(policy))
    a = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert a["RawMessageDelivery"] == "true"
    assert json.loads(a["FilterPolicy"]) == policy and a["FilterPolicyScope"] == "MessageAttributes"
    assert sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"] == [
        {"SubscriptionArn": sub, "Owner": ACCOUNT, "Protocol": "sqs", "Endpoint": queue_arn, "TopicArn": arn}
    ]
    assert any(s["SubscriptionArn"] == sub for s in sns.list_subscriptions()["Subscriptions"])
    # Same subscription again: same ARN; with different attributes: refused.
    again = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}, ReturnSubscriptionArn=True)
    assert again["SubscriptionArn"] == sub
    with pytest.raises(ClientError) as e:
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "false"})
    assert e.value.response["Error"]["Message"] == "Invalid parameter: Attributes Reason: Subscription already exists with different attributes"
    sns.unsubscribe(SubscriptionArn=sub)
    with pytest.raises(ClientError) as e:
        sns.get_subscription_attributes(SubscriptionArn=sub)
    assert (error_code(e), e.value.response["Error"]["Message"]) == ("NotFound", "Subscription does not exist")


@pytest.mark.parametrize(
    "name,value,message",
    [
        ("RawMessageDelivery", "wrongvalue", "Invalid parameter: RawMessageDelivery: Invalid value [wrongvalue]. Must be true or false."),
        ("FilterPolicyScope", "RandomValue", "Invalid parameter: FilterPolicyScope: Invalid value [RandomValue]. Please use either MessageBody or MessageAttributes"),
        ("FilterPolicy", '{"key":[]}', "Invalid parameter: FilterPolicy: Empty arrays are not allowed"),
        ("FilterPolicy", '{"key":[{"wrong-operator":true}]}', "Invalid parameter: FilterPolicy: Unrecognized match type wrong-operator"),
        ("RedrivePolicy", '{"deadLetterTargetArn":"fake-arn"}', "Invalid parameter: RedrivePolicy: deadLetterTargetArn is an invalid arn"),
        ("FakeAttribute", "x", "Invalid parameter: AttributeName"),
    ],
)
def test_subscription_attribute_errors(sns, new_topic, new_queue, name, value, message):
    arn = new_topic()
    sub = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn_for(name_of(new_queue())))["SubscriptionArn"]
    with pytest.raises(ClientError) as e:
        sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName=name, AttributeValue=value)
    assert (error_code(e), e.value.response["Error"]["Message"]) == ("InvalidParameter", message)


def test_subscribe_errors(sns, new_topic):
    arn = new_topic()
    with pytest.raises(ClientError) as e:
        sns.subscribe(TopicArn=arn, Protocol="test-protocol", Endpoint="x")
    assert e.value.response["Error"]["Message"] == "Invalid parameter: Amazon SNS does not support this protocol string: test-protocol"
    with pytest.raises(ClientError) as e:
        sns.subscribe(TopicArn=arn, Protocol="sms", Endpoint="+15--551234567")
    assert e.value.response["Error"]["Message"] == "Invalid SMS endpoint: +15--551234567"
    with pytest.raises(ClientError) as e:
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn_for("q"), Attributes={"RawMessageDelivery": "wrongvalue"})
    assert e.value.response["Error"]["Message"] == "Invalid parameter: Attributes Reason: RawMessageDelivery: Invalid value [wrongvalue]. Must be true or false."
    fifo = new_topic(".fifo", Attributes={"FifoTopic": "true"})
    with pytest.raises(ClientError) as e:
        sns.subscribe(TopicArn=fifo, Protocol="http", Endpoint="http://127.0.0.1:9/")
    assert error_code(e) == "InvalidParameter", "FIFO topics deliver to SQS only"
    pending = sns.subscribe(TopicArn=arn, Protocol="http", Endpoint="http://127.0.0.1:9/")
    assert pending["SubscriptionArn"] == "pending confirmation"
    with pytest.raises(ClientError) as e:
        sns.confirm_subscription(TopicArn=arn, Token="randomtoken")
    assert e.value.response["Error"]["Message"] == "Invalid token"
    with pytest.raises(ClientError) as e:
        sns.unsubscribe(SubscriptionArn=f"arn:aws:sns:{REGION}:111111111111:random")
    assert e.value.response["Error"]["Message"] == "Invalid parameter: SubscriptionId"


def test_platform_applications_and_endpoints_are_stored(sns, sns_unvalidated):
    name = f"app-{uuid.uuid4().hex[:8]}"
    app = sns.create_platform_application(
        Name=name, Platform="ADM", Attributes={"PlatformPrincipal": "p", "PlatformCredential": "c"}
    )["PlatformApplicationArn"]
    assert app == f"arn:aws:sns:{REGION}:{ACCOUNT}:app/ADM/{name}"
    try:
        assert sns.get_platform_application_attributes(PlatformApplicationArn=app)["Attributes"] == {"Enabled": "true"}
        sns.set_platform_application_attributes(PlatformApplicationArn=app, Attributes={"SuccessFeedbackSampleRate": "50"})
        assert sns.get_platform_application_attributes(PlatformApplicationArn=app)["Attributes"] == {
            "Enabled": "true", "SuccessFeedbackSampleRate": "50"}
        endpoint = sns.create_platform_endpoint(PlatformApplicationArn=app, Token="token_1")["EndpointArn"]
        assert endpoint.startswith(f"arn:aws:sns:{REGION}:{ACCOUNT}:endpoint/ADM/{name}/")
        assert sns.create_platform_endpoint(PlatformApplicationArn=app, Token="token_1")["EndpointArn"] == endpoint
        assert sns.get_endpoint_attributes(EndpointArn=endpoint)["Attributes"] == {"Enabled": "true", "Token": "token_1"}
        with pytest.raises(ClientError) as e:
            sns.create_platform_endpoint(PlatformApplicationArn=app, Token="token_1", Attributes={"Enabled": "false"})
        assert e.value.response["Error"]["Message"] == (
            f"Invalid parameter: Token Reason: Endpoint {endpoint} already exists with the same Token, but different attributes.")
        with pytest.raises(ClientError) as e:
            sns.set_endpoint_attributes(EndpointArn=endpoint, Attributes={"InvalidKey": "x"})
        assert e.value.response["Error"]["Message"] == "Invalid parameter: Attributes Reason: Invalid attribute name: InvalidKey"
        sns.publish(TargetArn=endpoint, Message="accepted, never sent")
        sns.set_endpoint_attributes(EndpointArn=endpoint, Attributes={"Enabled": "false"})
        with pytest.raises(ClientError) as e:
            sns.publish(TargetArn=endpoint, MessageStructure="json", Message=json.dumps({"default": "x"}))
        assert (error_code(e), e.value.response["Error"]["Message"]) == ("EndpointDisabled", "Endpoint is disabled")
        listed = sns.list_endpoints_by_platform_application(PlatformApplicationArn=app)["Endpoints"]
        assert listed == [{"EndpointArn": endpoint, "Attributes": {"Enabled": "false", "Token": "token_1"}}]
        sns.delete_endpoint(EndpointArn=endpoint)
        assert sns.list_endpoints_by_platform_application(PlatformApplicationArn=app)["Endpoints"] == []
    finally:
        sns.delete_platform_application(PlatformApplicationArn=app)
    with pytest.raises(ClientError) as e:
        sns.list_endpoints_by_platform_application(PlatformApplicationArn=app)
    assert (error_code(e), e.value.response["Error"]["Message"]) == ("NotFound", "PlatformApplication does not exist")
    with pytest.raises(ClientError) as e:
        sns.create_platform_application(Name=name, Platform="AAA", Attributes={"PlatformPrincipal": "p", "PlatformCredential": "c"})
    assert e.value.response["Error"]["Message"] == "Invalid parameter: Platform Reason: AAA is not supported"
    with pytest.raises(ClientError) as e:
        sns_unvalidated.create_platform_application(Name=name, Platform="ADM", Attributes={"PlatformPrincipal": "p"})
    assert e.value.response["Error"]["Message"] == "Invalid parameter: Attributes Reason: PlatformPrincipal attribute provided without PlatformCredential"
    with pytest.raises(ClientError) as e:
        sns.get_platform_application_attributes(PlatformApplicationArn="invalid-arn")
    assert e.value.response["Error"]["Message"] == "Invalid parameter: PlatformApplicationArn Reason: An ARN must have at least 6 elements, not 1"


def test_sms_settings(sns):
    assert sns.get_sms_attributes()["attributes"]["MonthlySpendLimit"] == "1"
    with pytest.raises(ClientError) as e:
        sns.set_sms_attributes(attributes={"InvalidAttribute": "x"})
    assert e.value.response["Error"]["Message"] == "InvalidAttribute is not a valid attribute"
    with pytest.raises(ClientError) as e:
        sns.set_sms_attributes(attributes={"DefaultSMSType": "invalid"})
    assert e.value.response["Error"]["Message"] == "DefaultSMSType is invalid"
    assert sns.check_if_phone_number_is_opted_out(phoneNumber="+4411111111")["isOptedOut"] is False
    sns.opt_in_phone_number(phoneNumber="+4411111111")
    with pytest.raises(ClientError) as e:
        sns.opt_in_phone_number(phoneNumber="invalid")
    assert e.value.response["Error"]["Message"] == "Invalid parameter: PhoneNumber Reason: input incorrectly formatted"
