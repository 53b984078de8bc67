"""What a service refuses, in words an operator can act on."""

from __future__ import annotations

from collections.abc import Sequence


class ServiceError(Exception):
    """A request the service cannot carry out as asked; the message says why."""


class NetworkNotFound(ServiceError, LookupError):
    def __init__(self, network_id: str, known: Sequence[str]) -> None:
        hint = f"; known networks: {', '.join(known)}" if known else "; the store holds no network yet"
        super().__init__(f"no network {network_id!r} in the store{hint}")


class NetworkNotChosen(ServiceError):
    """The store holds several networks (or none) and the request named none."""


class NetworkIdTaken(ServiceError):
    """Another network in the store has the same id but for case."""

    def __init__(self, network_id: str, stored: str) -> None:
        super().__init__(f"network {network_id!r} differs only in case from network {stored!r} in the store: "
                         "network ids are unique without regard to case (they make certificate numbers)")


class CertificateNotFound(ServiceError, LookupError):
    def __init__(self, number: str) -> None:
        super().__init__(f"no certificate {number!r} in the store")


class UnknownCompany(ServiceError, LookupError):
    def __init__(self, company: str, network_id: str, known: Sequence[str]) -> None:
        super().__init__(f"no company {company!r} in network {network_id!r}; known: {', '.join(known)}")


class UnknownRecord(ServiceError, LookupError):
    """No such employee, action, obligation or evidence file of the company (portal: 404)."""


class NotAllowed(ServiceError, PermissionError):
    """The actor's role does not allow this (portal: 403)."""


class RefusedChange(ServiceError, ValueError):
    """A change the rules do not allow (a withdrawn certificate reinstated, say)."""


class ConcurrentChange(ServiceError):
    """Another process wrote the same thing first; reading again shows what stands."""


class ImportConflicts(ServiceError):
    """A network file contradicts what was recorded in the portal; nothing was written."""

    def __init__(self, network_id: str, conflicts: list[str]) -> None:
        self.conflicts = conflicts
        super().__init__(f"{len(conflicts)} conflict(s) between the file and what was recorded in the portal "
                         f"for network {network_id!r}; nothing was written. Keep the portal's values in the "
                         "file (`hackefors export` writes them), or import with --replace to let the file "
                         "win:\n" + "\n".join(conflicts))
