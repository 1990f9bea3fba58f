"""The CI entry point runs the README's test command with missing references made failures, so CI cannot
pass with the parity suites skipped or on a command that drifted from the documented one."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import REQUIRE_ENV, missing

ROOT = Path(__file__).resolve().parents[1]


def _sources() -> tuple[str, str]:
    ci, readme = ROOT / ".ci" / "run", ROOT / "README.md"
    if not (ci.is_file() and readme.is_file()):
        missing(f"the source tree ({ci}, {readme})", "run the tests from a checkout of the repository")
    return ci.read_text(encoding="utf-8"), readme.read_text(encoding="utf-8")


def test_ci_runs_the_readme_test_command_with_references_required() -> None:
    ci, readme = _sources()
    commands = [line for line in ci.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    test_command = commands[-1]
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    assert any(test_command in block.splitlines() for block in blocks), (
        f".ci/run's command is not one of README.md's commands: {test_command!r}"
    )
    assert test_command.endswith("-m pytest"), "CI must run the whole suite, slow tests included"
    assert f"export {REQUIRE_ENV}=1" in commands, f".ci/run must export {REQUIRE_ENV}=1 before the tests"
