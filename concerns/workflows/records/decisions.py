"""The retention decisions the information officer may take, and the state each leads to.

Pure (no database): `concerns records` names them in its help without loading the services.
"""

from __future__ import annotations

NOT_SET = "not_set"
REVIEW = "review"
RETAIN = "retain"
TO_BE_DESTROYED = "to_be_destroyed"
# What the information officer may decide, and the state each decision leads to.
DECISIONS = {"retain": RETAIN, "review": REVIEW, "destroy": TO_BE_DESTROYED}
