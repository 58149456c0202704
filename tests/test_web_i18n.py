"""The browser's strings in five languages, checked where they live (web/src/i18n.js, under
node's own test runner: tests/js/i18n.test.mjs): a string a catalogue lacks is Dutch, never a
key; Arabic and Polish pick their plural forms; numbers and days are written the reader's
way; typed text reads in the direction of its first letter."""

from __future__ import annotations

import shutil
import subprocess

from tests.support.server import ROOT, missing_service

TESTS = ROOT / "tests" / "js" / "i18n.test.mjs"


def test_the_browsers_strings_fall_back_to_dutch_and_pick_each_languages_plural() -> None:
    node = shutil.which("node")
    if node is None:
        missing_service("node", "install Node.js 20 or later")
    assert node is not None
    run = subprocess.run(
        [node, "--no-warnings", "--test", str(TESTS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "# fail 0" in run.stdout and "# pass 0" not in run.stdout
