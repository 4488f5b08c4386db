"""Which hosts, and which parameters, a request's signature may cover (spec §3.2, §8.6 Q18).

HTX clients disagree on the host they sign. The docs say: the ``Host`` header, port included.
HTX's FAQ tells users whose HTTP library adds the port to sign ``api.hbdm.com:443``; HTX's
official async Python SDK signs the hostname without its port; clients pointed at copytrade
through a proxy or a transport override sign HTX's own hostname. By default every one of these
is accepted:

* the ``Host`` header as sent, and without its port (``127.0.0.1:8080`` → ``127.0.0.1``);
* every configured alias (``api.hbdm.com`` …), and with ``:443`` (or, for an alias configured
  with a port, without it).

``strict`` keeps only the ``Host`` header as sent and the aliases exactly as configured.

HTX's official sync Python SDK signs only the four auth parameters of a GET and sends the
business parameters unsigned. :func:`signed_param_sets` offers that subset as a second
candidate when the server opts in (``accept_unsigned_get_params``): such a GET's business
parameters are then not protected by the signature.
"""

from __future__ import annotations

from copytrade.protocol.signing import AUTH_PARAMS

HTTPS_PORT = "443"


def without_port(host: str) -> str:
    """Return ``host`` without a trailing ``:port`` (IPv6 literals keep their brackets)."""
    if host.startswith("["):
        end = host.find("]")
        return host[: end + 1] if end != -1 else host
    name, sep, port = host.rpartition(":")
    return name if sep and port.isdigit() and ":" not in name else host


def host_candidates(
    host: str, aliases: tuple[str, ...], *, strict: bool = False
) -> tuple[str, ...]:
    """Return the lower-case hosts a signature may cover, the ``Host`` header first.

    Args:
        host: The request's ``Host`` header.
        aliases: The configured hostnames clients may sign instead (``api.hbdm.com`` …).
        strict: Only the header as sent and the aliases as configured.

    Returns:
        Distinct candidates in the order they are tried.
    """
    sent = host.lower()
    found = [sent]
    if not strict:
        found.append(without_port(sent))
    for alias in (a.lower() for a in aliases):
        found.append(alias)
        if strict:
            continue
        bare = without_port(alias)
        found.append(f"{alias}:{HTTPS_PORT}" if bare == alias else bare)
    return tuple(dict.fromkeys(h for h in found if h))


def signed_param_sets(
    method: str, params: list[tuple[str, str]], *, accept_unsigned_get_params: bool = False
) -> list[list[tuple[str, str]]]:
    """Return the parameter lists a signature may cover, every query parameter first.

    Args:
        method: The HTTP method.
        params: The query parameters, ``Signature`` excluded.
        accept_unsigned_get_params: Also accept a GET signed over the four auth parameters
            only (HTX's official sync SDK), when it carries other parameters.

    Returns:
        One or two lists of (name, value) pairs.
    """
    sets = [params]
    if accept_unsigned_get_params and method.upper() == "GET":
        auth_only = [(k, v) for k, v in params if k in AUTH_PARAMS]
        if len(auth_only) != len(params):
            sets.append(auth_only)
    return sets
