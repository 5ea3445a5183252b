"""A local DashScope: same wire protocol, real media, its own bill, injectable faults.

``Emulator`` runs it in-process; ``python -m wan_dagster.emulator`` runs it as a server.
"""

from .app import Emulator
from .faults import FaultConfig

__all__ = ["Emulator", "FaultConfig"]
