"""Is a raw Ed25519 public key usable? A canonical point on the curve, not of small order.

OpenSSL (and so ``cryptography``) loads any 32 bytes as a public key, the all-zero key
included. Such a key is a point of small order (or no point at all): signatures made "for" it
can be forged without a private key, so the admin API refuses it. The check decodes the point
(RFC 8032 §5.1.3) and multiplies it by the cofactor 8 on the twisted Edwards curve; plain
integer arithmetic, run once per key registration.
"""

from __future__ import annotations

_P = 2**255 - 19
_D = (-121665 * pow(121666, _P - 2, _P)) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)

Point = tuple[int, int]


def _decode(raw: bytes) -> Point | None:
    """Return the affine point of a 32-byte encoding, or ``None`` if it is not one."""
    if len(raw) != 32:
        return None
    encoded = int.from_bytes(raw, "little")
    sign = encoded >> 255
    y = encoded & ((1 << 255) - 1)
    if y >= _P:  # non-canonical encoding
        return None
    u = (y * y - 1) % _P
    v = (_D * y * y + 1) % _P
    x2 = u * pow(v, _P - 2, _P) % _P
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P != 0:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P != 0:
        return None
    if x == 0 and sign:
        return None
    if x % 2 != sign:
        x = _P - x
    return x, y


def _add(a: Point, b: Point) -> Point:
    """Add two points (the twisted Edwards addition law is complete)."""
    (x1, y1), (x2, y2) = a, b
    t = _D * x1 * x2 * y1 * y2 % _P
    x3 = (x1 * y2 + y1 * x2) * pow(1 + t, _P - 2, _P) % _P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, _P - 2, _P) % _P
    return x3, y3


def ed25519_key_problem(hex_key: str) -> str | None:
    """Return why ``hex_key`` is not a usable Ed25519 public key, or ``None`` when it is.

    Args:
        hex_key: the key as 64 hexadecimal characters.
    """
    if len(hex_key) != 64:
        return "must be 64 hexadecimal characters (a raw 32-byte Ed25519 public key)"
    try:
        raw = bytes.fromhex(hex_key)
    except ValueError:
        return "must be 64 hexadecimal characters (a raw 32-byte Ed25519 public key)"
    point = _decode(raw)
    if point is None:
        return "is not a point on the Ed25519 curve"
    for _ in range(3):  # times the cofactor 8
        point = _add(point, point)
    if point == (0, 1):
        return "is a weak key (a point of small order, such as all zeros)"
    return None
