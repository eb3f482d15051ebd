"""Errors the offline evaluation library raises on purpose.

Every error derives from `OfflineError`, so a command can report any of them in
one place. Each also derives from the builtin a caller would naturally expect
(`ValueError` for bad input), and none is caught and dropped inside the package.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

_SHOWN_IDS = 5


class OfflineError(Exception):
    """Base of every error the offline library raises on purpose."""


class SplitSpecError(OfflineError, ValueError):
    """A split spec string that cannot be parsed; the message names what is wrong."""

    def __init__(self, spec: str, reason: str) -> None:
        self.spec = spec
        self.reason = reason
        super().__init__(f"bad split spec {spec!r}: {reason}")


class UnknownIdsError(OfflineError, ValueError):
    """Ids (users or items) that a model or catalogue does not know.

    `kind` is "user" or "item"; `ids` holds every unknown id, sorted; the
    message shows the count and the first few.
    """

    def __init__(self, kind: str, ids: NDArray[np.int64], context: str) -> None:
        self.kind = kind
        self.ids = np.unique(ids)
        shown = ", ".join(str(int(i)) for i in self.ids[:_SHOWN_IDS])
        more = ", ..." if self.ids.shape[0] > _SHOWN_IDS else ""
        super().__init__(
            f"{self.ids.shape[0]} unknown {kind} id(s) {context}: [{shown}{more}]"
        )


class MisalignedUsersError(OfflineError, ValueError):
    """Two per-user metric sets that are not over the same users, in the same order."""
