#!/usr/bin/env python3
"""The "Map or refuse" tables of providers/README.md, made from `switchboard check --converters`.

    python3 Tests/e2e/params_table.py           # prints the tables
    python3 Tests/e2e/params_table.py --write   # replaces them in providers/README.md

test_map_or_refuse.py fails when the README's tables differ from what this prints, so the README
says what the converters declare.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("SWITCHBOARD_BIN_DIR", ROOT / ".build" / "debug"))
README = ROOT / "providers" / "README.md"
BEGIN = "<!-- params-table: made by Tests/e2e/params_table.py --write; do not edit by hand -->"
END = "<!-- params-table end -->"


def converters(providers=ROOT / "providers"):
    result = subprocess.run([str(BIN / "switchboard"), "check", "--converters", "--providers", str(providers),
                             "--scripts", str(ROOT / "scripts")], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        sys.exit(result.stdout + result.stderr)
    return json.loads(result.stdout)


def tables(declared):
    out = []
    for module in sorted(declared):
        info = declared[module]
        out.append(f"#### `{module}` (`{info['from']}` → `{info['to']}`)\n")
        params = info["params"]
        if params is None:
            out.append("No declarations: every field passes unchecked.\n")
            continue
        out.append("| | fields |")
        out.append("|---|---|")
        for kind in ("mapped", "refused"):
            fields = sorted(f for f, v in params.items() if v == kind)
            out.append(f"| {kind} | " + (", ".join(f"`{f}`" for f in fields) or "—") + " |")
        for field in sorted(f for f, v in params.items() if v.startswith("dropped:")):
            out.append(f"| dropped: `{field}` | {params[field][len('dropped:'):].strip()} |")
        out.append("")
    return "\n".join(out)


def readme_tables(text):
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[start:end].strip("\n")


def main():
    made = tables(converters())
    if "--write" not in sys.argv:
        print(made)
        return
    text = README.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    README.write_text(text[:start] + "\n" + made + "\n" + text[end:])


if __name__ == "__main__":
    main()
