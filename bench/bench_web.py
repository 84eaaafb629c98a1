"""The case page and the director's sign-off queue, over loopback HTTP, with 100,000 cases in the
database, against a bare Starlette handler doing the same SELECTs, session check and audit INSERT
over the same loopback HTTP.

The two servers run at once, each on its own copy of the database, and take turns (20 requests
each): both are measured under the same load on a shared machine.

The web app runs in its own process (uvicorn, as `concerns serve` runs it); the client signs in
as the director and times whole requests: session check, role and conflict-of-interest checks,
the audited view (a write per case page), the queries and the page rendering. The baseline is a
bare Starlette app on the same uvicorn that, through the DB-API driver, runs the session check's
SELECT (user and roles), the SELECTs of the rows the page shows and, for the case page, the
hash-chained audit INSERT after reading the chain head, and returns the rows as JSON.

Environment: CONCERNS_BENCH_CASES (default 100000), CONCERNS_BENCH_REQUESTS (default 200).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, insert, select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import record  # noqa: E402
from concerns.db.engine import make_engine  # noqa: E402
from concerns.db.models import Case, Contact, Deadline, Event, Respondent  # noqa: E402
from concerns.workflows.context import AppContext  # noqa: E402
from concerns.workflows.settings import load_settings  # noqa: E402
from tests.factories import create_staff, log_concern, walk_to_signoff  # noqa: E402

CASES = int(os.environ.get("CONCERNS_BENCH_CASES", "100000"))
REQUESTS = int(os.environ.get("CONCERNS_BENCH_REQUESTS", "200"))
PASSWORD = "a long enough passphrase"
DIRECTOR_STATES = ("awaiting_signoff", "letter_ready", "dissatisfied", "meeting_offered")
REAL_SIGNOFF_CASES = 10
CHUNK = 5000


def _fill(ctx: AppContext, count: int) -> None:
    """COUNT more cases, written in bulk: mostly closed, some open, a few with the director."""
    start = datetime(2019, 1, 7, 9, 0, tzinfo=UTC)
    with ctx.engine.begin() as conn:
        first_r = (conn.scalar(select(func.max(Respondent.id))) or 0) + 1
        first_c = (conn.scalar(select(func.max(Case.id))) or 0) + 1
    for offset in range(0, count, CHUNK):
        n = min(CHUNK, count - offset)
        respondents, cases, contacts, deadlines, events = [], [], [], [], []
        for j in range(n):
            i = offset + j
            rid, cid = first_r + i, first_c + i
            at = start + timedelta(hours=i % 60000)
            if i % 2000 == 0:
                state = DIRECTOR_STATES[(i // 2000) % len(DIRECTOR_STATES)]
            elif i % 50 == 0:
                state = ("logged", "triage", "in_review")[i % 3]
            else:
                state = "closed"
            name = f"Filler Person {i}"
            respondents.append({"id": rid, "name": name, "email": f"filler{i}@example.org",
                                "name_key": name.lower(), "name_block": f"f{i % 997}",
                                "email_key": f"filler{i}@example.org", "created_at": at})
            cases.append({"id": cid, "reference": f"BEN-{i:07d}", "state": state, "version": 1,
                          "respondent_id": rid, "received_at": at, "channel": "web",
                          "staff_named": [], "staff_named_keys": [], "created_at": at,
                          "updated_at": at, "learning_review_completed": state == "closed"})
            contacts.append({"case_id": cid, "respondent_id": rid, "received_at": at,
                             "channel": "web", "concern": "A concern kept for the benchmark.",
                             "flags": [], "created_at": at})
            due = at.date() + timedelta(days=5)
            deadlines.append({"case_id": cid, "clock": "acknowledge",
                              "status": "met" if state != "logged" else "running",
                              "started_on": at.date(), "target_days": 3, "working_days": True,
                              "due_date": due, "owner_role": "iat_officer", "explanation": {},
                              "created_at": at})
            digest = hashlib.sha256(f"bench-{i}".encode()).hexdigest()
            events.append({"case_id": cid, "event": "concern_logged", "actor": "ian", "at": at,
                           "to_state": state, "data": {}, "prev_hash": "0" * 64,
                           "hash": digest})
        with ctx.engine.begin() as conn:
            conn.execute(insert(Respondent), respondents)
            conn.execute(insert(Case), cases)
            conn.execute(insert(Contact), contacts)
            conn.execute(insert(Deadline), deadlines)
            conn.execute(insert(Event), events)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve(config: Path, port: int) -> subprocess.Popen[bytes]:
    code = (
        "import uvicorn\n"
        "from concerns.web import create_app\n"
        "from concerns.workflows.settings import load_settings\n"
        f"uvicorn.run(create_app(load_settings({str(config)!r})), host='127.0.0.1', port={port},"
        " access_log=False, log_level='warning')\n"
    )
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO)


def _wait(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the web server exited")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("the web server did not start")


def _sign_in(client: httpx.Client, username: str) -> None:
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                            "csrf_token": token.group(1)})
    assert response.status_code == 303, response.status_code


def _user_id(db_path: Path, username: str) -> int:
    with sqlite3.connect(db_path) as db:
        row = db.execute("SELECT id FROM users WHERE username = ?", (username,)).fetchone()
    return int(row[0])


def _percentiles(timings: list[float]) -> tuple[float, float]:
    ordered = sorted(timings)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process PID has used so far: what a request costs the
    server on a quiet machine, whatever else shares the cores."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


BLOCK = 20


def _time_side_by_side(
    ours: Callable[[], Any], ours_pid: int, bare: Callable[[], Any], bare_pid: int, n: int,
) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """For ours and the baseline: p50 and p95 wall ms per request, and the server's CPU ms per
    request. The two servers run at once and take turns, BLOCK requests each, so that both are
    measured under the same load: on a shared machine, measuring one after the other counted
    whatever else started or stopped in between against whichever came second."""
    sides = [(ours, ours_pid, [], [0.0]), (bare, bare_pid, [], [0.0])]
    for fn, _, _, _ in sides:
        for _ in range(5):
            fn()
    for start in range(0, n, BLOCK):
        for fn, pid, timings, cpu in sides:
            before = _cpu_seconds(pid)
            for _ in range(min(BLOCK, n - start)):
                t0 = time.perf_counter()
                fn()
                timings.append((time.perf_counter() - t0) * 1000)
            cpu[0] += _cpu_seconds(pid) - before
    (_, _, ours_t, ours_cpu), (_, _, bare_t, bare_cpu) = sides
    return ((*_percentiles(ours_t), ours_cpu[0] * 1000 / n),
            (*_percentiles(bare_t), bare_cpu[0] * 1000 / n))


def _bare_case(db: sqlite3.Connection, reference: str) -> list[Any]:
    case = db.execute(
        "SELECT c.*, r.name, r.email, r.phone, r.address, r.postcode FROM cases c "
        "JOIN respondents r ON r.id = c.respondent_id WHERE c.reference = ?", (reference,)
    ).fetchone()
    cid = case[0]
    return [
        list(case),
        db.execute("SELECT * FROM contacts WHERE case_id = ? ORDER BY received_at",
                   (cid,)).fetchall(),
        db.execute("SELECT ch.* FROM children ch JOIN case_children cc ON cc.child_id = ch.id "
                   "WHERE cc.case_id = ?", (cid,)).fetchall(),
        db.execute("SELECT * FROM deadlines WHERE case_id = ? ORDER BY id", (cid,)).fetchall(),
        db.execute("SELECT id, kind, sha256, signed_sha256, signed_at, sent_at, sent_method "
                   "FROM letters WHERE case_id = ? ORDER BY id", (cid,)).fetchall(),
        db.execute("SELECT * FROM events WHERE case_id = ? AND event != 'case_viewed' "
                   "ORDER BY id", (cid,)).fetchall(),
    ]


def _bare_queue(db: sqlite3.Connection) -> list[Any]:
    marks = ",".join("?" * len(DIRECTOR_STATES))
    rows = db.execute(
        f"SELECT c.id, c.reference, c.state, c.received_at, c.version, r.name FROM cases c "
        f"JOIN respondents r ON r.id = c.respondent_id WHERE c.state IN ({marks}) "
        f"ORDER BY c.received_at", DIRECTOR_STATES,
    ).fetchall()
    ids = [r[0] for r in rows]
    # The rows and columns the queue reads of the cases' clocks: the open ones.
    deadlines = db.execute(
        "SELECT id, case_id, clock, status, due_date FROM deadlines "
        f"WHERE case_id IN ({','.join('?' * len(ids))}) AND status IN ('running', 'paused') "
        "ORDER BY id", ids
    ).fetchall() if ids else []
    return [rows, deadlines]


_SESSION_CHECK = (
    "SELECT u.id, u.username, u.full_name, u.name_key, u.active, u.password_hash, r.role "
    "FROM users u LEFT OUTER JOIN user_roles r ON r.user_id = u.id WHERE u.id = ?"
)


def bare_session_check(db: sqlite3.Connection, user_id: int) -> list[Any]:
    """What our session check does: the user and their roles in one SELECT, active or not."""
    rows = db.execute(_SESSION_CHECK, (user_id,)).fetchall()
    if not rows or not rows[0][4]:
        raise PermissionError("signed out")
    hashlib.sha256((rows[0][5] or "").encode()).hexdigest()  # the fingerprint compared
    return rows


def bare_audit(db: sqlite3.Connection, case_id: int, state: str, actor: str) -> None:
    """What our audited view writes: one hash-chained row, after reading the chain head."""
    db.execute("BEGIN IMMEDIATE")
    head = db.execute("SELECT hash FROM events ORDER BY id DESC LIMIT 1").fetchone()
    prev = head[0] if head else "0" * 64
    at = datetime.now(UTC).replace(tzinfo=None)
    salt = os.urandom(16).hex()
    payload = hashlib.sha256((salt + '{"data":{},"note":null}').encode()).hexdigest()
    content = f"{case_id}|case_viewed|{actor}|{at.isoformat()}|{state}|{payload}"
    digest = hashlib.sha256((prev + content).encode()).hexdigest()
    db.execute(
        "INSERT INTO events (case_id, event, actor, at, from_state, to_state, data, note, "
        "payload_salt, payload_hash, prev_hash, hash) "
        "VALUES (?, 'case_viewed', ?, ?, ?, ?, '{}', NULL, ?, ?, ?, ?)",
        (case_id, actor, at.isoformat(sep=" "), state, state, salt, payload, prev, digest),
    )
    db.execute("COMMIT")


def _serve_bare(db_path: Path, port: int) -> subprocess.Popen[bytes]:
    """The baseline server: a bare Starlette app on the same uvicorn doing the same work by the
    bare route: the session check's SELECT, the page's SELECTs and (for the case page) the
    audit row, through the DB-API driver, answered as JSON. No ORM, no service layer, no
    templates, no role or guard logic."""
    code = (
        "import json, sqlite3, threading, uvicorn\n"
        "from starlette.applications import Starlette\n"
        "from starlette.responses import Response\n"
        "from starlette.routing import Route\n"
        "from bench.bench_web import _bare_case, _bare_queue, bare_audit, bare_session_check\n"
        "local = threading.local()\n"
        "def db():\n"
        "    if not hasattr(local, 'db'):\n"
        f"        local.db = sqlite3.connect({str(db_path)!r}, isolation_level=None)\n"
        "        local.db.execute('PRAGMA journal_mode=WAL')\n"
        "        local.db.execute('PRAGMA busy_timeout=30000')\n"
        "    return local.db\n"
        "def user(request):\n"
        "    return bare_session_check(db(), int(request.cookies.get('uid', '0')))\n"
        "def case(request):\n"
        "    who = user(request)\n"
        "    rows = _bare_case(db(), request.path_params['ref'])\n"
        "    bare_audit(db(), rows[0][0], rows[0][2], who[0][1])\n"
        "    return Response(json.dumps(rows, default=str), media_type='application/json')\n"
        "def queue(request):\n"
        "    user(request)\n"
        "    rows = _bare_queue(db())\n"
        "    return Response(json.dumps(rows, default=str), media_type='application/json')\n"
        "def health(request):\n"
        "    return Response('ok')\n"
        "app = Starlette(routes=[Route('/healthz', health), Route('/cases/{ref}', case),\n"
        "                        Route('/queue/director', queue)])\n"
        f"uvicorn.run(app, host='127.0.0.1', port={port}, access_log=False,"
        " log_level='warning')\n"
    )
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        db_path = base / "web.db"
        url = f"sqlite:///{db_path}"
        settings = replace(load_settings(REPO / "config.toml"), database_url=url, base_dir=base)
        ctx = AppContext(settings, make_engine(url))
        ctx.migrate()
        create_staff(ctx, PASSWORD)
        signoff = []
        for i in range(REAL_SIGNOFF_CASES):
            reference = log_concern(ctx, name=f"Bench Person {i}", phone=None)
            walk_to_signoff(ctx, reference)
            signoff.append(reference)
        t0 = time.perf_counter()
        _fill(ctx, CASES - REAL_SIGNOFF_CASES)
        print(f"seeded {CASES} cases in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        ctx.engine.dispose()

        config = base / "config.toml"
        config.write_text(
            f'[database]\nurl = "{url}"\n[web]\nsecret_key = "bench-secret-key-not-for-use"\n'
            # The client signs in with a password alone (no authenticator app here).
            "second_factor = false\n"
        )
        # The baseline reads and writes a copy: the two servers run at once, and neither's
        # audit rows go into the other's chain.
        bare_path = base / "bare.db"
        with sqlite3.connect(db_path) as source, sqlite3.connect(bare_path) as copy:
            source.backup(copy)
        ours_port, bare_port = _free_port(), _free_port()
        server = _serve(config, ours_port)
        bare = _serve_bare(bare_path, bare_port)
        try:
            ours_url = f"http://127.0.0.1:{ours_port}"
            bare_url = f"http://127.0.0.1:{bare_port}"
            _wait(ours_url, server)
            _wait(bare_url, bare)
            director = _user_id(bare_path, "dana")
            with (httpx.Client(base_url=ours_url, follow_redirects=False) as client,
                  httpx.Client(base_url=bare_url, cookies={"uid": str(director)}) as bare_client):
                _sign_in(client, "dana")
                reference = signoff[0]

                def case_page() -> None:
                    assert client.get(f"/cases/{reference}").status_code == 200

                def queue_page() -> None:
                    assert client.get("/queue/director").status_code == 200

                def bare_case() -> None:
                    assert bare_client.get(f"/cases/{reference}").status_code == 200

                def bare_queue() -> None:
                    assert bare_client.get("/queue/director").status_code == 200

                ours_case, base_case = _time_side_by_side(case_page, server.pid, bare_case,
                                                          bare.pid, REQUESTS)
                ours_queue, base_queue = _time_side_by_side(queue_page, server.pid, bare_queue,
                                                            bare.pid, REQUESTS)
        finally:
            for process in (server, bare):
                process.terminate()
                process.wait(timeout=30)

    size = f"{CASES:,} cases"
    record(f"web: case page p50 over HTTP ({size}) vs bare Starlette, same SQL", ours_case[0],
           base_case[0], "ms")
    record(f"web: case page p95 over HTTP ({size}) vs bare Starlette, same SQL", ours_case[1],
           base_case[1], "ms")
    record(f"web: director's queue p50 over HTTP ({size}) vs bare Starlette, same SQL",
           ours_queue[0], base_queue[0], "ms")
    record(f"web: director's queue p95 over HTTP ({size}) vs bare Starlette, same SQL",
           ours_queue[1], base_queue[1], "ms")
    # On a busy machine wall time counts waiting for a core; the server's own CPU does not.
    record(f"web: case page, server CPU per request ({size}) vs bare Starlette, same SQL",
           ours_case[2], base_case[2], "ms")
    record(f"web: director's queue, server CPU per request ({size}) vs bare Starlette, same SQL",
           ours_queue[2], base_queue[2], "ms")


if __name__ == "__main__":
    main()

