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


def test_bench_streams_memory_smoke():
    """bench/streams-memory with 20 streams: every stream completes through the gateway and the mock,
    and the gateway's row has its idle and peak RSS, KB per stream and the streams it held at once."""
    result = subprocess.run(
        [sys.executable, ROOT / "bench" / "streams-memory", "--bin-dir", BIN, "--counts", "20", "--lanes", "direct,switchboard",
         "--ramp-ms", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = {line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:-1]]
            for line in result.stdout.splitlines() if line.startswith("| direct ") or line.startswith("| switchboard ")}
    assert rows["direct"][1].startswith("20 / 0 / "), rows
    gateway = rows["switchboard"]
    assert gateway[0] == "20" and gateway[1].startswith("20 / 0 / "), gateway
    idle, peak = (float(x) for x in gateway[2].split(" / "))
    assert 0 < idle <= peak, gateway
    float(gateway[3])  # KB per stream is a number
    # Two descriptors per open stream: the 20 streams, started together, were open at once.
    held = int(gateway[4].rsplit("(", 1)[1].rstrip(")"))
    assert 19 <= held <= 20, gateway


def test_bench_instructions_smoke():
    """bench/instructions, one lane and a few requests under callgrind, twice: the script still starts
    the gateway under valgrind (stripped copy, sigsuspend shim), counts, and gets the same figure twice."""
    result = subprocess.run(
        [sys.executable, ROOT / "bench" / "instructions", "--no-build", "--bin-dir", BIN, "--lanes", "passthrough",
         "--requests", "5", "--warmup", "2", "--repeat", "2", "--idle-seconds", "0", "--no-save"],
        cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    row = re.search(r"^\| passthrough \| 5 \| ([\d,]+) \| ([\d,]+) \|", result.stdout, re.M)
    assert row, result.stdout[-3000:]
    first, second = (int(row.group(i).replace(",", "")) for i in (1, 2))
    # A proxied chat completion takes far more than 10k user-space instructions (~300k in release,
    # ~3M in debug): near zero means callgrind was not collecting. Two fresh processes agree within
    # a few %; a window that caught background work instead (a script-folder poll is ~3.5M) does not.
    assert first > 10_000 and second > 10_000, row.group(0)
    assert abs(first - second) / min(first, second) < 0.10, row.group(0)
