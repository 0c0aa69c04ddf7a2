"""Cost and budgets (issue 17): every request's cost from the pricing table (pricing/) goes into
the request log (`cost_usd`) and `switchboard_cost_usd_total{provider,model,key}`; a model
missing from the table is counted as unpriced, never guessed; a key's budget stops it with 429
`budget_exceeded` until its period ends. One process here (the in-process store)."""
import json
import time

import openai
import pytest

from http_helpers import CHAT
from test_observability import read_log, scrape, value

PRICE = {"input": 30, "output": 60}


def pricing_folder(tmp_path, models, name="pricing"):
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    write_prices(folder, models)
    return folder


def write_prices(folder, models):
    (folder / "openai.json").write_text(json.dumps({
        "provider": "openai", "currency": "USD", "unit": "per_million_tokens", "source": "https://example.com/prices",
        "read_on": "2026-11-27", "models": models}))


def client(gateway, mock, **headers):
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key="sk-provider", max_retries=0,
                         default_headers={"x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1", **headers})


def expected_cost(usage, price):
    return (usage.prompt_tokens * price["input"] + usage.completion_tokens * price["output"]) / 1e6


def test_each_request_costs_what_the_table_says_and_unpriced_models_are_counted(launch, mock, tmp_path):
    log = tmp_path / "requests.log"
    gateway = launch("--pricing", str(pricing_folder(tmp_path, {"gpt-4": PRICE})), "--request-log", str(log))
    sdk = client(gateway, mock)
    priced = sdk.chat.completions.create(model="gpt-4", messages=CHAT["messages"])
    streamed = [chunk.usage for chunk in sdk.chat.completions.create(
        model="gpt-4", messages=CHAT["messages"], stream=True, stream_options={"include_usage": True}) if chunk.usage]
    sdk.chat.completions.create(model="gpt-unpriced", messages=CHAT["messages"])
    first, second, third = read_log(log, 3)
    assert first["cost_usd"] == pytest.approx(expected_cost(priced.usage, PRICE), rel=1e-9)
    assert second["stream"] is True and second["cost_usd"] == pytest.approx(expected_cost(streamed[-1], PRICE), rel=1e-9)
    assert third["model"] == "gpt-unpriced" and third["cost_usd"] is None
    samples, helps = scrape(gateway)
    total = value(samples, "switchboard_cost_usd_total", provider="openai", model="gpt-4", key="none")
    assert total == pytest.approx(first["cost_usd"] + second["cost_usd"], rel=1e-9)
    assert value(samples, "switchboard_unpriced_requests_total", provider="openai", model="gpt-unpriced") == 1
    assert "pricing table" in helps["switchboard_cost_usd"]


def test_a_budget_stops_its_key_until_the_period_ends(launch, mock, tmp_path):
    settings = tmp_path / "settings.yaml"
    settings.write_text("gateway_keys:\n"
                        '  - {"key": "sb-team", "name": "team-a", "budget": {"max_usd": 0.0001, "period": "1d"}}\n'
                        "  - sb-other\n")
    gateway = launch("--config-file", str(settings), "--pricing", str(pricing_folder(tmp_path, {"gpt-4": PRICE})))
    team = client(gateway, mock, **{"x-portkey-api-key": "sb-team"})
    first = team.chat.completions.create(model="gpt-4", messages=CHAT["messages"])
    assert expected_cost(first.usage, PRICE) > 0.0001, "one answer must cost more than the budget for this test"
    with pytest.raises(openai.RateLimitError) as raised:
        team.chat.completions.create(model="gpt-4", messages=CHAT["messages"])
    error = raised.value.response
    body = error.json()["error"]
    assert body["code"] == "budget_exceeded" and "gateway key 'team-a'" in body["message"]
    assert "of $0.00" in body["message"] or "of $0.0001" in body["message"]
    reset = error.headers["x-portkey-budget-reset"]
    assert reset.endswith("T00:00:00Z") and reset in body["message"], "a 1d budget resets at midnight UTC"
    assert 1 <= int(error.headers["retry-after"]) <= 86_400
    # The cost metric names the key; another key is not stopped.
    samples, _ = scrape(gateway)
    assert value(samples, "switchboard_cost_usd_total", key="gk:team-a") == pytest.approx(expected_cost(first.usage, PRICE))
    assert value(samples, "switchboard_rate_limited_total", key="gk:team-a", window="budget") == 1
    other = client(gateway, mock, **{"x-portkey-api-key": "sb-other"})
    assert other.chat.completions.create(model="gpt-4", messages=CHAT["messages"]).choices


def test_prices_reload_when_the_folder_changes_and_a_broken_edit_keeps_the_old_table(launch, mock, tmp_path):
    folder = pricing_folder(tmp_path, {"gpt-4": PRICE})
    log = tmp_path / "requests.log"
    gateway = launch("--pricing", str(folder), "--request-log", str(log))
    sdk = client(gateway, mock)
    before = sdk.chat.completions.create(model="gpt-4", messages=CHAT["messages"])
    doubled = {"input": 60, "output": 120}
    time.sleep(1.1)  # a new modification time even on a coarse clock
    write_prices(folder, {"gpt-4": doubled})
    gateway.wait_for(r"pricing reloaded: 1 models", timeout=10)
    after = sdk.chat.completions.create(model="gpt-4", messages=CHAT["messages"])
    (folder / "openai.json").write_text('{"provider": "openai", "models": {}}')
    gateway.wait_for(r"pricing not reloaded, the previous table stays: pricing/openai.json: ", timeout=10)
    kept = sdk.chat.completions.create(model="gpt-4", messages=CHAT["messages"])
    lines = read_log(log, 3)
    assert lines[0]["cost_usd"] == pytest.approx(expected_cost(before.usage, PRICE))
    assert lines[1]["cost_usd"] == pytest.approx(expected_cost(after.usage, doubled))
    assert lines[2]["cost_usd"] == pytest.approx(expected_cost(kept.usage, doubled))


def test_a_pricing_file_that_breaks_the_format_stops_startup(tmp_path):
    import subprocess
    from conftest import BIN
    folder = pricing_folder(tmp_path, {"gpt-4": {"input": 1, "output": 2, "discount": 0.5}})
    served = subprocess.run([BIN / "switchboard", "--pricing", str(folder), "--port", "0"], capture_output=True, text=True, timeout=30)
    assert served.returncode != 0 and "pricing/openai.json: unknown key 'models.gpt-4.discount'" in served.stdout + served.stderr
