"""Go-style ``host:port`` addresses: parsing, resolution, binding, and Go's error texts.

A proxy's ``listen`` is bound the way Go's ``net.Listen("tcp", addr)`` binds it: a hostname
resolves to its first IPv4 address if it has one (``localhost`` -> ``127.0.0.1``), an empty
or wildcard host becomes a dual-stack ``[::]`` socket (IPv4 ``0.0.0.0`` if the machine has
no IPv6), and the answer reports the bound address (``127.0.0.1:0`` -> ``127.0.0.1:43127``).
Failures carry Go's wording, e.g. ``listen tcp 127.0.0.1:3310: bind: address already in
use``, because clients show that text to users.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket

from harness.proxy._apierror import ApiError

__all__ = ["bind_listener", "format_addr", "resolve_string", "split_host_port"]


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


async def bind_listener(addr: str) -> tuple[socket.socket, str]:
    """Bind and listen on ``addr`` like Go's ``net.Listen("tcp", addr)``.

    Returns:
        The non-blocking listening socket and the bound address as Go prints it.

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
        sock.listen(1024)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        reason = (os.strerror(exc.errno) if exc.errno else str(exc)).lower()
        raise ApiError(f"listen tcp {format_addr(ip, port)}: bind: {reason}", 500) from exc
    bound = sock.getsockname()
    return sock, format_addr(str(bound[0]), int(bound[1]))
