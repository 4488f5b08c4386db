"""Declare an HTX structure once; render it (server) and parse it (SDK) generically.

A structure is a frozen dataclass whose attributes are HTX's field names, in HTX's key order,
typed with the values the program uses (``Decimal``, enums, ``int``). Each attribute says how it
travels with :func:`wire`::

    @structure
    class ProfitTotal(Struct):
        profit_currency: str = wire(STR)
        total_profit_amount: Decimal = wire(DEC18, "total_profit_amont")

* the **kind** (:class:`Kind`) renders the value (``Decimal`` -> ``"2.5"``) and parses what HTX
  may send (``"2.5"``, ``2.5``, ``"null"``);
* **aliases** are other names the parser accepts (HTX's misspelt ``*_amont``);
* ``X | None`` in the annotation makes a field optional: ``None`` renders as ``null``, and the
  parser gives ``None`` for an absent field, ``null``, ``""`` or ``"null"``.

:func:`render` turns an instance into the JSON-ready dict; :meth:`Struct.from_wire` builds one
from a decoded JSON object (raising :class:`WireFormatError`). Whole replies (``data`` of an
endpoint: a flag, an object, a list, a page) are declared in :mod:`copytrade.protocol.replies`.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

from copytrade.protocol.decimals import fmt, fmt_fixed18, fmt_trunc18, parse_decimal_text

__all__ = [
    "BOOL",
    "DEC",
    "DEC18",
    "FIXED18",
    "ID",
    "INT",
    "INT_STR",
    "STR",
    "Kind",
    "Struct",
    "WireFormatError",
    "render",
    "structure",
    "to_decimal",
    "to_int",
    "wire",
]

S = TypeVar("S", bound="Struct")


class WireFormatError(ValueError):
    """A reply field is missing or has a type the spec does not allow."""


_NULLS = (None, "", "null")


def to_decimal(value: Any, what: str = "value") -> Decimal | None:
    """Convert a wire decimal (string, integer or ``Decimal``) to ``Decimal``; nulls give None."""
    if value in _NULLS:
        return None
    if isinstance(value, bool):
        raise WireFormatError(f"{what}: expected a decimal, got a boolean")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        parsed = parse_decimal_text(value.strip())
        if parsed is not None:
            return parsed
    raise WireFormatError(f"{what}: not a decimal: {value!r}")


def to_int(value: Any, what: str = "value") -> int | None:
    """Convert a wire integer (number or digit string) to ``int``; nulls give None."""
    if value in _NULLS:
        return None
    if isinstance(value, bool):
        raise WireFormatError(f"{what}: expected an integer, got a boolean")
    if isinstance(value, int):
        return int(value)
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise WireFormatError(f"{what}: not an integer: {value!r}")


def to_str(value: Any, what: str = "value") -> str | None:
    """Convert a wire string or id (a JSON string or number) to ``str``; ``null`` gives None."""
    if value is None:
        return None
    if isinstance(value, bool | Mapping | list):
        raise WireFormatError(f"{what}: not a string: {value!r}")
    return str(value)


def to_bool(value: Any, what: str = "value") -> bool | None:
    """Convert a JSON boolean (or ``"true"``/``"false"``) to ``bool``; nulls give None."""
    if value in _NULLS:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise WireFormatError(f"{what}: expected a boolean, got {value!r}")


def _same(value: Any) -> Any:
    return value


@dataclasses.dataclass(frozen=True, slots=True)
class Kind:
    """How a field travels: its JSON form (``render``) and what the SDK accepts (``parse``).

    Attributes:
        name: What the JSON value is, for people (``"decimal string, truncated at 18"``).
        render: Program value -> JSON value (never called with ``None``).
        parse: ``(JSON value, field name)`` -> program value or ``None`` for a null.
    """

    name: str
    render: Callable[[Any], Any]
    parse: Callable[[Any, str], Any]


DEC = Kind("decimal string, exact, no trailing zeros", fmt, to_decimal)
DEC18 = Kind("decimal string, truncated at 18 places", fmt_trunc18, to_decimal)
FIXED18 = Kind("decimal string with exactly 18 places", fmt_fixed18, to_decimal)
INT = Kind("integer", _same, to_int)
INT_STR = Kind("integer as a string", str, to_int)
STR = Kind("string", _same, to_str)
ID = Kind("id: a string of digits (the SDK accepts a number)", str, to_str)
BOOL = Kind("boolean", _same, to_bool)


def enum_kind(cls: type[enum.Enum]) -> Kind:
    """Return the kind of an enum field: its wire value, compared exactly."""
    members = {m.value: m for m in cls}

    def parse(value: Any, what: str) -> Any:
        if value in _NULLS:
            return None
        member = None
        if isinstance(value, str | int) and not isinstance(value, bool):
            member = members.get(value)
            if member is None and isinstance(value, str):  # "2" for an integer code, " long"
                text = value.strip()
                member = members.get(int(text)) if text.isdigit() else members.get(text)
        if member is None:
            raise WireFormatError(f"{what}: not a {cls.__name__}: {value!r}")
        return member

    return Kind(f"enum {cls.__name__}", _enum_value, parse)


def _enum_value(member: enum.Enum) -> Any:
    return member.value


def struct_list_kind(cls: type[Struct]) -> Kind:
    """Return the kind of a field holding an array of structures (absent: empty)."""

    def parse(value: Any, what: str) -> tuple[Any, ...]:
        return tuple(cls.from_wire(item) for item in as_list(value, what))

    return Kind(f"array of {cls.__name__}", lambda items: [render(i) for i in items], parse)


def wire(
    kind: Kind | None = None,
    *aliases: str,
    name: str | None = None,
    reader: Callable[[Mapping[str, Any]], Any] | None = None,
) -> Any:  # typed Any as dataclasses.field is: the field's value type is its annotation
    """Declare a structure field: its kind, aliases the SDK accepts, and an optional reader.

    Args:
        kind: How the value travels; ``None`` when the annotation says it (an enum, a tuple of
            structures).
        *aliases: Other names HTX uses for the field (the first present one is read).
        name: The JSON key when it is not the attribute's name (``"instId"`` for ``inst_id``).
        reader: Reads the field from the whole object instead of ``kind.parse``, for a quirk
            that depends on another field (``open_orders.order_direction``).
    """
    return dataclasses.field(metadata={"wire": (kind, aliases, name, reader)})


@typing.dataclass_transform(field_specifiers=(wire,), frozen_default=True)
def structure(cls: type[S]) -> type[S]:
    """Make ``cls`` a declared structure: a frozen dataclass with slots, fields from :func:`wire`.

    Type checkers see the fields' :func:`wire` calls as field declarations (no default), so a
    structure built without one of its fields is a type error.
    """
    return dataclasses.dataclass(frozen=True, slots=True)(cls)


def as_object(value: Any, what: str) -> Mapping[str, Any]:
    """Return ``value`` if it is a JSON object, else raise :class:`WireFormatError`."""
    if not isinstance(value, Mapping):
        raise WireFormatError(f"{what}: expected an object, got {type(value).__name__}")
    return value


def as_list(value: Any, what: str) -> list[Any]:
    """Return ``value`` if it is a JSON array (``null`` gives ``[]``), else raise."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise WireFormatError(f"{what}: expected an array, got {type(value).__name__}")
    return value


@dataclasses.dataclass(frozen=True, slots=True)
class _Field:
    name: str  # the attribute
    keys: tuple[str, ...]  # the JSON key, then the aliases
    kind: Kind
    optional: bool
    reader: Callable[[Mapping[str, Any]], Any] | None


@dataclasses.dataclass(frozen=True, slots=True)
class _Plan:
    fields: tuple[_Field, ...]
    renders: tuple[tuple[str, str, Callable[[Any], Any], bool], ...]


_PLANS: dict[type, _Plan] = {}


def _kind_for(hint: Any, declared: Kind | None, where: str) -> Kind:
    if declared is not None:
        return declared
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return enum_kind(hint)
    args = typing.get_args(hint)
    nested = args[0] if typing.get_origin(hint) is tuple and args else None
    if isinstance(nested, type) and issubclass(nested, Struct):
        return struct_list_kind(nested)
    defaults: dict[Any, Kind] = {str: STR, int: INT, bool: BOOL}
    if hint in defaults:
        return defaults[hint]
    raise TypeError(f"{where}: say the wire kind (DEC, DEC18, FIXED18, ...) of {hint!r}")


def plan(cls: type) -> _Plan:
    """Return (and remember) how to render and parse the structure ``cls``."""
    found = _PLANS.get(cls)
    if found is not None:
        return found
    hints = typing.get_type_hints(cls)
    fields: list[_Field] = []
    for f in dataclasses.fields(cls):
        kind, aliases, key, reader = f.metadata.get("wire", (None, (), None, None))
        hint = hints[f.name]
        args = typing.get_args(hint)
        optional = type(None) in args and (
            typing.get_origin(hint) in (typing.Union, types.UnionType)
        )
        inner = next(a for a in args if a is not type(None)) if optional else hint
        where = f"{cls.__name__}.{f.name}"
        keys = (key or f.name, *aliases)
        fields.append(_Field(f.name, keys, _kind_for(inner, kind, where), optional, reader))
    renders = tuple((f.name, f.keys[0], f.kind.render, f.optional) for f in fields)
    built = _Plan(tuple(fields), renders)
    _PLANS[cls] = built
    return built


def render(obj: Struct) -> dict[str, Any]:
    """Return the JSON-ready dict of a structure, keys in declaration order."""
    out: dict[str, Any] = {}
    for attribute, key, to_json, optional in plan(type(obj)).renders:
        value = getattr(obj, attribute)
        out[key] = None if optional and value is None else to_json(value)
    return out


class Struct:
    """Base of the declared structures: adds :meth:`from_wire` (their one generic parse)."""

    __slots__ = ()
    label: ClassVar[str] = ""
    """What the structure is, in errors (``"current_positions"``); the class name otherwise."""

    @classmethod
    def from_wire(cls: type[S], data: Any) -> S:
        """Parse one decoded JSON object into the structure (HTX's quirks tolerated)."""
        what = cls.label or cls.__name__
        obj = as_object(data, what)
        values: dict[str, Any] = {}
        for f in plan(cls).fields:
            if f.reader is not None:
                value = f.reader(obj)
            else:
                raw = None
                for key in f.keys:
                    raw = obj.get(key)
                    if raw is not None:
                        break
                value = None if f.optional and raw in _NULLS else f.kind.parse(raw, f.name)
            if value is None and not f.optional:
                raise WireFormatError(f"{f.name}: missing")
            values[f.name] = value
        return cls(**values)
