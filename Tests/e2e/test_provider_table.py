"""providers/README.md's "Bundled providers" table is what the provider scripts declare (issue 19):
`switchboard check --provider-table` builds it from each script's endpoint table, base URL and
descriptive fields, and the README must carry exactly that output."""
import re
import subprocess

from conftest import BIN, ROOT

START, END = "<!-- provider-table:start -->\n", "<!-- provider-table:end -->"


def generated(providers=ROOT / "providers"):
    return subprocess.run([BIN / "switchboard", "check", "--provider-table", "--providers", providers],
                          capture_output=True, text=True, timeout=60, check=True).stdout


def test_the_readme_table_is_the_generated_one():
    readme = (ROOT / "providers" / "README.md").read_text()
    quoted = readme[readme.index(START) + len(START):readme.index(END)]
    assert quoted == generated(), (
        "providers/README.md's provider table differs from the scripts; regenerate it: scripts/write-tables")


def test_every_provider_file_is_a_row_and_every_row_a_file():
    rows = re.findall(r"^\| \[?`([^`]+)`", generated(), flags=re.MULTILINE)
    files = sorted(path.stem for path in (ROOT / "providers").glob("*.lua"))
    assert rows == files and "id" not in rows


def test_a_new_provider_appears_with_what_it_declares(tmp_path):
    # The table follows the scripts: a file dropped in shows up with its endpoints and fields.
    folder = tmp_path / "providers"
    (folder / "lib").mkdir(parents=True)
    for lib in (ROOT / "providers" / "lib").glob("*.lua"):
        (folder / "lib" / lib.name).write_text(lib.read_text())
    (folder / "acme.lua").write_text(
        'local compat = require("openai_compatible")\n'
        'return compat.provider { name = "Acme", base_url = "https://api.acme.example/v1",\n'
        '  endpoints = { "chat/completions", "rerank" }, docs = "https://docs.acme.example", notes = "a | pipe" }\n')
    table = generated(folder)
    assert ("| [`acme`](https://docs.acme.example) | chat/completions, rerank, other /v1 paths | native | "
            "Authorization: Bearer <key> | `https://api.acme.example/v1` | a \\| pipe |") in table.splitlines()


def test_the_readme_endpoint_table_is_the_generated_one():
    readme = (ROOT / "README.md").read_text()
    start, end = "<!-- endpoint-table:start -->\n", "<!-- endpoint-table:end -->"
    quoted = readme[readme.index(start) + len(start):readme.index(end)]
    table = subprocess.run([BIN / "switchboard", "check", "--endpoint-table", "--providers", ROOT / "providers"],
                           capture_output=True, text=True, timeout=60, check=True).stdout
    assert quoted == table, "README.md's endpoint table differs from the scripts; regenerate it: scripts/write-tables"
    # Every endpoint the gateway routes is a row.
    rows = re.findall(r"^\| ([a-z/_]+) \| ", table, flags=re.MULTILINE)
    assert {"images/generations", "audio/speech", "audio/transcriptions", "rerank", "moderations", "files", "batches",
            "realtime", "chat/completions", "messages", "responses"} <= set(rows)
