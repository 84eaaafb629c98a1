"""Letters being checked before they go: held in memory for the check page's frame.

A preview is the HTML the event would store, for the one member of staff and case it was made
for, kept for a short while and never written anywhere (it holds personal data). The event
itself re-renders the letter and refuses if it is not the one shown (its SHA-256 is carried in
the form), so a lost preview only means looking again.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

TTL_SECONDS = 30 * 60
MAX_HELD = 500


@dataclass(frozen=True)
class _Held:
    username: str
    reference: str
    html: str
    expires: float


class PreviewStore:
    def __init__(self) -> None:
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()

    def put(self, username: str, reference: str, html: str) -> str:
        token = secrets.token_urlsafe(18)
        now = time.monotonic()
        with self._lock:
            for key in [k for k, v in self._held.items() if v.expires < now]:
                del self._held[key]
            while len(self._held) >= MAX_HELD:
                del self._held[next(iter(self._held))]
            self._held[token] = _Held(username, reference, html, now + TTL_SECONDS)
        return token

    def get(self, token: str, username: str, reference: str) -> str | None:
        with self._lock:
            held = self._held.get(token)
        if held is None or held.expires < time.monotonic():
            return None
        if held.username != username or held.reference != reference:
            return None
        return held.html


PREVIEWS = PreviewStore()
