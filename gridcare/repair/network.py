"""The network below the feeder, as outage prediction uses it: defined in gridcare.grid.network (pure)."""

from gridcare.grid.network import DEVICE_KINDS, Area, Device, Link, Network, energised, loops

__all__ = ["DEVICE_KINDS", "Area", "Device", "Link", "Network", "energised", "loops"]
