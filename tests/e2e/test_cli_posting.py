"""`concerns letters to-post`, `letters posted` and `remind retry`, run as a user would."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from tests.e2e.conftest import Cli


def log(cli: Cli, tmp: Path, respondent: dict[str, str]) -> str:
    path = tmp / f"form-{len(list(tmp.glob('form-*.json')))}.json"
    form = {
        "submitted_at": "2026-11-02T10:15:00+00:00",
        "channel": "web",
        "respondent": {"name": "Rowan Hale", "relationship": "parent", **respondent},
        "concern": "Our family was never told who the new social worker was.",
    }
    path.write_text(json.dumps(form), encoding="utf-8")
    [row] = cli.ok("intake", "form", str(path), "--json", as_user="ian").json()
    assert row["status"] == "new_case"
    return str(row["reference"])


def test_the_assistant_finds_posts_and_records_a_letter_through_the_command(
    staffed: Cli, tmp_path: Path
) -> None:
    cli = staffed
    ref = log(cli, tmp_path, {"address": "3 Mill Lane, Bromyard", "postcode": "HR7 4AA"})
    cli.ok("case", "act", ref, "acknowledge", as_user="alex")

    [waiting] = cli.ok("letters", "to-post", "--json", as_user="erin").json()
    assert (waiting["reference"], waiting["kind"]) == (ref, "acknowledgement")
    letter_id = str(waiting["letter_id"])
    human = cli.ok("letters", "to-post", as_user="erin").out
    assert ref in human and "letters posted REF LETTER_ID" in human
    [row] = cli.ok("queue", "assistant", "--json", as_user="erin").json()
    assert row["reference"] == ref
    assert [x["letter_id"] for x in row["letters_to_post"]] == [waiting["letter_id"]]
    header, _, line = cli.ok("queue", "assistant", as_user="erin").out.splitlines()
    assert header.rstrip().endswith("Letters to post")
    assert line.startswith(ref) and line.split()[-1] == letter_id

    refused = cli("letters", "posted", ref, letter_id, as_user="alex")
    assert refused.code == 3 and "only the executive assistant" in refused.err
    bad = cli("letters", "posted", ref, "first", as_user="erin")
    assert bad.code == 2 and "LETTER_ID: expected a whole number" in bad.err
    missing = cli("letters", "posted", ref, "99999", as_user="erin")
    assert missing.code == 1 and "has no letter 99999" in missing.err

    done = cli.ok("letters", "posted", ref, letter_id, "--json", as_user="erin").json()
    assert (done["reference"], done["letter_id"]) == (ref, waiting["letter_id"])
    again = cli("letters", "posted", ref, letter_id, as_user="erin")
    assert again.code == 3 and "already sent (post)" in again.err
    for result in (refused, bad, missing, again):
        assert "Traceback" not in result.err and "Rowan" not in result.err

    assert cli.ok("letters", "to-post", "--json", as_user="erin").json() == []
    assert cli.ok("queue", "assistant", "--json", as_user="erin").json() == []
    shown = cli.ok("case", "show", ref, "--json", as_user="erin").json()
    assert [x["sent_method"] for x in shown["letters"]] == ["post"]
    assert "letter_posted" in [h["event"] for h in shown["history"]]
    assert cli.ok("audit", "verify").code == 0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_failed_email_is_put_back_in_the_outbox_with_remind_retry(
    staffed: Cli, tmp_path: Path
) -> None:
    cli = staffed
    # Nothing listens on this port, and one attempt is all the outbox makes: the email fails.
    config = Path(cli.env["CONCERNS_CONFIG"])
    text = config.read_text(encoding="utf-8")
    text = text.replace("port = 25\n", f"port = {_closed_port()}\n", 1)
    config.write_text(text.replace("max_attempts = 8", "max_attempts = 1", 1), encoding="utf-8")
    ref = log(cli, tmp_path, {"email": "rowan.hale@example.org"})
    cli.ok("case", "act", ref, "acknowledge", as_user="alex")
    cli.ok("remind", "run-once", "--json")
    failed = cli.ok("remind", "outbox", "--status", "failed", "--json", as_user="admin").json()
    [row] = failed["notifications"]
    assert (row["kind"], row["reference"], row["attempts"]) == ("letter", ref, 1)

    refused = cli("remind", "retry", str(row["id"]), as_user="alex")
    assert refused.code == 3 and "only an admin or an IAT manager" in refused.err
    bad = cli("remind", "retry", "last", as_user="admin")
    assert bad.code == 2 and "ID: expected a whole number" in bad.err
    assert cli("remind", "retry", "99999", as_user="admin").code == 1

    retried = cli.ok("remind", "retry", str(row["id"]), "--json", as_user="morgan").json()
    assert (retried["id"], retried["status"]) == (row["id"], "pending")
    assert retried["previous_attempts"] == 1
    pending = cli.ok("remind", "outbox", "--status", "pending", "--json", as_user="admin").json()
    assert [(n["id"], n["attempts"]) for n in pending["notifications"]] == [(row["id"], 0)]
    again = cli("remind", "retry", str(row["id"]), as_user="morgan")
    assert again.code == 3 and "is pending" in again.err
    for result in (refused, bad, again):
        assert "Traceback" not in result.err and "rowan" not in result.err
    assert cli.ok("audit", "verify").code == 0
