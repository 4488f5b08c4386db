"""The shapes of an endpoint's ``data``: a flag, one object, a list, a page, a list of names.

Each shape renders a program value to JSON-ready ``data`` (server) and parses decoded ``data``
back (SDK), tolerating the variants HTX's documents disagree on (a bare array or one wrapped in
an object, ``follower`` or ``followers``). The envelope around ``data`` is the profile's
(:mod:`copytrade.protocol.profiles`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from copytrade.protocol.schema import (
    Struct,
    WireFormatError,
    as_list,
    as_object,
    render,
    to_bool,
    to_int,
    to_str,
)

T = TypeVar("T")
S = TypeVar("S", bound=Struct)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a paged endpoint.

    Attributes:
        items: the records of this page.
        query_id: the id of the page's last record; pass it as ``from_id`` for the next page
            (``None`` when the page is empty).
    """

    items: tuple[T, ...]
    query_id: int | None


class Reply(Generic[T]):
    """The shape of one endpoint's ``data``."""

    __slots__ = ()

    def render(self, value: T) -> Any:
        """Return the JSON-ready ``data`` for ``value``."""
        raise NotImplementedError

    def parse(self, data: Any) -> T:
        """Return the typed value of a decoded ``data`` (:class:`WireFormatError` if malformed)."""
        raise NotImplementedError


class Flag(Reply[bool]):
    """``data`` is a boolean (``true`` for an accepted POST)."""

    __slots__ = ()

    def render(self, value: bool) -> Any:
        """Return the boolean itself."""
        return value

    def parse(self, data: Any) -> bool:
        """Accept a JSON boolean or ``"true"``/``"false"``."""
        parsed = to_bool(data, "data")
        if parsed is None:
            raise WireFormatError(f"expected a boolean, got {data!r}")
        return parsed


class One(Reply[S]):
    """``data`` is one structure."""

    __slots__ = ("cls",)

    def __init__(self, cls: type[S]) -> None:
        """Declare the structure."""
        self.cls = cls

    def render(self, value: S) -> Any:
        """Return the structure's dict."""
        return render(value)

    def parse(self, data: Any) -> S:
        """Parse the structure."""
        return self.cls.from_wire(data)


class Many(Reply[tuple[S, ...]]):
    """``data`` is a list of structures: a bare array, or an object holding it under ``key``."""

    __slots__ = ("also", "cls", "key")

    def __init__(self, cls: type[S], key: str | None = None, *, also: str | None = None) -> None:
        """Declare the element and where the list goes.

        Args:
            cls: The element structure.
            key: The key of the object the server wraps the list in; ``None``: a bare array.
            also: Another key the SDK accepts when the list comes wrapped (the bare array is
                always accepted).
        """
        self.cls, self.key, self.also = cls, key, also

    def render(self, value: tuple[S, ...]) -> Any:
        """Return the array, wrapped in ``{key: ...}`` when the shape has a key."""
        items = [render(item) for item in value]
        return items if self.key is None else {self.key: items}

    def parse(self, data: Any) -> tuple[S, ...]:
        """Parse a bare array or one under ``key`` (or ``also``)."""
        what = self.cls.label or self.cls.__name__
        raw = data
        if isinstance(data, Mapping):
            raw = data.get(self.key or self.also or "")
            if raw is None and self.also is not None:
                raw = data.get(self.also)
        elif data is not None and not isinstance(data, list):
            as_object(data, what)  # raises: neither an array nor an object
        return tuple(self.cls.from_wire(item) for item in as_list(raw, what))


class Paged(Reply[Page[S]]):
    """``data`` is ``{key: [...], "query_id": n}``: one page and its cursor."""

    __slots__ = ("also", "cls", "key")

    def __init__(self, cls: type[S], key: str, *, also: str | None = None) -> None:
        """Declare the element, the list's key and another key the SDK accepts."""
        self.cls, self.key, self.also = cls, key, also

    def render(self, value: Page[S]) -> Any:
        """Return ``{key: [...], "query_id": n}``."""
        return {self.key: [render(item) for item in value.items], "query_id": value.query_id}

    def parse(self, data: Any) -> Page[S]:
        """Parse the page (``query_id`` as a number or a string)."""
        what = self.cls.label or self.cls.__name__
        body = as_object(data, what)
        key = self.key if self.key in body or self.also is None else self.also
        items = tuple(self.cls.from_wire(x) for x in as_list(body.get(key), f"{what}.{key}"))
        return Page(items=items, query_id=to_int(body.get("query_id"), "query_id"))


class Names(Reply[tuple[str, ...]]):
    """``data`` is an array of strings; the SDK also accepts objects holding ``key``."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        """Declare the key the object form uses (``contract_code``)."""
        self.key = key

    def render(self, value: tuple[str, ...]) -> Any:
        """Return the array of strings."""
        return list(value)

    def parse(self, data: Any) -> tuple[str, ...]:
        """Parse strings, or objects with ``key``."""
        out: list[str] = []
        for item in as_list(data, "data"):
            if isinstance(item, Mapping):
                value = to_str(item.get(self.key), self.key)
                if value is None:
                    raise WireFormatError(f"{self.key}: missing")
                out.append(value)
            elif isinstance(item, str):
                out.append(item)
            else:
                raise WireFormatError(f"unexpected element {item!r}")
        return tuple(out)
