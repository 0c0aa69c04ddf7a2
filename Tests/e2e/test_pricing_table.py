"""The pricing table (`pricing/*.json`, format in pricing/README.md) is data the gateway's cost
accounting reads: every file must have exactly the documented fields, so a typo in a key is an
error here, not a model silently counted as unpriced or a price silently ignored.

Offline and fast: no gateway, no network. `check_file` returns every problem it finds; the
shipped files must have none, and each broken variant below must produce the problem it plants
(so each check is known to bite).
"""
import copy
import datetime
import json
import math
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PRICING = ROOT / "pricing"
PROVIDERS = ROOT / "providers"

TOP_REQUIRED = {"provider", "currency", "unit", "source", "read_on", "models"}
TOP_OPTIONAL = {"aliases", "note"}
MODEL_REQUIRED = {"input", "output"}
MODEL_OPTIONAL = {"cached_input", "cache_write", "long_context", "source", "read_via", "valid_until"}
LONG_REQUIRED = {"above_input_tokens", "input", "output"}
LONG_OPTIONAL = {"cached_input", "cache_write"}
PRICE_KEYS = ("input", "output", "cached_input", "cache_write")
MUST_BE_PRICED = {"openai", "anthropic", "google"}


def bundled_providers():
    return {path.stem for path in PROVIDERS.glob("*.lua")}


def is_https_url(value):
    return isinstance(value, str) and re.fullmatch(r"https://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(/\S*)?", value) is not None


def is_price(value):
    # bool is an int in Python; true/false is not a price.
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and value >= 0)


def is_iso_date(value):
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def check_prices(where, entry, problems):
    for key in PRICE_KEYS:
        if key in entry and not is_price(entry[key]):
            problems.append(f"{where}: {key} {entry[key]!r} is not a non-negative finite number")


def check_table(file_name, table):
    """Every problem in one parsed pricing file named `file_name` (e.g. "openai.json")."""
    problems = []
    if not isinstance(table, dict):
        return [f"{file_name}: top level is not an object"]
    for key in sorted(set(table) - TOP_REQUIRED - TOP_OPTIONAL):
        problems.append(f"{file_name}: unknown top-level key {key!r}")
    for key in sorted(TOP_REQUIRED - set(table)):
        problems.append(f"{file_name}: missing top-level key {key!r}")

    expected_provider = file_name.split(".")[0]
    provider = table.get("provider")
    if provider != expected_provider:
        problems.append(f"{file_name}: provider {provider!r} is not the file name's {expected_provider!r}")
    if provider not in bundled_providers():
        problems.append(f"{file_name}: provider {provider!r} has no providers/{provider}.lua")
    if "currency" in table and table["currency"] != "USD":
        problems.append(f"{file_name}: currency {table['currency']!r} is not 'USD'")
    if "unit" in table and table["unit"] != "per_million_tokens":
        problems.append(f"{file_name}: unit {table['unit']!r} is not 'per_million_tokens'")
    if "source" in table and not is_https_url(table["source"]):
        problems.append(f"{file_name}: source {table['source']!r} is not an https URL")
    if "read_on" in table:
        if not is_iso_date(table["read_on"]):
            problems.append(f"{file_name}: read_on {table['read_on']!r} is not an ISO date YYYY-MM-DD")
        elif datetime.date.fromisoformat(table["read_on"]) > datetime.datetime.now(datetime.timezone.utc).date():
            problems.append(f"{file_name}: read_on {table['read_on']} is in the future")
    if "note" in table and not (isinstance(table["note"], str) and table["note"].strip()):
        problems.append(f"{file_name}: note is not a non-empty string")

    models = table.get("models", {})
    if not isinstance(models, dict):
        problems.append(f"{file_name}: models is not an object")
        models = {}
    for model_id, entry in models.items():
        where = f"{file_name}: model {model_id!r}"
        if not model_id or model_id != model_id.strip():
            problems.append(f"{where}: model id is empty or has surrounding spaces")
        if not isinstance(entry, dict):
            problems.append(f"{where}: not an object")
            continue
        for key in sorted(set(entry) - MODEL_REQUIRED - MODEL_OPTIONAL):
            problems.append(f"{where}: unknown key {key!r}")
        for key in sorted(MODEL_REQUIRED - set(entry)):
            problems.append(f"{where}: missing {key!r}")
        check_prices(where, entry, problems)
        for key in ("source", "read_via"):
            if key in entry and not is_https_url(entry[key]):
                problems.append(f"{where}: {key} {entry[key]!r} is not an https URL")
        if "valid_until" in entry and not is_iso_date(entry["valid_until"]):
            problems.append(f"{where}: valid_until {entry['valid_until']!r} is not an ISO date YYYY-MM-DD")
        if "long_context" in entry:
            long = entry["long_context"]
            if not isinstance(long, dict):
                problems.append(f"{where}: long_context is not an object")
                continue
            for key in sorted(set(long) - LONG_REQUIRED - LONG_OPTIONAL):
                problems.append(f"{where}: long_context: unknown key {key!r}")
            for key in sorted(LONG_REQUIRED - set(long)):
                problems.append(f"{where}: long_context: missing {key!r}")
            check_prices(f"{where}: long_context", long, problems)
            threshold = long.get("above_input_tokens")
            if "above_input_tokens" in long and not (
                    isinstance(threshold, int) and not isinstance(threshold, bool) and threshold > 0):
                problems.append(f"{where}: long_context: above_input_tokens {threshold!r} is not a positive integer")

    aliases = table.get("aliases", {})
    if not isinstance(aliases, dict):
        problems.append(f"{file_name}: aliases is not an object")
        aliases = {}
    for alias, target in aliases.items():
        if alias in models:
            problems.append(f"{file_name}: alias {alias!r} is also a model key (matching would be ambiguous)")
        if target not in models:
            problems.append(f"{file_name}: alias {alias!r} points to {target!r}, which is not a model key")
    return problems


class DuplicateKey(ValueError):
    pass


def refuse_duplicates(pairs):
    # json.loads keeps the last of two equal keys silently; a model listed twice is refused.
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise DuplicateKey(f"key {key!r} appears twice")
        seen[key] = value
    return seen


def check_file(path):
    try:
        table = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=refuse_duplicates)
    except DuplicateKey as error:
        return [f"{path.name}: {error}"]
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return [f"{path.name}: does not parse as JSON: {error}"]
    return check_table(path.name, table)


def shipped_files():
    return sorted(PRICING.glob("*.json"))


@pytest.mark.parametrize("path", shipped_files(), ids=lambda path: path.name)
def test_shipped_file_has_exactly_the_documented_fields(path):
    assert check_file(path) == []


def test_the_main_providers_are_priced():
    priced = {path.name.split(".")[0] for path in shipped_files()
              if json.loads(path.read_text(encoding="utf-8"))["models"]}
    assert MUST_BE_PRICED <= priced, f"missing: {sorted(MUST_BE_PRICED - priced)}"


def test_every_shipped_file_is_listed_in_the_readme():
    readme = (PRICING / "README.md").read_text(encoding="utf-8")
    # A user's overlay (`openai.local.json`) is not ours to document; a bundled table is.
    for path in (path for path in shipped_files() if "." not in path.stem):
        assert f"`{path.name}`" in readme, f"{path.name} has no row in pricing/README.md"


# Each broken variant of a valid table must be caught, naming what is wrong.
VALID = {
    "provider": "openai",
    "currency": "USD",
    "unit": "per_million_tokens",
    "source": "https://example.com/pricing",
    "read_on": "2026-11-27",
    "models": {
        "model-a": {"input": 1.0, "output": 4.0, "cached_input": 0.1,
                    "read_via": "https://example.org/copy", "valid_until": "2026-12-31"},
        "model-b": {"input": 2, "output": 8, "cache_write": 2.5,
                    "long_context": {"above_input_tokens": 200000, "input": 4, "output": 12}},
    },
    "aliases": {"model-a-latest": "model-a"},
}


def broken(change):
    table = copy.deepcopy(VALID)
    change(table)
    return table


BROKEN = {
    "unknown top-level key": (lambda t: t.update(prices={}), "unknown top-level key 'prices'"),
    "missing source": (lambda t: t.pop("source"), "missing top-level key 'source'"),
    "provider not the file name": (lambda t: t.update(provider="anthropic"), "is not the file name's"),
    "currency": (lambda t: t.update(currency="EUR"), "currency 'EUR'"),
    "unit": (lambda t: t.update(unit="per_thousand_tokens"), "unit 'per_thousand_tokens'"),
    "http source": (lambda t: t.update(source="http://example.com/p"), "is not an https URL"),
    "read_on not a date": (lambda t: t.update(read_on="2026-13-01"), "is not an ISO date"),
    "read_on not ISO": (lambda t: t.update(read_on="27 Nov 2026"), "is not an ISO date"),
    "read_on in the future": (lambda t: t.update(read_on="2999-01-01"), "read_on 2999-01-01 is in the future"),
    "read_via not https": (lambda t: t["models"]["model-a"].update(read_via="ftp://x.org/p"),
                           "read_via 'ftp://x.org/p' is not an https URL"),
    "valid_until not a date": (lambda t: t["models"]["model-a"].update(valid_until="end of 2026"),
                               "valid_until 'end of 2026' is not an ISO date"),
    "unknown model key": (lambda t: t["models"]["model-a"].update(cached=0.1), "unknown key 'cached'"),
    "input without output": (lambda t: t["models"]["model-a"].pop("output"), "missing 'output'"),
    "negative price": (lambda t: t["models"]["model-a"].update(input=-1), "input -1 is not"),
    "string price": (lambda t: t["models"]["model-a"].update(output="4"), "output '4' is not"),
    "boolean price": (lambda t: t["models"]["model-a"].update(cached_input=True), "cached_input True is not"),
    "infinite price": (lambda t: t["models"]["model-a"].update(input=float("inf")), "input inf is not"),
    "long_context unknown key": (lambda t: t["models"]["model-b"]["long_context"].update(tokens=1),
                                 "long_context: unknown key 'tokens'"),
    "long_context threshold": (lambda t: t["models"]["model-b"]["long_context"].update(above_input_tokens=0),
                               "above_input_tokens 0 is not"),
    "long_context missing output": (lambda t: t["models"]["model-b"]["long_context"].pop("output"),
                                    "long_context: missing 'output'"),
    "alias to nothing": (lambda t: t["aliases"].update(x="model-z"), "points to 'model-z'"),
    "alias shadows a model": (lambda t: t["aliases"].update({"model-b": "model-a"}), "is also a model key"),
}


def test_the_valid_example_passes():
    assert check_table("openai.json", VALID) == []


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_table_is_refused(name):
    change, expected = BROKEN[name]
    problems = check_table("openai.json", broken(change))
    assert any(expected in problem for problem in problems), problems


def test_provider_without_a_provider_script_is_refused():
    table = broken(lambda t: t.update(provider="nosuchprovider"))
    assert any("has no providers/nosuchprovider.lua" in p for p in check_table("nosuchprovider.json", table))


def test_model_listed_twice_is_refused(tmp_path):
    path = tmp_path / "openai.json"
    text = json.dumps(VALID).replace('"model-b":', '"model-a":')
    path.write_text(text, encoding="utf-8")
    assert check_file(path) == ["openai.json: key 'model-a' appears twice"]


def test_overlay_file_names_its_provider_before_the_first_dot():
    assert check_table("openai.local.json", VALID) == []
    assert any("is not the file name's 'anthropic'" in p for p in check_table("anthropic.local.json", VALID))


def test_file_that_does_not_parse_is_refused(tmp_path):
    path = tmp_path / "openai.json"
    path.write_text('{"provider": "openai",', encoding="utf-8")
    assert check_file(path)[0].startswith("openai.json: does not parse as JSON")
