"""`make test` on a machine without chromium: the browser tests are skipped,
on both cores as `make test` runs them; with CI=true each one fails, naming
the missing browser. Before, a skipped transactional test's teardown made
the role groups again in a test database never set up (an error), and under
xdist CI's UsageError reached the terminal as an INTERNALERROR naming a test,
not the reason."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_browser_tests(*, ci: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(CHROMIUM="/nonexistent/chromium", CI="true" if ci else "false")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["-m", "e2e", "-n", "2", "--dist", "loadfile"]
    command += ["tests/e2e/test_keyboard.py", "tests/e2e/test_as_deployed.py"]
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_without_a_browser_the_browser_tests_are_skipped():
    result = run_browser_tests(ci=False)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "5 skipped" in result.stdout
    assert "error" not in result.stdout.lower()


def test_in_ci_each_browser_test_fails_naming_the_missing_browser():
    result = run_browser_tests(ci=True)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "INTERNALERROR" not in result.stdout + result.stderr
    missing = "CI=true but there is no browser at /nonexistent/chromium"
    assert "5 errors" in result.stdout
    summary = [line for line in result.stdout.splitlines() if line.startswith("ERROR ")]
    assert len(summary) == 5
    assert all(line.endswith(f"Failed: {missing}") for line in summary), summary
