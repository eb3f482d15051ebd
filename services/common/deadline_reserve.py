"""The part of its deadline a service keeps for itself when it calls downstream.

A service that passed its whole remaining time down would hear of a late
downstream only when its own caller's deadline fired too, and the caller would
blame it. Keeping a reserve lets it answer in time with a status that names the
downstream (ranking answers FEATURES_UNAVAILABLE while the front still waits).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeadlineReserve:
    """Keeps `share` of the remaining time, at least `floor_s`."""

    share: float = 0.2
    floor_s: float = 0.005

    def pass_down(self, remaining_s: float) -> float:
        """Seconds to give the downstream call out of remaining_s (0 when none is left)."""
        return max(remaining_s - max(self.floor_s, remaining_s * self.share), 0.0)
