"""Exhaustive proof that a held port is never autobound: every free port is taken, but not it.

The other port tests grab a few thousand of the ~28,000 ephemeral ports, so a regression
would only show by chance. Here a child runs in its own network namespace (``unshare -rn``:
a user namespace needs no privilege) whose ephemeral range is narrowed to 200 ports. With a
link down and a server killed, it takes *every* port autobinding can give, by ``bind()`` to
port 0 (listening or not, with and without ``SO_REUSEADDR``) and by ``connect()``, until the
kernel says ``EADDRINUSE`` / ``EADDRNOTAVAIL``; none of the held ports may be among them,
while a port freed without a placeholder (the control) must be. Then the server restarts and
the link heals on the same ports and carries a NATS round trip. Skipped where user
namespaces are not allowed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent(
    r"""
    import errno, fcntl, json, socket, struct, sys
    from nats_fault_harness.proxy import ProxyProcess, SyncToxiproxyClient
    from nats_fault_harness.servers import NatsServer

    sys.path.insert(0, sys.argv[1])
    from port_grabs import nats_ping

    # Loopback up (SIOCGIFFLAGS / SIOCSIFFLAGS, IFF_UP) and a 200-port ephemeral range.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        flags = struct.unpack("16sH", fcntl.ioctl(s, 0x8913, struct.pack("16sH", b"lo", 0)))[1]
        fcntl.ioctl(s, 0x8914, struct.pack("16sH", b"lo", flags | 1))
    with open("/proc/sys/net/ipv4/ip_local_port_range", "w") as f:
        f.write("40000 40199")

    def exhaust_binds(reuse, listen):
        socks, got = [], set()
        while True:
            s = socket.socket()
            if reuse:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", 0))
            except OSError as exc:
                s.close()
                last = errno.errorcode[exc.errno]
                break
            socks.append(s)
            if listen:
                s.listen(1)
            got.add(s.getsockname()[1])
        for s in socks:
            s.close()
        return got, last

    def exhaust_connects():
        target = socket.create_server(("127.0.0.1", 5555), backlog=1024)  # outside the range
        socks, got = [], set()
        while True:
            s = socket.socket()
            try:
                s.connect(("127.0.0.1", 5555))
            except OSError as exc:
                s.close()
                last = errno.errorcode[exc.errno]
                break
            socks.append(s)
            got.add(s.getsockname()[1])
        for s in socks:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        target.close()
        return got, last

    result = {}
    with NatsServer() as server, ProxyProcess() as proc, SyncToxiproxyClient(proc.url) as api:
        link = api.create_proxy("link", f"127.0.0.1:{server.port}", listen="127.0.0.1:0")
        held = {"link": link.port, "client": server.port, "monitoring": server.monitor_port}
        control = socket.create_server(("127.0.0.1", 0))  # freed with no placeholder
        held_control = control.getsockname()[1]
        control.close()
        api.update_proxy("link", enabled=False)
        server.kill()
        for name, (reuse, listen) in {
            "bind": (False, False), "bind_reuse": (True, False),
            "listen": (False, True), "listen_reuse": (True, True),
        }.items():
            got, last = exhaust_binds(reuse, listen)
            result[name] = {"count": len(got), "last": last,
                            "held_taken": sorted(p for p in held.values() if p in got),
                            "control_taken": held_control in got}
        got, last = exhaust_connects()
        result["connect"] = {"count": len(got), "last": last,
                             "held_taken": sorted(p for p in held.values() if p in got),
                             "control_taken": held_control in got}
        server.start()
        api.update_proxy("link", enabled=True)
        nats_ping(link.port)
        result["after"] = {"link": api.get_proxy("link").port, "client": server.port,
                           "monitoring": server.monitor_port}
        result["held"] = held
    print(json.dumps(result))
    """
)


def _unshare() -> str:
    if not sys.platform.startswith("linux"):
        pytest.skip("network namespaces are Linux-only")
    path = shutil.which("unshare")
    if path is None:
        pytest.skip("no unshare(1) (util-linux)")
    probe = subprocess.run([path, "-rn", "true"], capture_output=True, text=True, timeout=10)
    if probe.returncode != 0:
        pytest.skip(f"user + network namespaces not allowed here: {probe.stderr.strip()}")
    return path


def test_no_autobind_gets_a_held_port_even_when_every_port_is_taken() -> None:
    unshare = _unshare()
    here = str(__import__("pathlib").Path(__file__).parent)
    done = subprocess.run(
        [unshare, "-rn", sys.executable, "-c", CHILD, here],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    for how in ("bind", "bind_reuse", "listen", "listen_reuse", "connect"):
        seen = result[how]
        # Exhausted: the kernel ran out of ports, having given every one it could.
        assert seen["last"] == ("EADDRNOTAVAIL" if how == "connect" else "EADDRINUSE"), seen
        assert seen["count"] >= 150, seen
        assert seen["held_taken"] == [], (how, seen)
        assert seen["control_taken"], (how, seen)  # a port freed without a placeholder is
    assert result["after"] == result["held"]
