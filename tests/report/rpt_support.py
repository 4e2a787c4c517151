"""Helpers for the report tests: a small DOM from ``html.parser`` and handmade histories."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

from nats_fault_harness.history import History

VOID = {"meta", "link", "br", "img", "input", "hr", "source", "wbr", "area", "base", "col"}


@dataclass
class Node:
    """An element: its tag, attributes, children and text."""

    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    text: str = ""

    def iter(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        out = []
        for node in self.iter():
            if tag is not None and node.tag != tag:
                continue
            if all(_has(node, k.rstrip("_").replace("_", "-"), v) for k, v in attrs.items()):
                out.append(node)
        return out

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def all_text(self) -> str:
        return self.text + "".join(c.all_text() for c in self.children)


def _has(node: Node, key: str, value: str) -> bool:
    if key == "class":
        return value in node.classes()
    return node.attrs.get(key) == value


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return
        raise AssertionError(f"unbalanced </{tag}>")

    def handle_data(self, data: str) -> None:
        self.stack[-1].text += data


def parse_html(text: str) -> Node:
    """Parse ``text``; raises if the tags are unbalanced."""
    builder = _Builder()
    builder.feed(text)
    builder.close()
    assert [n.tag for n in builder.stack] == ["#root"], "unclosed tags at the end"
    return builder.root


class Clock:
    """A settable clock for histories whose times the test chooses."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def sample_history() -> History:
    """Faults on a link and a server, client callbacks, publishes with every fate, retries."""
    clock = Clock()
    h = History(clock=clock)

    def at(t: float) -> None:
        clock.now = 100.0 + t

    at(0.1)
    h.client_event("svc", "connected", {"member": "svc-0"})
    h.proxy_event("connection_opened", {"proxy": "orders-1", "connection": 1})
    for i in range(4):  # delivered
        at(0.2 + i * 0.01)
        h.invoke("svc", "publish", {"id": f"m{i}"}).ok({"id": f"m{i}"})
        h.invoke("observer", "receive", {}).ok({"id": f"m{i}"})
    at(0.5)
    latency = h.fault_started("latency", "link:orders", {"latency": 300})
    at(0.6)
    h.invoke("svc", "publish", {"id": "lost-1"}).ok({"id": "lost-1"})  # confirmed, never seen
    at(0.7)
    op = h.invoke("svc", "publish", {"id": "q-1"})
    op.fail(TimeoutError("nats: timeout"), {"id": "q-1"})
    h.invoke("svc", "queued", {}).ok({"ids": ["q-1"]})
    at(0.8)
    h.client_event("svc", "disconnected", {"member": "svc-0"})
    h.proxy_event(
        "connection_closed", {"proxy": "orders-1", "connection": 1, "reason": "reset_by_api"}
    )
    h.client_event("svc", "group_failed", {"group": "g1", "attempt": 0})
    at(0.9)
    detail = {"group": "g1", "attempt": 1, "delay": 0.1, "failed_at": 0.8, "started_at": 0.9}
    h.client_event("svc", "retry_scheduled", detail)
    at(1.0)
    h.fault_ended(latency)
    kill = h.fault_started("kill", "server:n1", {})
    h.client_event("svc", "reconnected", {"member": "svc-0"})
    at(1.2)
    h.fault_ended(kill)
    h.invoke("svc", "recover", {"attempt": 1}).ok({"ids": ["q-1"]})
    h.invoke("observer", "receive", {}).ok({"id": "q-1"})  # recovered
    h.invoke("observer", "receive", {}).ok({"id": "q-1"})  # a duplicate of a cut id: allowed
    at(1.4)
    h.fault_started("blackhole", "link:orders", {"latency": 3600000})  # never healed
    at(1.5)
    h.client_event("svc", "closed", {"member": "svc-0"})
    return h
