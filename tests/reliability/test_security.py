"""Security defaults: loopback-only listeners, no shell, browsers refused, auth kept."""

from __future__ import annotations

import ast
import asyncio
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import nats
import pytest

from nats_fault_harness.proxy import ProxyProcess, SyncToxiproxyClient
from nats_fault_harness.proxy._fixtures_support import sync_request
from nats_fault_harness.servers import Auth, NatsServer

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it


def listening(pid: int) -> set[str]:
    """``ip:port`` (hex, as in /proc/net/tcp{,6}) of every socket ``pid`` listens on."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.add(fields[1])
    return found


def test_no_shell_anywhere_in_the_package() -> None:
    offenders = []
    for path in sorted((ROOT / "harness" / "nats_fault_harness").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = ast.unparse(node.func)
            if func in (
                "os.system",
                "os.popen",
                "subprocess.getoutput",
                "subprocess.getstatusoutput",
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {func}")
            for kw in node.keywords:
                if kw.arg == "shell" and not (
                    isinstance(kw.value, ast.Constant) and kw.value.value is False
                ):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: shell=")
    assert not offenders, offenders


def test_the_proxy_api_and_its_listeners_bind_loopback_by_default() -> None:
    """The API, and proxies created, populated or moved without a ``listen`` address.

    Toxiproxy binds every interface (``[::]:port``) then; ours binds 127.0.0.1, checked in
    the kernel's socket tables rather than in what the API reports.
    """
    with ProxyProcess() as proxy:
        assert proxy.pid is not None
        api = SyncToxiproxyClient(proxy.url)
        upstream = "127.0.0.1:1"
        created = api.create_proxy("no-listen", upstream, listen="")
        populated = api.populate([{"name": "populated", "upstream": upstream}])
        api.create_proxy("moved", upstream)
        moved = api.update_proxy("moved", listen="")
        raw = sync_request(proxy.url, "POST", "/proxies", {"name": "raw", "upstream": upstream})
        assert raw[0] == 201, raw
        reported = [created.listen, populated[0].listen, moved.listen, raw[1]["listen"]]
        assert all(listen.startswith("127.0.0.1:") for listen in reported), reported
        addresses = listening(proxy.pid)
        api.close()
        assert len(addresses) == 5, addresses  # the API and the 4 proxies
        assert all(a.startswith(LOOPBACK + ":") for a in addresses), addresses
        ports = {int(a.split(":")[1], 16) for a in addresses}
        assert {int(listen.rsplit(":", 1)[1]) for listen in reported} <= ports


def test_every_server_listener_binds_loopback(
    nats_server_factory: Callable[..., NatsServer], nats_cluster_factory: Callable[..., object]
) -> None:
    server = nats_server_factory(jetstream=True)
    assert server.pid is not None
    addresses = listening(server.pid)
    assert len(addresses) == 2, addresses  # clients and monitoring
    assert all(a.startswith(LOOPBACK + ":") for a in addresses), addresses
    cluster = nats_cluster_factory(size=2)
    for node in cluster:  # type: ignore[attr-defined]
        node_addresses = listening(node.pid)
        assert len(node_addresses) == 3, node_addresses  # clients, monitoring, routes
        assert all(a.startswith(LOOPBACK + ":") for a in node_addresses), node_addresses


def test_the_proxy_api_refuses_browsers(toxiproxy: object) -> None:
    url = toxiproxy.url + "/proxies"  # type: ignore[attr-defined]
    request = urllib.request.Request(url, headers={"User-Agent": "Mozilla/5.0 (X11; Linux)"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 403
    assert b"User agent not allowed" in caught.value.read()


def test_an_auth_server_never_falls_back_to_no_auth(
    nats_server_factory: Callable[..., NatsServer],
) -> None:
    server = nats_server_factory(auth=Auth(user="alice", password="s3cret"))

    async def connect(user: str | None) -> bool:
        options = {"user": user, "password": "s3cret"} if user else {}
        try:
            nc = await nats.connect(
                server.url,
                connect_timeout=1,
                allow_reconnect=False,
                max_reconnect_attempts=0,
                **options,
            )
        except Exception:
            return False
        await nc.close()
        return True

    for _ in range(2):  # as started, and again after a restart on the same port
        assert asyncio.run(connect(None)) is False
        assert asyncio.run(connect("alice")) is True
        assert server.varz()["auth_required"] is True
        server.restart()
