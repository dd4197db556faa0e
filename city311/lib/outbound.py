"""The one way city311 makes an HTTP request to an address someone typed.

Webhook endpoints, Open311 forwarding servers and photo links are addresses an administrator or
an application gave. Unchecked, they would let whoever typed them make this server read the
city's own network: its database's admin page, a router, the cloud's metadata service at
169.254.169.254 that hands out the server's credentials (server-side request forgery). So every
such request goes through `Client`, which:

- resolves the host once and checks every address it resolves to: loopback, private (RFC 1918,
  RFC 6598), unique-local IPv6, link-local (with the metadata service), multicast, unspecified
  and other special-purpose addresses are refused, also when written as IPv4-mapped IPv6
  (::ffff:127.0.0.1), NAT64 or 6to4;
- connects to the address it checked, not to the name: a second DNS answer cannot swap in an
  internal address between the check and the connection (DNS rebinding). The request keeps the
  name in its Host header, and TLS keeps it for SNI and for checking the certificate;
- checks each hop of a redirect the same way (callers that must not follow any say so);
- ignores the environment's proxies (a proxy would connect wherever it liked).

An endpoint an administrator marked as on the city's network (`internal=True`) may use
loopback, private and unique-local addresses for its own host; never link-local, multicast or
unspecified ones, where no receiver lives. Networks in CITY311_OUTBOUND_TRUSTED_NETWORKS are
allowed for everyone.

The pinning works through requests' own hook for subclassing its adapter
(`build_connection_pool_key_attributes`, requests 2.32.2+), as saleor/requests-hardened does;
that library is not used itself because it checks only the first address, allows no per-endpoint
trust and has no resolver a test can answer without DNS. `advocate` pins urllib3 below 2.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.forms import ModelForm
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.util.connection import allowed_gai_family

from city311.lib import outbox

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_REDIRECTS = 5


class Refused(requests.ConnectionError):
    """The guard did not connect. Its message says why for a person, without the URL (whose
    path or query may hold a token); `fix` adds what an administrator can do."""

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.fix = fix


@dataclass(frozen=True)
class Kind:
    """A kind of address that is not public, and whether an endpoint marked internal may use it."""

    label: Any  # a lazy translation
    internal_ok: bool


LOOPBACK = Kind(gettext_lazy("a loopback address (this server itself)"), True)
PRIVATE = Kind(gettext_lazy("a private address"), True)
UNIQUE_LOCAL = Kind(gettext_lazy("a unique-local IPv6 address (private)"), True)
METADATA = Kind(
    gettext_lazy("the cloud metadata address, which hands out server credentials"), False
)
LINK_LOCAL = Kind(gettext_lazy("a link-local address"), False)
MULTICAST = Kind(gettext_lazy("a multicast address"), False)
UNSPECIFIED = Kind(gettext_lazy("an unspecified address"), False)
RESERVED = Kind(gettext_lazy("a reserved or special-purpose address"), False)

_PRIVATE = [
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
]
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def unwrap(address: Address) -> Address:
    """The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4), else the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.sixtofour:
            return address.sixtofour
    return address


def kind_of(address: Address) -> Kind | None:
    """What kind of non-public address this is; None for a public one."""
    address = unwrap(address)
    if address in _METADATA:
        return METADATA
    if address.is_loopback:
        return LOOPBACK
    if address.is_unspecified:
        return UNSPECIFIED
    if address.is_link_local:
        return LINK_LOCAL
    if address.is_multicast:
        return MULTICAST
    if isinstance(address, ipaddress.IPv4Address) and any(address in n for n in _PRIVATE):
        return PRIVATE
    if isinstance(address, ipaddress.IPv6Address) and address in ipaddress.ip_network("fc00::/7"):
        return UNIQUE_LOCAL
    # Python's is_global misses some of IPv6's reserved space (::/8 holds IPv4-compatible
    # addresses such as ::127.0.0.1), hence is_reserved too.
    if not address.is_global or address.is_reserved or address.is_private:
        return RESERVED
    return None


def trusted(address: Address) -> bool:
    """In CITY311_OUTBOUND_TRUSTED_NETWORKS (the address or the IPv4 one it carries)."""
    candidates = {address, unwrap(address)}
    return any(
        a in network
        for network in map(ipaddress.ip_network, settings.CITY311_OUTBOUND_TRUSTED_NETWORKS)
        for a in candidates
        if a.version == network.version
    )


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system's resolver gives for `host`, in its order of preference."""
    infos = socket.getaddrinfo(host, port, family=allowed_gai_family(), type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)]


def _literal(host: str) -> Address | None:
    """The address `host` is written as (127.0.0.1, [::1]), or None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[Address]:
    """`host`'s addresses, through CITY311_OUTBOUND_RESOLVER; OSError when it has none."""
    host = host.strip("[]")
    if literal := _literal(host):
        return [literal]
    resolver: Callable[[str, int], list[str]] = import_string(settings.CITY311_OUTBOUND_RESOLVER)
    addresses = [ipaddress.ip_address(a.split("%")[0]) for a in resolver(host, port)]
    if not addresses:
        raise socket.gaierror(f"{host} has no address")
    return addresses


def refusal(host: str, address: Address, kind: Kind) -> Refused:
    """Why `host` is not reached, and what an administrator can do about it."""
    if _literal(host) == address:
        where = _("%(address)s is %(kind)s") % {"address": host.strip("[]"), "kind": kind.label}
    else:
        where = _("%(host)s resolves to %(address)s, %(kind)s") % {
            "host": host,
            "address": address,
            "kind": kind.label,
        }
    if kind.internal_ok:
        return Refused(
            _("%(where)s, inside the city's own network: city311 sends only to public addresses.")
            % {"where": where},
            _(
                "Use the receiver's public address or, if it is one of the city's own systems, "
                "tick “On the city's network”."
            ),
        )
    return Refused(
        _("%(where)s: city311 never sends there.") % {"where": where},
        _("Use the receiver's public address."),
    )


def pin(host: str, port: int, *, internal: bool = False) -> str:
    """The address to connect to for `host`: every address it resolves to is checked.

    Refused when one of them may not be reached (with `internal`, private and loopback ones
    may); requests.ConnectionError when the name does not resolve.
    """
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as e:
        raise requests.ConnectionError(
            _("%(host)s could not be resolved (%(error)s).")
            % {"host": host, "error": type(e).__name__}
        ) from None
    for address in addresses:
        kind = kind_of(address)
        if kind is None or trusted(address) or (internal and kind.internal_ok):
            continue
        raise refusal(host, address, kind)
    return str(addresses[0])


def check_url(url: str, *, internal: bool = False) -> None:
    """For a form: ValidationError when `url`'s host is, or resolves to, an address the guard
    refuses. A name that does not resolve now passes (the check is made again at each send)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(_("Enter a web address starting with http:// or https://."))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        pin(parts.hostname, port, internal=internal)
    except Refused as e:
        raise ValidationError(f"{e} {e.fix}", code="internal_address") from None
    except (requests.ConnectionError, ValueError):
        return


def internal_field() -> models.BooleanField[bool, bool]:
    """The box an administrator ticks for a receiver on the city's own network (a webhook
    endpoint, a forwarding server): its address may then be private or loopback."""
    return models.BooleanField(
        gettext_lazy("on the city's network"),
        default=False,
        help_text=gettext_lazy(
            "Tick only for one of the city's own systems at a private or loopback address. "
            "Otherwise city311 refuses such addresses, and always refuses link-local ones."
        ),
    )


class AddressForm(ModelForm):
    """An admin's form for a receiver (a webhook endpoint, a forwarding server): its address to
    post to, the field `address_field`, checked as `check_url` does with the form's `internal`
    box; what is wrong is said on the field."""

    address_field = "url"

    def clean(self) -> dict[str, Any]:
        super().clean()
        url = self.cleaned_data.get(self.address_field)
        if url:
            try:
                check_url(url, internal=bool(self.cleaned_data.get("internal")))
            except ValidationError as e:
                self.add_error(self.address_field, e)
        return self.cleaned_data


class GuardedAdapter(HTTPAdapter):
    """requests' adapter, connecting to the checked address of each request's host.

    `internal_host`: the one host name allowed on the city's network (an endpoint an
    administrator marked internal); a redirect elsewhere is checked as any other host.
    """

    def __init__(self, *, internal_host: str = "") -> None:
        super().__init__()
        self.internal_host = internal_host.lower()

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        name = host_params["host"]
        scheme = host_params["scheme"]
        port = host_params["port"] or (443 if scheme == "https" else 80)
        address = pin(name, port, internal=bool(name) and name.lower() == self.internal_host)
        # The request names its host as typed; the connection goes to the address checked. A
        # copy of the headers: a redirect's request carries its predecessor's.
        request.headers = CaseInsensitiveDict(request.headers)
        request.headers["Host"] = urlsplit(str(request.url)).netloc.rpartition("@")[2]
        if scheme == "https":
            # SNI and the certificate's check use the name, not the address.
            pool_kwargs["server_hostname"] = name.strip("[]")
            pool_kwargs["assert_hostname"] = name.strip("[]")
        host_params["host"] = address
        return host_params, pool_kwargs


@contextmanager
def answer_or_try_later() -> Iterator[None]:
    """Around an outbox's post: a refused address or no answer is `outbox.TryLater` with the
    destination down, so its other rows wait for their backoff instead of each waiting out the
    timeout now. The error names the exception's type only: its text quotes the URL, which may
    hold a token."""
    try:
        yield
    except Refused as e:
        # The host is (now) on the city's network: tried again on the schedule, in case DNS
        # or the address is put right; the error says what the administrator can do.
        raise outbox.TryLater(f"refused: {e}", down=True) from None
    except requests.RequestException as e:
        # Refused, reset, timed out: the receiver is down or hangs.
        raise outbox.TryLater(f"no answer: {type(e).__name__}", down=True) from None


class Client:
    """Guarded requests: `client.post(url, internal=endpoint.internal, ...)`.

    One session (with its kept-alive connections) for public hosts, one per host marked
    internal. Use it as a context manager, or call `close()`.
    """

    def __init__(self) -> None:
        self._sessions: dict[str, requests.Session] = {}

    def session(self, url: str, *, internal: bool = False) -> requests.Session:
        host = (urlsplit(url).hostname or "").lower() if internal else ""
        if host not in self._sessions:
            session = requests.Session()
            session.trust_env = False  # no proxy, no .netrc from the environment
            session.max_redirects = MAX_REDIRECTS
            session.verify = settings.CITY311_OUTBOUND_CA_BUNDLE or True
            adapter = GuardedAdapter(internal_host=host)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._sessions[host] = session
        return self._sessions[host]

    def request(
        self, method: str, url: str, *, internal: bool = False, **kwargs: Any
    ) -> requests.Response:
        scheme = urlsplit(url).scheme.lower()
        if scheme not in ("http", "https"):
            raise Refused(_("Only http:// and https:// addresses are fetched."))
        return self.session(url, internal=internal).request(method, url, **kwargs)

    def get(self, url: str, *, internal: bool = False, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, internal=internal, **kwargs)

    def post(self, url: str, *, internal: bool = False, **kwargs: Any) -> requests.Response:
        return self.request("POST", url, internal=internal, **kwargs)

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()
        self._sessions.clear()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
