"""The pricing service as the fault harness sees it: a ``respond`` service with one endpoint.

``nats-harness run scenarios --sut adapter:make`` runs the real :class:`PricingService`
through the scenarios; ``adapter:make_broken`` runs the same service with one realistic
defect (it re-subscribes after a reconnect, without its queue group).
"""

from __future__ import annotations

import json

from pricing import PricingConfig, PricingService

from nats_fault_harness.services import Endpoint, Service


class PricingAdapter(Service):
    """Starts and stops a real :class:`PricingService` through the harness's links."""

    name = "pricing"
    capabilities = frozenset({"respond"})

    def __init__(self, *, resubscribe_on_reconnect: bool = False) -> None:
        self.resubscribe_on_reconnect = resubscribe_on_reconnect
        self.service: PricingService | None = None

    async def start(self, env, report):
        self.report = report
        config = PricingConfig(
            servers=env.servers,  # the faulted links, never the server itself
            resubscribe_on_reconnect=self.resubscribe_on_reconnect,
            callbacks=self.connection_callbacks(report),
        )
        self.service = PricingService(config)
        await self.service.start()
        return self.single_connection()

    async def stop(self):
        if self.service is not None:
            await self.service.stop()
            # what the service itself counted, for the report's timeline
            self.report("handled", {"count": self.service.received})

    def endpoints(self):
        return [Endpoint("pricing.quote", queue="pricing", name="quote")]

    def make_input(self, endpoint, msg_id):
        return json.dumps({"id": msg_id, "sku": "apple", "qty": 3}).encode()


def make():
    """The pricing service as it ships."""
    return PricingAdapter()


def make_broken():
    """The pricing service with the re-subscribe-on-reconnect defect."""
    return PricingAdapter(resubscribe_on_reconnect=True)
