"""Errors of the service layer (beyond the domain's)."""

from __future__ import annotations

from copytrade.domain.errors import DomainError


class UnknownUser(DomainError):
    """No such UID."""

    def __init__(self, uid: int) -> None:
        super().__init__(uid)
        self.uid = uid


class InvalidFollow(DomainError):
    """A follow the emulator refuses (self-follow, trader following, unknown trader)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidMark(DomainError):
    """A mark price the emulator refuses (not positive, or under the contract's tick)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFollowing(DomainError):
    """The user follows no trader now (so it has no follower settings to change)."""

    def __init__(self, uid: int) -> None:
        super().__init__(uid)
        self.uid = uid
