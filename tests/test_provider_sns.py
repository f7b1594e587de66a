"""Amazon SNS verification over real HTTP against a local fake SNS (tests.support.fakes.sns).

Certificates are fetched only from URLs that pass the origin/path rules, through the outbound
guard, once per URL; foreign topics are refused before anything is fetched; subscriptions are
confirmed only for configured topics; both signature versions verify.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from service.config import SourceConfig
from service.providers.base import Delivery
from service.providers.sns import SnsMessage, check_cert_url, check_subscribe_url, parse_sns
from service.settings import SNS_CERT_ORIGIN, Settings
from tests.support.bounce_deliveries import fixture, ses, stored_bounces
from tests.support.deliveries import SOURCES_YAML, post, sns_delivery, stored_messages
from tests.support.fakes.sns import CERT_NAME, FOREIGN_TOPIC, TOPIC, FakeSns, fake_sns

BOUNCE = fixture("ses/bounce_identity.json")


@pytest.fixture(autouse=True)
def _sources(settings: Settings) -> None:
    settings.config.write_text(SOURCES_YAML)


@pytest.fixture
def sns() -> FakeSns:
    fake = fake_sns()
    fake.requests.clear()
    fake.confirmations.clear()
    return fake


def _refused(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["error"], str)
    return str(body["message"])


@pytest.mark.parametrize("version", ["1", "2"])
async def test_ses_bounce_signed_with_either_signature_version_is_stored(
    client: httpx.AsyncClient, settings: Settings, sns: FakeSns, version: str
) -> None:
    response = await post(client, "ses", ses(BOUNCE, SignatureVersion=version))
    assert response.status_code == 200, response.text
    assert {(e.recipient, e.kind, e.reason, e.status) for e in stored_bounces(settings)} == {
        ("ghost@example.org", "hard", "user_unknown", "5.1.1"),
        ("Alice@example.net", "soft", "policy", "5.7.1"),
    }


async def test_unknown_signature_version_is_401(client: httpx.AsyncClient, sns: FakeSns) -> None:
    assert "SignatureVersion" in _refused(await post(client, "ses", ses(BOUNCE, SignatureVersion="3")), 401)


async def test_certificate_is_fetched_once_per_url(client: httpx.AsyncClient, sns: FakeSns) -> None:
    for index in range(3):
        message = {**BOUNCE, "bounce": {**BOUNCE["bounce"], "feedbackId": f"feedback-{index}"}}
        assert (await post(client, "ses", ses(message))).status_code == 200
    assert sns.requests == [f"/{CERT_NAME}"]


async def test_foreign_topic_is_refused_without_fetching_anything(
    client: httpx.AsyncClient, settings: Settings, sns: FakeSns
) -> None:
    envelope = sns.notification(BOUNCE, topic=FOREIGN_TOPIC)
    assert "topic" in _refused(await post(client, "ses", sns_delivery(envelope)), 403)
    confirmation = sns.confirmation(topic=FOREIGN_TOPIC)
    _refused(await post(client, "ses", sns_delivery(confirmation)), 403)
    assert sns.requests == [] and stored_bounces(settings) == []


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:{port}/" + CERT_NAME,  # another host
        "http://127.0.0.1:{port}/evil.pem",  # not SNS's certificate path
        "http://127.0.0.1:{port}/" + CERT_NAME + "?Action=GetEndpointAttributes",  # the 2021 Discourse trick
        "http://127.0.0.1:{port}/" + CERT_NAME + "#x",
        "http://user@127.0.0.1:{port}/" + CERT_NAME,
        "https://127.0.0.1:{port}/" + CERT_NAME,
    ],
)
async def test_certificate_url_off_the_sns_pattern_is_refused_without_a_request(
    client: httpx.AsyncClient, settings: Settings, sns: FakeSns, url: str
) -> None:
    port = sns.base.rsplit(":", 1)[1]
    envelope = sns.sign({**sns.notification(BOUNCE), "SigningCertURL": url.format(port=port)})
    assert "not fetched" in _refused(await post(client, "ses", sns_delivery(envelope)), 401)
    assert sns.requests == [] and stored_bounces(settings) == []


async def test_signature_by_another_key_is_401(client: httpx.AsyncClient, settings: Settings, sns: FakeSns) -> None:
    other = FakeSns()
    envelope = sns.sign({k: v for k, v in sns.notification(BOUNCE).items() if k != "Signature"}, key=other.key)
    assert "does not verify" in _refused(await post(client, "ses", sns_delivery(envelope)), 401)
    assert stored_bounces(settings) == []


async def test_subscription_for_a_configured_topic_is_confirmed(
    client: httpx.AsyncClient, settings: Settings, sns: FakeSns
) -> None:
    response = await post(client, "ses", sns_delivery(sns.confirmation()))
    assert response.status_code == 200 and response.json() == {"status": "subscribed", "topic_arn": TOPIC}
    [confirmed] = sns.confirmations
    assert confirmed["Action"] == "ConfirmSubscription" and confirmed["TopicArn"] == TOPIC
    assert stored_bounces(settings) == [] and stored_messages(settings) == []


async def test_subscribe_url_for_another_topic_is_not_requested(client: httpx.AsyncClient, sns: FakeSns) -> None:
    envelope = sns.confirmation()
    fields = {k: v for k, v in envelope.items() if k != "Signature"}
    fields["SubscribeURL"] = fields["SubscribeURL"].replace("ses-bounces", "other-topic")
    assert "not requested" in _refused(await post(client, "ses", sns_delivery(sns.sign(fields))), 401)
    assert sns.confirmations == []


async def test_unsubscribe_confirmation_is_acknowledged_and_ignored(client: httpx.AsyncClient, sns: FakeSns) -> None:
    response = await post(client, "ses", sns_delivery(sns.confirmation(kind="UnsubscribeConfirmation")))
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    assert sns.confirmations == []


@pytest.mark.parametrize(
    "message",
    [
        "Successfully validated SNS topic for Amazon SES event publishing.",
        {"notificationType": "AmazonSnsSubscriptionSucceeded", "message": "You have successfully subscribed"},
        {"eventType": "Delivery", "mail": {"messageId": "x"}, "delivery": {"recipients": ["a@example.org"]}},
    ],
)
async def test_setup_pings_and_other_event_types_are_acknowledged_not_stored(
    client: httpx.AsyncClient, settings: Settings, sns: FakeSns, message: dict[str, Any] | str
) -> None:
    response = await post(client, "ses", ses(message))
    assert response.status_code == 200 and response.json() == {"status": "ignored", "events": []}
    assert stored_bounces(settings) == []


async def test_raw_message_delivery_without_an_envelope_is_400(client: httpx.AsyncClient, sns: FakeSns) -> None:
    raw = sns_delivery(BOUNCE)  # what SNS posts with raw message delivery on: no signature at all
    assert _refused(await post(client, "ses", raw), 400)


async def test_headers_that_disagree_with_the_body_are_400(client: httpx.AsyncClient, sns: FakeSns) -> None:
    delivery = ses(BOUNCE)
    delivery.headers["x-amz-sns-topic-arn"] = FOREIGN_TOPIC
    assert "x-amz-sns-topic-arn" in _refused(await post(client, "ses", delivery), 400)


async def test_ses_inbound_received_notification_is_stored_as_mail(
    client: httpx.AsyncClient, settings: Settings, sns: FakeSns
) -> None:
    envelope = sns.notification(fixture("ses/received.json"), topic="arn:aws:sns:eu-west-1:111122223333:ses-inbound")
    response = await post(client, "ses-inbound", sns_delivery(envelope))
    assert response.status_code == 200, response.text
    [message] = stored_messages(settings)
    assert (message.provider, message.envelope_from, message.envelope_to) == (
        "ses-inbound",
        "alice@example.org",
        ["hook@in.example.com"],
    )
    assert message.subject == "Your code is 246810" and message.auth == {
        "spf": "pass",
        "dkim": "gray",
        "dmarc": "pass",
        "spam": "pass",
    }


INBOUND_TOPIC = "arn:aws:sns:eu-west-1:111122223333:ses-inbound"


def _received(content: str | None = None, **receipt: Any) -> dict[str, Any]:
    message = fixture("ses/received.json")
    message["receipt"].update(receipt)
    if content is not None:
        message["content"] = content
    return message


async def test_ses_inbound_keeps_the_defects_of_the_header_fields(
    client: httpx.AsyncClient, settings: Settings, sns: FakeSns
) -> None:
    # An unreadable Date is a defect for raw HTTP and SMTP: SES inbound used to drop it.
    content = fixture("ses/received.json")["content"].replace("Date: Tue, 14 Nov 2023 10:12:38 +0100", "Date: soon")
    envelope = sns.notification(_received(content), topic=INBOUND_TOPIC)
    response = await post(client, "ses-inbound", sns_delivery(envelope))
    assert response.status_code == 200, response.text
    [message] = stored_messages(settings)
    assert message.date is None and "unparseable_date" in message.defects


@pytest.mark.parametrize("timestamp", [1741338000, {"at": "2025-03-07T09:00:00Z"}, ["2025-03-07T09:00:00Z"], True])
async def test_ses_inbound_receipt_timestamp_that_is_not_a_string_is_400(
    client: httpx.AsyncClient, settings: Settings, sns: FakeSns, timestamp: Any
) -> None:
    envelope = sns.notification(_received(timestamp=timestamp), topic=INBOUND_TOPIC)
    response = await post(client, "ses-inbound", sns_delivery(envelope))
    assert "receipt.timestamp" in _refused(response, 400)
    assert response.json()["details"] == {"field": "receipt.timestamp"}
    assert stored_messages(settings) == []


def test_default_origin_accepts_only_aws_certificate_urls() -> None:
    good = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"
    check_cert_url(good, TOPIC, SNS_CERT_ORIGIN)
    for bad in (
        "http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem",
        "https://sns.eu-west-1.amazonaws.com:8443/SimpleNotificationService-0123456789abcdef.pem",
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem",  # not the topic's region
        "https://sns.eu-west-1.amazonaws.com.evil.example/SimpleNotificationService-0123456789abcdef.pem",
        "https://evil.example/sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem",
        "https://sns.eu-west-1.amazonaws.com/x.pem?Action=GetEndpointAttributes&EndpointArn=x",
        "https://a@sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem",
    ):
        with pytest.raises(Exception, match="not fetched"):
            check_cert_url(bad, TOPIC, SNS_CERT_ORIGIN)


def test_default_origin_subscribe_url_must_confirm_this_topic() -> None:
    envelope = json.loads(sns_delivery(fake_sns().confirmation()).body)
    token = envelope["Token"]
    base = "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription"
    message = parse_sns_fields({**envelope, "SubscribeURL": f"{base}&TopicArn={TOPIC}&Token={token}"})
    check_subscribe_url(message.fields["SubscribeURL"], message, SNS_CERT_ORIGIN)
    other_path = "https://sns.eu-west-1.amazonaws.com/x?Action=ConfirmSubscription"
    for bad in (f"{base}&TopicArn={FOREIGN_TOPIC}&Token={token}", f"{other_path}&TopicArn={TOPIC}&Token={token}"):
        with pytest.raises(Exception, match="not requested"):
            check_subscribe_url(bad, message, SNS_CERT_ORIGIN)


def parse_sns_fields(envelope: dict[str, str]) -> SnsMessage:
    source = SourceConfig(name="x", provider="ses", secrets=["0123456789abcdef0123"])
    return parse_sns(Delivery(source, json.dumps(envelope).encode(), {}, {}))
