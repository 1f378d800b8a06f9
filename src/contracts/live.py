"""The clients of this process that its metrics endpoint reports: consumers, producers, registry clients.

Each adds itself when made; a weak set, so a client that is gone is no longer reported.
"""

from __future__ import annotations

import weakref

LIVE: weakref.WeakSet[object] = weakref.WeakSet()
