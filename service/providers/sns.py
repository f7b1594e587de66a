"""Amazon SNS HTTPS deliveries, verified as AWS's own validators do and then some
(../shared/bounces.md §1.2-1.5, providers.md §6.4).

Every message (notifications and subscription confirmations alike) is signed by SNS: RSA
PKCS#1 v1.5 over ``Key\\nvalue\\n`` lines of fixed keys, SHA1 for ``SignatureVersion`` 1 and
SHA256 for 2, with the key from an X.509 certificate at ``SigningCertURL``. Whoever controls
that URL controls the key, so the URL is checked *before* anything is fetched: https, host
``sns.<region>.amazonaws.com`` (region = the topic's), no port, userinfo, query or fragment,
path ``/SimpleNotificationService-<hex>.pem``. The 2021 Discourse RCE used a presigned SNS API
URL that passed the usual host-only checks; the path and no-query rules close that.

A valid signature only proves AWS sent the message; anyone can aim their own topic at our URL,
so each source lists the ``topic_arns`` it accepts and everything else is refused (403), before
any certificate is fetched. A ``SubscriptionConfirmation`` for a listed topic is confirmed by
GETting its ``SubscribeURL`` (same origin rules, ``Action=ConfirmSubscription``) through the
outbound guard; nothing is stored. ``UnsubscribeConfirmation`` is acknowledged and ignored.

*Raw message delivery* must stay off: it posts the bare SES JSON without any signature, which
is refused here as not an SNS message.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from service.config import SourceConfig
from service.errors import BadPayload, Forbidden, Unauthorized, UpstreamUnavailable
from service.moments import parse_iso_utc
from service.outbound import OutboundBlocked
from service.providers.base import (
    Delivery,
    Handshake,
    Provider,
    ProviderServices,
    load_json_object,
)
from service.providers.json_reader import optional, parse_json, require

log = logging.getLogger("mailhook.providers.sns")

TYPES = ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation")
_SIGNED_KEYS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    # An old aws-js validator left out Token here; AWS's PHP and Ruby validators sign it (bounces.md §1.3).
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
_CERT_PATH = re.compile(r"/SimpleNotificationService-[0-9a-fA-F]+\.pem")
_ARN = re.compile(r"arn:aws[a-z-]*:sns:(?P<region>[a-z0-9-]+):\d{12}:[A-Za-z0-9_.-]{1,256}")
_CERT_MAX_BYTES = 64 * 1024
_TIMEOUT_S = 5.0  # SNS gives an endpoint ~15 s; a certificate fetch must fit well inside it


class _Field:
    """A required envelope field read as an attribute (``envelope.topic_arn``)."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __get__(self, envelope: SnsMessage, owner: type[SnsMessage]) -> str:
        return envelope.fields[self.key]


@dataclass(frozen=True, slots=True)
class SnsMessage:
    """The SNS envelope, validated field by field (values as JSON-decoded strings)."""

    fields: dict[str, str]

    type = _Field("Type")
    topic_arn = _Field("TopicArn")
    message = _Field("Message")
    message_id = _Field("MessageId")

    @property
    def timestamp(self) -> datetime | None:
        return parse_iso_utc(self.fields.get("Timestamp"))

    def string_to_sign(self) -> bytes:
        keys = _SIGNED_KEYS[self.type]
        text = "".join(f"{key}\n{self.fields[key]}\n" for key in keys if key in self.fields)
        # SNS signs UTF-8; a lone surrogate cannot be in a genuine message, so it only has to
        # encode somehow for the signature check to fail (401), not raise (500).
        return text.encode("utf-8", "surrogatepass")


def parse_sns(delivery: Delivery, defects: list[str] | None = None) -> SnsMessage:
    """Read the envelope: SNS posts JSON as ``text/plain``, so the Content-Type is ignored."""
    data = load_json_object(delivery.body, defects)
    kind = require(data, "Type", str)
    if kind not in TYPES:
        raise BadPayload(f"field 'Type' must be one of {', '.join(TYPES)}", details={"field": "Type"})
    fields: dict[str, str] = {}
    for key in ("Message", "MessageId", "TopicArn", "Timestamp", "SignatureVersion", "Signature"):
        fields[key] = require(data, key, str)
    # Lambda events spell it SigningCertUrl (bounces.md §1.3); HTTPS deliveries SigningCertURL.
    fields["SigningCertURL"] = optional(data, "SigningCertURL", str) or require(data, "SigningCertUrl", str)
    for key in ("Subject", "SubscribeURL", "Token", "UnsubscribeURL"):
        value = optional(data, key, str)
        if value is not None:
            fields[key] = value
    if kind != "Notification":
        for key in ("SubscribeURL", "Token"):
            require(data, key, str)
    fields["Type"] = kind
    _check_headers(delivery, fields)
    return SnsMessage(fields)


def _check_headers(delivery: Delivery, fields: dict[str, str]) -> None:
    """SNS repeats type, id and topic in ``x-amz-sns-*`` headers; a body that disagrees with them
    was not sent like this by SNS (anymail checks the same)."""
    for header, key in (("message-type", "Type"), ("message-id", "MessageId"), ("topic-arn", "TopicArn")):
        value = delivery.headers.get(f"x-amz-sns-{header}")
        if value is not None and value != fields[key]:
            raise BadPayload(f"header x-amz-sns-{header} does not match the body's {key}")


def topic_region(arn: str) -> str | None:
    match = _ARN.fullmatch(arn)
    return match.group("region") if match else None


def check_cert_url(url: str, topic_arn: str, origin: str) -> None:
    """Refuse (401) a certificate URL that is not AWS's, without fetching it."""
    parts = urlsplit(url)
    match = re.fullmatch(origin, f"{parts.scheme}://{parts.netloc}")
    if match is None or parts.query or parts.fragment or not _CERT_PATH.fullmatch(parts.path):
        raise Unauthorized("SigningCertURL is not an Amazon SNS certificate URL; not fetched")
    region = match.groupdict().get("region")
    if region is not None and region != topic_region(topic_arn):
        raise Unauthorized("SigningCertURL is in another region than the topic; not fetched")


def check_subscribe_url(url: str, message: SnsMessage, origin: str) -> None:
    """``SubscribeURL`` must be the SNS API's ConfirmSubscription for this very topic and token."""
    parts = urlsplit(url)
    match = re.fullmatch(origin, f"{parts.scheme}://{parts.netloc}")
    query = parse_qs(parts.query)
    expected = {"Action": ["ConfirmSubscription"], "TopicArn": [message.topic_arn], "Token": [message.fields["Token"]]}
    if match is None or parts.path not in ("", "/") or parts.fragment:
        raise Unauthorized("SubscribeURL is not an Amazon SNS API URL; not requested")
    if any(query.get(key) != value for key, value in expected.items()):
        raise Unauthorized("SubscribeURL does not confirm this topic's subscription; not requested")
    region = match.groupdict().get("region")
    if region is not None and region != topic_region(message.topic_arn):
        raise Unauthorized("SubscribeURL is in another region than the topic; not requested")


async def _get(services: ProviderServices, url: str, field: str, failure: str) -> httpx.Response:
    """GET a URL the envelope names (already checked) through the guarded client: 401 when the
    outbound policy refuses it, 503 when SNS cannot be reached (SNS retries)."""
    try:
        return await services.http().get(url, follow_redirects=False, timeout=_TIMEOUT_S)
    except OutboundBlocked as exc:
        raise Unauthorized(f"{field} refused by the outbound policy: {exc.reason}") from None
    except httpx.HTTPError as exc:
        raise UpstreamUnavailable(f"{failure}: {type(exc).__name__}") from None


async def certificate_key(services: ProviderServices, url: str) -> rsa.RSAPublicKey:
    """The public key of the certificate at ``url`` (already checked), fetched once per process."""
    cached: rsa.RSAPublicKey | None = services.memo.get(f"sns-cert:{url}")  # only keys are put there
    if cached is not None:
        return cached
    response = await _get(services, url, "SigningCertURL", "cannot fetch the SNS signing certificate")
    if response.status_code != 200 or len(response.content) > _CERT_MAX_BYTES:
        raise Unauthorized(f"SNS signing certificate not served (HTTP {response.status_code})")
    try:
        key = x509.load_pem_x509_certificate(response.content).public_key()
    except ValueError:
        raise Unauthorized("SigningCertURL did not return a PEM certificate") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise Unauthorized("the SNS signing certificate does not hold an RSA key")
    services.memo.put(f"sns-cert:{url}", key)
    return key


def check_signature(message: SnsMessage, key: rsa.RSAPublicKey) -> None:
    try:
        signature = base64.b64decode(message.fields["Signature"], validate=True)
    except (binascii.Error, ValueError):
        raise Unauthorized("SNS Signature is not base64") from None
    algorithm = _HASHES[message.fields["SignatureVersion"]]()
    try:
        key.verify(signature, message.string_to_sign(), padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        raise Unauthorized("SNS signature does not verify") from None


class SnsProvider(Provider):
    """The SNS envelope's checks, shared by the SES bounce and SES inbound providers."""

    def __init__(self) -> None:
        super().__init__()
        self._parsed: tuple[Delivery, SnsMessage] | None = None

    @classmethod
    def check_source(cls, source: SourceConfig) -> None:
        if not source.topic_arns:
            raise ValueError(f"provider {cls.name} needs topic_arns: the SNS topics this source accepts")
        bad = [arn for arn in source.topic_arns if topic_region(arn) is None]
        if bad:
            raise ValueError(f"not SNS topic ARNs (arn:aws:sns:<region>:<account>:<name>): {', '.join(bad)}")

    def sns(self, delivery: Delivery) -> SnsMessage:
        # verify(), verify_remote() and parse() all read the envelope; an instance serves one request.
        if self._parsed is None or self._parsed[0] is not delivery:
            self._parsed = (delivery, parse_sns(delivery, self.defects))
        return self._parsed[1]

    def verify(self, delivery: Delivery) -> None:
        """What needs neither network nor settings: shape, topic allow-list, signature version."""
        message = self.sns(delivery)
        if message.topic_arn not in delivery.source.topic_arns:
            raise Forbidden("this SNS topic is not configured for this source")
        if message.fields["SignatureVersion"] not in _HASHES:
            raise Unauthorized("SNS SignatureVersion must be 1 (SHA1) or 2 (SHA256)")

    async def verify_remote(self, delivery: Delivery, services: ProviderServices) -> Handshake | None:
        """The certificate URL is judged first, so a foreign one is refused without a request."""
        message = self.sns(delivery)
        url = message.fields["SigningCertURL"]
        check_cert_url(url, message.topic_arn, services.settings.sns_cert_origin)
        check_signature(message, await certificate_key(services, url))
        if message.type == "SubscriptionConfirmation":
            return await self._confirm(message, services)
        if message.type == "UnsubscribeConfirmation":
            return Handshake({"status": "ignored", "type": message.type})
        return None

    async def _confirm(self, message: SnsMessage, services: ProviderServices) -> Handshake:
        url = message.fields["SubscribeURL"]
        check_subscribe_url(url, message, services.settings.sns_cert_origin)
        response = await _get(services, url, "SubscribeURL", "cannot reach SNS to confirm the subscription")
        if response.status_code != 200:
            raise BadPayload(f"SNS refused the subscription confirmation (HTTP {response.status_code})")
        log.info("confirmed the SNS subscription to %s", message.topic_arn)
        return Handshake({"status": "subscribed", "topic_arn": message.topic_arn})


def decode_message(message: SnsMessage, defects: list[str] | None = None) -> dict[str, Any] | None:
    """The notification's ``Message`` as a JSON object; ``None`` for SES's plain-text setup
    pings ("Successfully validated SNS topic …") and anything else that is not JSON. Decoded by
    the providers' one JSON reader: an over-long integer is kept (a defect), not the whole
    notification dropped."""
    try:
        data = parse_json(message.message, "Message", defects)
    except BadPayload:
        return None
    return data if isinstance(data, dict) else None
