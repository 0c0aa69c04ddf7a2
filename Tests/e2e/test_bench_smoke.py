"""Runs bench/run once in its tiny smoke mode so the benchmark driver does not rot (no timing asserted)."""
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
