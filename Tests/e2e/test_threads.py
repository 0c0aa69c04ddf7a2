"""--threads / SWITCHBOARD_THREADS: how many event loops the gateway runs (issue 16, scaling)."""
import os
import subprocess

from conftest import BIN, ROOT
from http_helpers import call


def event_loop_threads(pid):
    """Threads named like the event loops of NIO's singleton group (NIO-SGLTN-<group>-#<loop>)."""
    names = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/comm") as f:
            names.append(f.read().strip())
    return [n for n in names if n.startswith("NIO-SGLTN-")]


def chat(gateway, mock):
    return call("POST", gateway.url + "/v1/chat/completions",
                headers={"x-portkey-provider": "openai", "Authorization": "Bearer k",
                         "x-portkey-custom-host": mock.url + "/v1", "Content-Type": "application/json"},
                body={"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]})


def test_the_threads_flag_sets_the_event_loop_count(launch, mock):
    gateway = launch("--threads", "1")
    gateway.wait_for(r"\(1 event loops\)")
    assert chat(gateway, mock).status == 200
    assert len(event_loop_threads(gateway.proc.pid)) == 1


def test_the_environment_variable_sets_it_too_and_is_a_known_setting(launch, mock):
    gateway = launch(env={"SWITCHBOARD_THREADS": "3"})
    gateway.wait_for(r"\(3 event loops\)")
    assert chat(gateway, mock).status == 200
    assert len(event_loop_threads(gateway.proc.pid)) == 3
    assert "SWITCHBOARD_THREADS is not a setting" not in gateway.output()


def test_an_invalid_count_stops_startup_with_the_reason():
    result = subprocess.run([BIN / "switchboard", "--port", "0", "--providers", ROOT / "providers"],
                            env={**os.environ, "SWITCHBOARD_THREADS": "0"}, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "SWITCHBOARD_THREADS must be a whole number in 1...1024" in result.stderr + result.stdout
