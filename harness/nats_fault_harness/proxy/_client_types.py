"""What the API clients return: proxies, toxics, pages of events."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

__all__ = ["EventsPage", "ProxyInfo", "ToxicInfo"]


@dataclasses.dataclass(frozen=True)
class ToxicInfo:
    """A toxic as the API reports it."""

    name: str
    type: str
    stream: str
    toxicity: float
    attributes: Mapping[str, Any]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ToxicInfo:
        """Build from the API's toxic object."""
        return cls(
            data["name"],
            data["type"],
            data["stream"],
            float(data["toxicity"]),
            dict(data.get("attributes") or {}),
        )

    @property
    def connect_name(self) -> str:
        """The ``CONNECT`` names the toxic targets (extension); ``""`` for all."""
        return str(self.attributes.get("connect_name", ""))


@dataclasses.dataclass(frozen=True)
class ProxyInfo:
    """A proxy as the API reports it."""

    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: tuple[ToxicInfo, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProxyInfo:
        """Build from the API's proxy object."""
        toxics = tuple(ToxicInfo.from_json(t) for t in data.get("toxics") or ())
        return cls(data["name"], data["listen"], data["upstream"], bool(data["enabled"]), toxics)

    @property
    def host(self) -> str:
        """Host part of :attr:`listen` (brackets removed)."""
        return self.listen.rsplit(":", 1)[0].strip("[]")

    @property
    def port(self) -> int:
        """Port part of :attr:`listen`."""
        return int(self.listen.rsplit(":", 1)[1])


@dataclasses.dataclass(frozen=True)
class EventsPage:
    """One read of the event feed: pass :attr:`next` as ``since`` to continue."""

    events: list[dict[str, Any]]
    next: int
    dropped: int = 0
