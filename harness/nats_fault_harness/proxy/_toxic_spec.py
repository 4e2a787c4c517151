"""A toxic as the API knows it: name, type, stream, toxicity and the toxic's attributes.

Parsing follows Toxiproxy's ``AddToxicJson``/``UpdateToxicJson`` step by step, because the
order decides which error a client sees: body -> stream -> default name -> type ->
duplicate name -> attributes. Defaults: ``stream`` ``downstream``, ``toxicity`` 1, ``name``
``<type>_<stream>`` built from the stream *as sent* (``UpStream`` stays ``UpStream``).
Toxicity outside ``[0, 1]`` is refused (extension; Toxiproxy accepts it).

Extension: ``attributes.connect_name`` (a glob, :func:`fnmatch.fnmatchcase`) targets the
toxic at connections whose NATS ``CONNECT`` name matches. It is kept here, beside the
toxic, for every toxic type, so any Toxiproxy client can set it (clients pass attributes
through), and it appears in the toxic's JSON only when set: without it the output is
exactly Toxiproxy's. An update without the key keeps it; ``""`` removes it. It must be one
line of at most :data:`MAX_CONNECT_NAME` characters (a glob of 200,000 characters takes
about 2 s to compile, on the event loop, when the first connection is matched).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from nats_fault_harness.proxy._apierror import (
    bad_request_body,
    invalid_stream,
    invalid_toxic_type,
    toxic_already_exists,
)
from nats_fault_harness.proxy._json import decode_struct, float32
from nats_fault_harness.toxics import TOXICS, InvalidAttribute, Toxic
from nats_fault_harness.toxics._attrs import brief, describe_json_value

__all__ = ["MAX_CONNECT_NAME", "ToxicSpec", "parse_new_toxic", "parse_toxic_update"]

MAX_CONNECT_NAME = 1024
"""Longest ``connect_name`` glob: a long glob costs seconds to compile at the first match."""

_CREATE_FIELDS = {
    "name": "string",
    "type": "string",
    "stream": "string",
    "toxicity": "float32",
    "attributes": "any",
}
_UPDATE_FIELDS = {"attributes": "any", "toxicity": "float32"}


@dataclasses.dataclass(frozen=True)
class ToxicSpec:
    """One toxic of a proxy.

    Attributes:
        name: unique across both streams of the proxy.
        type: the wire type (``latency``).
        stream: the stream string as the client sent it.
        direction: ``upstream`` (client -> server) or ``downstream`` (server -> client).
        toxicity: probability in [0, 1] that a connection direction gets the toxic.
        toxic: the toxic with its attributes.
        connect_name: glob of the connections' ``CONNECT`` names it targets (``""``: all).
        shared: the toxic's state shared by the proxy's links (new on every update).
    """

    name: str
    type: str
    stream: str
    direction: str
    toxicity: float
    toxic: Toxic
    connect_name: str = ""
    shared: object | None = dataclasses.field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        """Toxiproxy's toxic object, keys in its order."""
        attributes = self.toxic.attributes()
        if self.connect_name:
            attributes["connect_name"] = self.connect_name
        return {
            "attributes": attributes,
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": float32(self.toxicity),
        }


def _toxicity(value: Any) -> float:
    try:
        rounded = float(float32(float(value)))
    except OverflowError:  # Go: a number float32 cannot hold is a decode error
        raise bad_request_body(
            f"json: cannot unmarshal {describe_json_value(value)} into Go struct field "
            "ToxicWrapper.toxicity of type float32"
        ) from None
    if not 0.0 <= rounded <= 1.0:
        raise bad_request_body(f"toxicity must be between 0 and 1, got {value}")
    return rounded


def _attributes(cls: type[Toxic], raw: object, base: Toxic | None) -> Toxic:
    try:
        return cls.from_attributes(raw, base)
    except InvalidAttribute as exc:
        raise bad_request_body(str(exc)) from exc


def _connect_name(raw: object, current: str) -> str:
    """``attributes.connect_name`` if present (keys match case-insensitively, as in Go)."""
    if not isinstance(raw, Mapping):
        return current
    for key, value in raw.items():
        if str(key).lower() != "connect_name" or value is None:
            continue
        if not isinstance(value, str):
            raise bad_request_body(
                f"json: cannot unmarshal {describe_json_value(value)} into Go struct field "
                "ToxicWrapper.attributes.connect_name of type string"
            )
        if any(char in value for char in "\r\n\x00"):
            raise bad_request_body(f"attribute connect_name must be one line, got {brief(value)}")
        if len(value) > MAX_CONNECT_NAME:
            raise bad_request_body(
                f"attribute connect_name must be at most {MAX_CONNECT_NAME} characters, "
                f"got {len(value)}"
            )
        current = value
    return current


def parse_new_toxic(body: object, exists: Callable[[str], bool]) -> ToxicSpec:
    """Build a toxic from a create request body.

    Args:
        body: the decoded JSON body.
        exists: tells whether a toxic name is taken on the proxy (either stream).

    Raises:
        ApiError: 400 (body, stream, type, attributes, toxicity) or 409 (name taken).
    """
    fields = decode_struct(body, "ToxicWrapper", _CREATE_FIELDS)
    stream = fields.get("stream") or "downstream"  # "" as if omitted (the Go client omits it)
    direction = stream.lower()
    if direction not in ("upstream", "downstream"):
        raise invalid_stream()
    type_ = fields.get("type", "")
    name = fields.get("name", "") or f"{type_}_{stream}"
    cls = TOXICS.get(type_)
    if cls is None:
        raise invalid_toxic_type()
    if exists(name):
        raise toxic_already_exists()
    raw = fields.get("attributes")
    toxic = _attributes(cls, raw, None)
    connect_name = _connect_name(raw, "")
    toxicity = _toxicity(fields.get("toxicity", 1.0))
    return ToxicSpec(
        name, type_, stream, direction, toxicity, toxic, connect_name, toxic.new_shared_state()
    )


def parse_toxic_update(spec: ToxicSpec, body: object) -> ToxicSpec:
    """Apply an update body: attributes merge, omitted toxicity keeps its value.

    Unlike Toxiproxy, a body with one bad attribute changes nothing (Go's decoder applies
    the good fields before reporting the bad one).

    Raises:
        ApiError: 400 for a bad body, attribute or toxicity.
    """
    fields = decode_struct(body, "ToxicWrapper", _UPDATE_FIELDS)
    raw = fields.get("attributes")
    toxic = _attributes(type(spec.toxic), raw, spec.toxic)
    connect_name = _connect_name(raw, spec.connect_name)
    toxicity = _toxicity(fields["toxicity"]) if "toxicity" in fields else spec.toxicity
    return dataclasses.replace(
        spec,
        toxic=toxic,
        toxicity=toxicity,
        connect_name=connect_name,
        shared=toxic.new_shared_state(),
    )
