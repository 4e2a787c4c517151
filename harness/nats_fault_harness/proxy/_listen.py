"""Go-style ``host:port`` addresses: parsing, resolution, binding, and Go's error texts.

A proxy's ``listen`` is bound the way Go's ``net.Listen("tcp", addr)`` binds it: a hostname
resolves to its first IPv4 address if it has one (``localhost`` -> ``127.0.0.1``), an empty
or wildcard host becomes a dual-stack ``[::]`` socket (IPv4 ``0.0.0.0`` if the machine has
no IPv6), and the answer reports the bound address (``127.0.0.1:0`` -> ``127.0.0.1:43127``).
Failures carry Go's wording, e.g. ``listen tcp 127.0.0.1:3310: bind: address already in
use``, because clients show that text to users.

Binding takes two sockets, so that a disabled proxy keeps its port (Toxiproxy frees it):
:func:`reserve` binds a *placeholder* (``SO_REUSEADDR``, bound, never listening) where Go
would bind, and :func:`listen_on` binds and listens a second ``SO_REUSEADDR`` socket on the
placeholder's exact address. Closing the listener leaves the placeholder, and Linux then
(measured on 6.x, see ``tests/faults/test_link_ports.py``):

* refuses connections to the port (no socket there listens), as a disabled Toxiproxy does;
* never hands the port to an autobind: a ``bind()`` to port 0 and the source port of a
  ``connect()`` skip a port that has an explicitly bound socket, ``SO_REUSEADDR`` or not;
* fails an explicit ``bind()`` of the port without ``SO_REUSEADDR`` (``EADDRINUSE``);
* lets the next :func:`listen_on` bind and listen there again, because two
  ``SO_REUSEADDR`` sockets may share an address as long as neither listens.

What the placeholder cannot stop is another program binding that exact port *with*
``SO_REUSEADDR`` and listening on it (Go's ``net.Listen`` sets the option): someone who
names the port explicitly gets it, as they would from Toxiproxy.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket

from nats_fault_harness.proxy._apierror import ApiError

__all__ = ["bound_addr", "format_addr", "listen_on", "reserve", "resolve_string", "split_host_port"]


class AddressError(ValueError):
    """A malformed ``host:port`` (message in Go's words, without the op prefix)."""


def split_host_port(addr: str) -> tuple[str, int]:
    """Split ``host:port`` like Go's ``net.SplitHostPort`` (numeric ports only).

    Raises:
        AddressError: missing port, too many colons, bad brackets, invalid port.
    """
    if addr.startswith("["):
        end = addr.find("]")
        if end < 0:
            raise AddressError(f"address {addr}: missing ']' in address")
        host, rest = addr[1:end], addr[end + 1 :]
        if not rest.startswith(":"):
            raise AddressError(f"address {addr}: missing port in address")
        port_text = rest[1:]
    else:
        if ":" not in addr:
            raise AddressError(f"address {addr}: missing port in address")
        host, port_text = addr.rsplit(":", 1)
        if ":" in host:
            raise AddressError(f"address {addr}: too many colons in address")
    if "\x00" in host:  # the C resolver cannot take it; Go's lookup fails the same way
        raise AddressError(f"lookup {host}: no such host")
    if port_text == "":
        return host, 0
    if not (port_text.isascii() and port_text.isdigit()):  # "١" is a digit to Python
        raise AddressError(f"lookup tcp/{port_text}: unknown port")
    port = int(port_text)
    if port > 65535:
        raise AddressError(f"address {port_text}: invalid port")
    return host, port


def format_addr(ip: str, port: int) -> str:
    """``ip:port`` for IPv4, ``[ip]:port`` for IPv6, ``:port`` for no host (Go's form)."""
    if ":" in ip:
        return f"[{ip}]:{port}"
    return f"{ip}:{port}"


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


async def _resolve_host(host: str) -> str:
    """The address Go would pick for ``host``: the literal, else the first IPv4, else IPv6."""
    if _literal(host) is not None:
        return host
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        # UnicodeError: a name IDNA cannot encode (a label empty or over 63 characters)
        raise AddressError(f"lookup {host}: no such host") from exc
    ipv4 = [info[4][0] for info in infos if info[0] == socket.AF_INET]
    ipv6 = [info[4][0] for info in infos if info[0] == socket.AF_INET6]
    if not ipv4 and not ipv6:
        raise AddressError(f"lookup {host}: no such host")
    return str((ipv4 or ipv6)[0])


async def resolve_string(addr: str) -> str:
    """Go's ``net.ResolveTCPAddr("tcp", addr).String()``, used to compare listen addresses.

    Raises:
        ApiError: 500 with Go's text if ``addr`` is malformed or does not resolve.
    """
    if addr == "":
        return ":0"
    try:
        host, port = split_host_port(addr)
        ip = await _resolve_host(host) if host else ""
    except AddressError as exc:
        raise ApiError(str(exc), 500) from exc
    return format_addr(ip, port)


def _wildcard_socket(port: int) -> tuple[socket.socket, tuple[str, int]]:
    if socket.has_ipv6:
        try:
            sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        except OSError:
            pass
        else:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            return sock, ("::", port)
    return socket.socket(socket.AF_INET, socket.SOCK_STREAM), ("0.0.0.0", port)


def _bind_error(ip: str, port: int, exc: OSError) -> ApiError:
    reason = (os.strerror(exc.errno) if exc.errno else str(exc)).lower()
    return ApiError(f"listen tcp {format_addr(ip, port)}: bind: {reason}", 500)


async def reserve(addr: str) -> socket.socket:
    """Bind a placeholder for ``addr`` where Go's ``net.Listen("tcp", addr)`` would bind.

    The placeholder has ``SO_REUSEADDR`` and never listens: it holds the port (port 0 gets
    a kernel-chosen one) until it is closed; :func:`listen_on` listens on its address.

    Returns:
        The bound, non-listening socket.

    Raises:
        ApiError: 500 with Go's error text (bad address, failed lookup, bind error).
    """
    try:
        host, port = split_host_port(addr) if addr else ("", 0)
        ip = await _resolve_host(host) if host else ""
    except AddressError as exc:
        raise ApiError(f"listen tcp: {exc}", 500) from exc
    literal = _literal(ip) if ip else None
    if literal is None or literal.is_unspecified:
        sock, sockaddr = _wildcard_socket(port)
    else:
        family = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
        sock, sockaddr = socket.socket(family, socket.SOCK_STREAM), (ip, port)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
    except OSError as exc:
        sock.close()
        raise _bind_error(ip, port, exc) from exc
    return sock


def bound_addr(sock: socket.socket) -> str:
    """The address ``sock`` is bound to, as Go prints it (``127.0.0.1:43127``, ``[::]:80``)."""
    bound = sock.getsockname()
    return format_addr(str(bound[0]), int(bound[1]))


def listen_on(placeholder: socket.socket) -> socket.socket:
    """Bind and listen a new socket on ``placeholder``'s address (same family and options).

    Returns:
        The non-blocking listening socket.

    Raises:
        ApiError: 500 with Go's error text, e.g. when another ``SO_REUSEADDR`` socket
            listens on the port.
    """
    bound = placeholder.getsockname()
    sock = socket.socket(placeholder.family, socket.SOCK_STREAM)
    try:
        if placeholder.family == socket.AF_INET6:
            v6only = placeholder.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(bound)
        sock.listen(1024)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise _bind_error(str(bound[0]), int(bound[1]), exc) from exc
    return sock
