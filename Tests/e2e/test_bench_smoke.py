"""Runs bench/run once in its tiny smoke mode so the benchmark driver does not rot (no timing asserted)."""
import re
import subprocess
import sys

from conftest import BIN, ROOT


def test_bench_run_smoke():
    result = subprocess.run(
        [sys.executable, ROOT / "bench" / "run", "--smoke", "--no-build", "--bin-dir", BIN, "--lanes", "direct,switchboard,translated"],
        cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "| switchboard |" in result.stdout
    assert "| direct |" in result.stdout
    # Every lane ran: a lane whose requests the gateway refused is reported as a tool error.
    assert "| translated |" in result.stdout and "tool error" not in result.stdout, result.stdout[-3000:]


def test_bench_instructions_smoke():
    """bench/instructions, one lane and a few requests under callgrind: the script still starts the
    gateway under valgrind (stripped copy, sigsuspend shim), counts, and prints a plausible figure."""
    result = subprocess.run(
        [sys.executable, ROOT / "bench" / "instructions", "--no-build", "--bin-dir", BIN, "--lanes", "passthrough",
         "--requests", "5", "--warmup", "2", "--repeat", "1", "--idle-seconds", "0", "--no-save"],
        cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    row = re.search(r"^\| passthrough \| 5 \| ([\d,]+) \|", result.stdout, re.M)
    assert row, result.stdout[-3000:]
    # A proxied chat completion takes far more than 10k user-space instructions (~300k in release):
    # a count of zero or near it means callgrind was not collecting.
    assert int(row.group(1).replace(",", "")) > 10_000, row.group(0)
