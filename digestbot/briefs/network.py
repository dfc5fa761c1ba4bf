"""Where feed fetches may connect: public addresses only, checked on the address used.

A feed URL comes from an admin, a ``FEED_URLS`` entry or a publisher's redirect, so
fetching it must not reach the bot's own machine or network (SSRF): loopback,
private, link-local (cloud metadata at 169.254.169.254), reserved addresses.
Checking the host name before the request is not enough: a name can resolve to a
public address for the check and a private one for the connection (DNS
rebinding). So :class:`GuardedBackend` resolves each host itself, checks every
address, and connects to the address it checked; TLS still verifies, and SNI and
``Host`` still name, the host in the URL. It sits under httpx as the network
backend of :class:`GuardedTransport`, so every redirect hop goes through it too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
"""(host, port) -> its addresses; :func:`system_resolver` unless a test injects one."""


class AddressRefused(Exception):
    """A host resolved to an address feeds may not be fetched from."""

    def __init__(self, host: str, address: IPAddress, kind: str) -> None:
        shown = host if _is_literal(host, address) else f"{host} ({address})"
        article = "an" if kind[0] in "aeiou" else "a"
        self.reason = f"refused to connect to {shown}: {article} {kind} address"
        super().__init__(self.reason)


def _is_literal(host: str, address: IPAddress) -> bool:
    """Whether ``host`` is ``address`` written out (then naming it twice says nothing)."""
    try:
        return ipaddress.ip_address(host) == address
    except ValueError:
        return False


def address_class(address: IPAddress) -> str | None:
    """Why ``address`` is not public (``"loopback"``, ``"private"``, ...), or None when it is."""
    # ::ffff:127.0.0.1 reaches 127.0.0.1; judge the IPv4 address it carries.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    # 6to4 (2002::/16) carries an IPv4 address too, reached through a relay: judge that.
    sixtofour = address.sixtofour if isinstance(address, ipaddress.IPv6Address) else None
    if sixtofour is not None and (inner := address_class(sixtofour)) is not None:
        return inner
    # Most specific first: 127.0.0.1 and 0.0.0.0 are also "private" to ipaddress.
    for kind, matches in (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),  # 240.0.0.0/4 is also "private" to ipaddress
        ("private", address.is_private),
    ):
        if matches:
            return kind
    # The rest ipaddress knows as not global, e.g. 100.64.0.0/10 (carrier-grade NAT).
    return None if address.is_global else "non-public"


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (the operating system's resolver, off the loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to addresses it resolved and checked."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        trusted: Iterable[IPAddress] = (),
        resolver: Resolver = system_resolver,
    ) -> None:
        self._allow_private = allow_private
        self._trusted = frozenset(trusted)
        self._resolver = resolver
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._resolve(host, port, timeout)
        if not self._allow_private:
            for address in addresses:
                kind = address_class(address)
                # One bad address refuses the host: which one the OS would pick is not ours.
                if kind is not None and address not in self._trusted:
                    raise AddressRefused(host, address, kind)
        error: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:  # try the host's next address
                error = exc
        assert error is not None  # _resolve never returns an empty list
        raise error

    async def _resolve(self, host: str, port: int, seconds: float | None) -> list[IPAddress]:
        # Errors as httpcore's own, so httpx reports them like any connect failure.
        try:
            async with asyncio.timeout(seconds):
                addresses = await self._resolver(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except (OSError, ValueError) as exc:  # socket.gaierror is an OSError
            raise httpcore.ConnectError(str(exc)) from exc
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no address") from socket.gaierror(
                socket.EAI_NONAME, "no address"
            )
        return addresses

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("feeds are fetched over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, its connections opened by a :class:`GuardedBackend`.

    Given as ``transport=``, it also keeps httpx from using proxies from the
    environment, which would make the checked address the proxy's.
    """

    def __init__(self, backend: GuardedBackend) -> None:
        super().__init__()
        # httpx 0.28 takes no network backend (encode/httpx#3749), so its pool is
        # replaced with an equal one that has ours (the same defaults as httpx's).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=backend,
        )
