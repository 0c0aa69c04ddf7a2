"""Runs bench/soak for a few seconds so the soak driver does not rot (no timing or memory asserted:
a few seconds are too short to judge flatness, and the script says so)."""
import subprocess
import sys

from conftest import BIN, ROOT


def test_soak_smoke():
    result = subprocess.run(
        [sys.executable, ROOT / "bench" / "soak", "6", "--interval", "2", "--workers", "3", "--no-build", "--bin-dir", BIN],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "| t (s) | RSS (MB) | fds |" in result.stdout
    assert "VERDICT: PASS" in result.stdout
    # Every kind of traffic ran against the gateway and nothing that must succeed failed.
    for kind in ("chat", "stream", "translated"):
        assert f"| {kind} |" in result.stdout
