"""A real IMAP server for tests: Debian's dovecot (package dovecot-imapd), started on a free
loopback port with a throwaway configuration, one user (iat / secret), stopped afterwards.

Where dovecot is not installed, tests skip with the reason (fail with CONCERNS_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.services import unavailable

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "iat", "secret"


@dataclass(frozen=True)
class ImapServer:
    host: str
    port: int
    username: str
    password: str
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _accounts() -> tuple[str, str, str]:
    """(login user, internal user, mail user). Dovecot refuses to log in or serve mail as
    root, so as root the package's own unprivileged users are used."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid()).pw_name
        return me, me, me
    for name in ("dovenull", "dovecot"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            unavailable(f"dovecot's system user {name} is missing")
    return "dovenull", "dovecot", "dovecot"


@contextmanager
def dovecot() -> Iterator[ImapServer]:
    if not os.path.exists(DOVECOT):
        unavailable("dovecot is not installed (apt-get install dovecot-imapd)")
    login_user, internal_user, mail_user = _accounts()
    # Not under pytest's private tmp folder: dovecot's own users must reach the mail home.
    root = Path(tempfile.mkdtemp(prefix="concerns-imap-"))
    root.chmod(0o755)
    for sub in ("run", "state", "home"):
        (root / sub).mkdir()
    mail = pwd.getpwnam(mail_user)
    if os.geteuid() == 0:
        os.chown(root / "home", mail.pw_uid, mail.pw_gid)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    port = _free_port()
    config = root / "dovecot.conf"
    config.write_text(f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
listen = 127.0.0.1
protocols = imap
first_valid_uid = 0
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {grp.getgrgid(pwd.getpwnam(internal_user).pw_gid).gr_name}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail.pw_uid} gid={mail.pw_gid} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
""")
    # In the foreground (-F), as our own child: stopped by its process id afterwards.
    errors = (root / "startup.log").open("wb")
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(config)], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=errors)
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                problem = (root / "startup.log").read_text(errors="replace").strip()[:300]
                unavailable(f"dovecot did not start: {problem}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                    if conn.recv(64).startswith(b"* OK"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                unavailable("dovecot started but did not answer on its port")
            time.sleep(0.1)
        yield ImapServer("127.0.0.1", port, USER, PASSWORD, root / "dovecot.log")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        errors.close()
        shutil.rmtree(root, ignore_errors=True)
