"""Notices of deadline warnings to people (issue 13, 004 #8 短信提醒): one interface, two real
adapters — an HTTP webhook (CREDIT_NOTIFY_URL) and an HTTP SMS gateway (CREDIT_SMS_URL with
CREDIT_SMS_KEY). A channel that is not set up is recorded `not_configured` for each notice, so an
operator sees what was not sent. The SMS gateway is given the responsible organisation's code as
the recipient: the operator's gateway resolves it to the registered mobile numbers (this system
keeps no personal phone numbers)."""

from dataclasses import dataclass
from typing import Protocol

import httpx

from services.common.settings import Settings

TIMEOUT_SECONDS = 10.0


class Notifier(Protocol):
    @property
    def channel(self) -> str:
        """The channel's name (`webhook`, `sms`); read-only, as the frozen adapters hold it."""

    async def send(self, notice: dict) -> None:
        """Deliver `notice` ({warning_id, recipient, text, warning}); raise if it was not accepted."""


@dataclass(frozen=True)
class WebhookNotifier:
    url: str
    channel: str = "webhook"
    transport: httpx.AsyncBaseTransport | None = None  # tests: a MockTransport

    async def send(self, notice: dict) -> None:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, transport=self.transport) as client:
            response = await client.post(self.url, json=notice, headers={"Idempotency-Key": notice["notice_id"]})
            response.raise_for_status()


@dataclass(frozen=True)
class SmsNotifier:
    url: str
    key: str
    channel: str = "sms"
    transport: httpx.AsyncBaseTransport | None = None

    async def send(self, notice: dict) -> None:
        body = {"to": notice["recipient"], "text": notice["text"], "reference": notice["notice_id"]}
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, transport=self.transport) as client:
            response = await client.post(self.url, json=body, headers={"Authorization": f"Bearer {self.key}"})
            response.raise_for_status()


CHANNELS = ("webhook", "sms")


def notifiers(settings: Settings) -> dict[str, Notifier | None]:
    """Each channel's adapter, None where it is not configured."""
    sms: Notifier | None = (
        SmsNotifier(settings.credit_sms_url, settings.credit_sms_key)
        if (settings.credit_sms_url and settings.credit_sms_key)
        else None
    )
    webhook: Notifier | None = WebhookNotifier(settings.credit_notify_url) if settings.credit_notify_url else None
    return {"webhook": webhook, "sms": sms}
