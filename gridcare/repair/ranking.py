"""Pure candidate ranking: which vehicles can reach a repair soonest (vectorised over the fleet).

Estimated arrival = the work still queued on the vehicle + the drive from its latest position, at a
speed that depends on the area (city streets are slower than county roads), with a road-detour factor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

EARTH_RADIUS_KM = 6371.0088
ROAD_FACTOR = 1.3  # roads are longer than the straight line
SPEED_KMH = {"urban": 25.0, "rural": 45.0, "remote": 35.0}
MINUTES_PER_QUEUED_JOB = 60.0
CREW_TYPES = {"lv": 1, "mv": 2, "both": 3}  # bit masks: a 'both' crew serves either need


@dataclass
class Fleet:
    """The vehicles as columns, so ranking is a handful of numpy operations."""

    ids: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    crew_type: np.ndarray  # bit masks from CREW_TYPES
    unit_path: Sequence[str]  # materialised org path of each vehicle's crew
    queue_minutes: np.ndarray  # work still ahead of a new order
    available: np.ndarray  # bool: on duty
    _unit_masks: dict[str, np.ndarray] | None = None

    def unit_mask(self, prefix: str) -> np.ndarray:
        """Vehicles whose crew sits under the unit with this path; computed once per unit and fleet."""
        if self._unit_masks is None:
            self._unit_masks = {}
        mask = self._unit_masks.get(prefix)
        if mask is None:
            mask = np.fromiter((p.startswith(prefix) for p in self.unit_path), dtype=bool, count=len(self.ids))
            self._unit_masks[prefix] = mask
        return mask


def make_fleet(rows: Sequence[tuple[int, float, float, str, str, float, bool]]) -> Fleet:
    """rows: (vehicle id, lat, lon, crew type, crew path, queue minutes, on duty)."""
    return Fleet(
        ids=np.array([r[0] for r in rows], dtype=np.int64),
        lat=np.array([r[1] for r in rows], dtype=np.float64),
        lon=np.array([r[2] for r in rows], dtype=np.float64),
        crew_type=np.array([CREW_TYPES.get(r[3], 3) for r in rows], dtype=np.int8),
        unit_path=[r[4] for r in rows],
        queue_minutes=np.array([r[5] for r in rows], dtype=np.float64),
        available=np.array([r[6] for r in rows], dtype=bool),
    )


@dataclass(frozen=True)
class Candidate:
    vehicle_id: int
    distance_km: float
    drive_minutes: float
    queue_minutes: float
    eta_minutes: float


def rank(
    fleet: Fleet,
    *,
    lat: float,
    lon: float,
    area_class: str = "urban",
    need: str = "lv",
    unit_prefix: str | None = None,
    limit: int = 10,
    unit_mask: np.ndarray | None = None,
) -> list[Candidate]:
    """Vehicles able to take the job (crew type, unit subtree, on duty), soonest first."""
    if len(fleet.ids) == 0:
        return []
    mask = fleet.available & ((fleet.crew_type & CREW_TYPES.get(need, 1)) != 0)
    if unit_mask is not None:
        mask &= unit_mask
    elif unit_prefix:
        mask &= fleet.unit_mask(unit_prefix)
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return []
    la1, lo1 = np.radians(fleet.lat[idx]), np.radians(fleet.lon[idx])
    la2, lo2 = np.radians(lat), np.radians(lon)
    h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    km = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h))) * ROAD_FACTOR
    drive = km / SPEED_KMH.get(area_class, SPEED_KMH["urban"]) * 60.0
    eta = drive + fleet.queue_minutes[idx]
    k = min(limit, idx.size)
    best = np.argpartition(eta, k - 1)[:k] if idx.size > k else np.arange(idx.size)
    best = best[np.argsort(eta[best], kind="stable")]
    return [
        Candidate(
            int(fleet.ids[idx[i]]),
            round(float(km[i]), 2),
            round(float(drive[i]), 1),
            round(float(fleet.queue_minutes[idx[i]]), 1),
            round(float(eta[i]), 1),
        )
        for i in best
    ]
