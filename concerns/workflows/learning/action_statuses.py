"""The statuses an action arising from a learning review can have.

Pure (no database): `concerns action` names them in its help without loading the services.
"""

from __future__ import annotations

STATUSES = ("open", "overdue", "completed", "withdrawn")
