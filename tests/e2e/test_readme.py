"""The README, followed by a newcomer: a fresh copy of the repository, a virtualenv, `init --demo`,
then every `.venv/bin/concerns …` line of the README's shell examples, read from the README
itself (not retyped here), each of which must work.

To stay affordable the virtualenv is made the way `make install` makes it, minus the downloads:
it sees the test run's installed packages (a .pth file) and gets `concerns` itself from
`pip install --no-deps -e .` (its build tools from the pip cache), which writes the same
`.venv/bin/concerns`.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 600


def readme_commands() -> list[list[str]]:
    """Every `.venv/bin/concerns` line in the README's ```sh blocks, as argv lists."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            if not line.startswith(".venv/bin/concerns "):
                continue
            argv: list[str] = []
            for token in [*shlex.split(line, comments=True), "&&"]:
                if token == "&&":  # `a && b`: two commands, the second only if the first worked
                    commands.append(argv)
                    argv = []
                else:
                    argv.append(token)
    return commands


def fresh_copy(target: Path) -> None:
    """The files a `git clone` would give (the tracked ones), and nothing else."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    # The GOV.UK styles are built by npm at install time, not tracked; reuse the built ones.
    built = REPO / "concerns" / "web" / "static" / "govuk"
    if built.is_dir():
        shutil.copytree(built, target / "concerns" / "web" / "static" / "govuk")


def make_venv(home: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(home / ".venv")],
        check=True, timeout=TIMEOUT,
    )
    purelib = Path(sysconfig.get_paths()["purelib"])
    target = next((home / ".venv" / "lib").glob("python3*")) / "site-packages"
    (target / "_installed_packages.pth").write_text(f"{purelib}\n", encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(home / ".venv" / "bin" / "python"),
         "install", "--quiet", "--no-deps", "-e", "."],
        cwd=home, check=True, timeout=TIMEOUT, capture_output=True,
    )


def test_the_readme_lists_the_examples_this_test_runs() -> None:
    commands = readme_commands()
    assert len(commands) >= 8
    assert all(argv[0] == ".venv/bin/concerns" for argv in commands)
    # The example that once failed for want of --as now gives it.
    render = [argv for argv in commands if argv[1:3] == ["letters", "render"]]
    assert render and all("--as" in argv for argv in render)


@pytest.mark.slow
@pytest.mark.timeout(1500)  # a fresh install and every example; about a minute on a quiet machine
def test_following_the_readme_from_a_clean_directory_works(tmp_path: Path) -> None:
    home = tmp_path / "concerns-about-care"
    home.mkdir()
    fresh_copy(home)
    make_venv(home)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCERNS_")}
    env.pop("PYTHONPATH", None)

    def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            argv, cwd=home, env=env, capture_output=True, text=True, timeout=TIMEOUT
        )
        assert "Traceback" not in result.stderr, (argv, result.stderr)
        assert result.returncode == 0, (argv, result.returncode, result.stderr)
        return result

    # What `make run` does before it starts the web app.
    run([".venv/bin/concerns", "init", "--demo"])
    outputs = {" ".join(argv[1:4]): run(argv).stdout for argv in readme_commands()}

    # The commands did what the README says they do.
    assert "CAC-2026-0003" in outputs["case list --as"]
    assert "Deadlines:" in outputs["case show CAC-2026-0003"]
    assert "add_review_note" in outputs["case events CAC-2026-0003"]
    assert "new_case" in outputs["intake form docs/examples/submission.json"]
    assert (home / "outcome.pdf").read_bytes().startswith(b"%PDF")
    assert (home / "outcome.docx").is_file()
    assert outputs["calendar add 2026-12-23"].strip() == "2026-12-30"
    assert "Audit chain intact" in outputs["audit verify"]
    # The register is where the README says, inside the copy, and nowhere else.
    assert (home / "var" / "concerns.db").is_file()
