"""The command line explains itself (issue 18, item 4): `switchboard --help` shows serve's flags under
headings with their defaults and environment variables, `--version` names the release and the commit."""
import os
import re
import subprocess

import pytest

from conftest import BIN, ROOT, Process

SWITCHBOARD = BIN / "switchboard"
# Settings with no flag: structured or secret values, given in the environment or the settings file
# only (README "Settings"). A new setting without a flag must be added here on purpose.
FLAGLESS_SETTINGS = {"gateway_keys", "virtual_keys", "metadata_limits"}
# Flags that are not settings: where the settings file is, and the event loops, sized before it is read.
NON_SETTING_FLAGS = {"--config-file", "--threads"}


def run(*args, **kwargs):
    return subprocess.run([SWITCHBOARD, *args], capture_output=True, text=True, timeout=30, cwd=ROOT,
                          env={**os.environ, "COLUMNS": "100", **kwargs.pop("env", {})}, **kwargs)


def sections(text):
    """{HEADING: {flag: description}} from a help screen; a description joins its wrapped lines."""
    parsed, heading, flag = {}, None, None
    for line in text.splitlines():
        if re.fullmatch(r"[A-Z][A-Z ]*:", line):
            heading, flag = line[:-1], None
            parsed[heading] = {}
        elif heading and (match := re.match(r"  (-[^\s,]+(?:, -[^\s,]+)*)(?: <[^>]+>)?(?:\s+(.*))?$", line)):
            flag = match.group(1).split(", ")[-1]
            parsed[heading][flag] = match.group(2) or ""
        elif heading and flag and line.startswith("   "):
            parsed[heading][flag] = (parsed[heading][flag] + " " + line.strip()).strip()
        elif not line.strip():
            flag = None
    return parsed


@pytest.fixture(scope="module")
def help_text():
    result = run("--help")
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_help_groups_the_serve_flags_under_headings_with_defaults_and_variables(help_text):
    groups = sections(help_text)
    for heading in ("NETWORK", "SCRIPTS", "ACCESS", "LIMITS", "OBSERVABILITY", "SUBCOMMANDS"):
        assert heading in groups, f"no {heading} section in:\n{help_text}"
    assert "default: 8787" in groups["NETWORK"]["--port"] and "SWITCHBOARD_PORT" in groups["NETWORK"]["--port"]
    assert "default: 127.0.0.1" in groups["NETWORK"]["--host"]
    assert "default: ./providers" in groups["SCRIPTS"]["--providers"]
    assert "SWITCHBOARD_GATEWAY_KEYS_FILE" in groups["ACCESS"]["--gateway-keys-file"]
    assert "default: 33554432" in groups["LIMITS"]["--max-body-size"]
    observability = groups["OBSERVABILITY"]
    for flag in ("--log-level", "--request-log", "--log-bodies", "--metrics", "--otel-endpoint", "--otel-protocol",
                 "--otel-service-name", "--otel-traces-sampler", "--otel-traces-sampler-arg", "--otel-metrics",
                 "--otel-metric-export-interval-ms"):
        assert flag in observability, flag
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in observability["--otel-endpoint"]
    assert "default: parentbased_always_on" in observability["--otel-traces-sampler"]
    assert re.search(r"^  serve \(default\) +Run the gateway", help_text, re.M)
    assert re.search(r"^  check +Validate every setting", help_text, re.M)
    # Every flag sits under exactly one heading, and every serve flag names its variable.
    seen = {}
    for heading, flags in groups.items():
        for flag, description in flags.items():
            assert flag not in seen, f"{flag} under both {seen[flag]} and {heading}"
            seen[flag] = heading
            if heading != "OPTIONS":
                assert "(env: SWITCHBOARD_" in description, f"{flag} ({heading}) names no variable: {description}"
    assert set(groups["OPTIONS"]) == {"--version", "--help"}


def test_short_help_and_help_command_print_the_same(help_text):
    assert run("-h").stdout == help_text
    assert run("help").stdout == help_text
    serve = run("serve", "--help")
    assert serve.returncode == 0
    assert run("help", "serve").stdout == serve.stdout
    # serve's own help lists the same groups, flag for flag, without the subcommands.
    expected = {heading: flags for heading, flags in sections(help_text).items() if heading != "SUBCOMMANDS"}
    assert sections(serve.stdout) == expected


def test_every_setting_with_a_flag_is_in_help(help_text, launch):
    # The gateway names every setting when it warns about an unknown SWITCHBOARD_ variable.
    gateway = launch(env={"SWITCHBOARD_NOT_A_SETTING": "1"})
    listed = gateway.wait_for(r"SWITCHBOARD_NOT_A_SETTING is not a setting and is ignored \(settings: ([A-Z0-9_, ]+)\)")
    keys = {name.strip().removeprefix("SWITCHBOARD_").lower() for name in listed.group(1).split(",")}
    assert {"port", "otel_endpoint", "otel_metric_export_interval_ms"} <= keys
    flags = {flag: description for group in sections(help_text).values() for flag, description in group.items()}
    flagless = set()
    for key in keys:
        flag = "--" + key.replace("_", "-")
        flag = flag if flag in flags else flag.removesuffix("s")  # a list's flag is singular and repeatable
        if flag not in flags:
            flagless.add(key)
            continue
        assert f"SWITCHBOARD_{key.upper()}" in flags[flag], f"{flag} does not name SWITCHBOARD_{key.upper()}"
    assert flagless == FLAGLESS_SETTINGS
    # ...and every flag but the built-in ones and two start-up ones is a setting.
    setting_flags = {"--" + key.replace("_", "-") for key in keys} | {"--allow-host"}
    assert set(flags) - setting_flags == NON_SETTING_FLAGS | {"--version", "--help"}


def test_version_names_the_release_and_the_commit():
    result = run("--version")
    assert result.returncode == 0, result.stderr
    assert run("serve", "--version").stdout == result.stdout
    release = re.search(r'static let version = "([^"]+)"', (ROOT / "Sources/switchboard/Switchboard.swift").read_text())
    match = re.fullmatch(r"switchboard (\S+) \((\S+)\)\n", result.stdout)
    assert match, result.stdout
    assert match.group(1) == release.group(1)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("not a git checkout: the commit is SWITCHBOARD_COMMIT's at build time")
    commit = re.fullmatch(r"([0-9a-f]{12})(-dirty)?", match.group(2))
    assert commit, f"not a commit: {match.group(2)}"
    assert head.stdout.strip().startswith(commit.group(1)), f"built from {match.group(2)}, HEAD is {head.stdout}"


def test_unknown_flag_exits_64_naming_it():
    # check takes no serve flag: the groups belong to serve alone.
    for args, flag in ((["--no-such-flag"], "--no-such-flag"), (["serve", "--no-such-flag"], "--no-such-flag"),
                       (["check", "--port", "1"], "--port")):
        result = run(*args)
        assert result.returncode == 64, args
        assert f"Error: Unknown option '{flag}'" in result.stderr, result.stderr
        assert "Usage: switchboard" in result.stderr


def test_check_prints_one_summary_line():
    result = run("check", "--providers", ROOT / "providers", "--scripts", ROOT / "scripts", "--plugins", ROOT / "plugins")
    assert result.returncode == 0, result.stdout + result.stderr
    match = re.fullmatch(r"ok: (\d+) providers, \d+ libraries, (\d+) scripts, (\d+) check plugins\n", result.stdout)
    assert match, result.stdout
    checks = [p for p in (ROOT / "plugins").glob("*/*.lua") if p.parent.name != "lib"]
    assert [int(n) for n in match.groups()] == [len(list((ROOT / "providers").glob("*.lua"))),
                                                len(list((ROOT / "scripts").glob("*.lua"))), len(checks)]


def test_no_arguments_serve_with_the_defaults():
    gateway = Process([SWITCHBOARD], env={"SWITCHBOARD_PORT": "0"})
    try:
        gateway.wait_for(r"switchboard listening on http://127\.0\.0\.1:\d+")
    finally:
        gateway.stop()


def test_readme_shows_the_help_the_binary_prints():
    # README.md's "Command line" section quotes `switchboard --help` (80 columns); a flag added
    # without it fails here.
    help_text = run("--help", env={"COLUMNS": "80"}).stdout
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"```\n\$ switchboard --help\n(.*?)```", readme, re.S)
    assert match, "README.md has no fenced `$ switchboard --help` block"
    assert match.group(1).rstrip("\n") == help_text.rstrip("\n")
