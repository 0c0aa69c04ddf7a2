"""The operators' console at /console: behind the admin token (404 without one configured, 401 with a
wrong one), a session cookie opened with the token, the live feed over SSE read by a raw HTTP client
while the openai SDK sends requests, the loaded state, a graceful shutdown that ends the feed, and
the page itself driven in a real headless Chromium (selenium), which also takes the README's
screenshot:

    python3 Tests/e2e/test_console.py --screenshot docs/console.png
"""
import http.client
import json
import os
import shutil
import signal
import socket
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import openai  # noqa: E402
import pytest  # noqa: E402

from conftest import start_gateway, start_mock  # noqa: E402
from http_helpers import CHAT, call, openai_headers  # noqa: E402

TOKEN = "console-admin-token-42"
BEARER = {"Authorization": "Bearer " + TOKEN}


def write_configs(folder, mock):
    folder.mkdir(exist_ok=True)
    (folder / "mock.json").write_text(json.dumps({
        "strategy": {"mode": "fallback"},
        "targets": [{"provider": "openai", "api_key": "sk-mock", "custom_host": mock.url + "/v1"}]}))
    return folder


def start_console_gateway(mock, folder, *extra):
    return start_gateway("--admin-token", TOKEN, "--configs", str(write_configs(folder, mock)), "--request-log", "off",
                         *extra)


@pytest.fixture
def console(mock, tmp_path, launch):
    return launch("--admin-token", TOKEN, "--configs", str(write_configs(tmp_path / "configs", mock)),
                  "--request-log", "off")


def sdk(gateway, mock, trace_id):
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key="sk-test", max_retries=0,
                         default_headers={"x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1",
                                          "x-portkey-trace-id": trace_id})


class Feed:
    """`GET /console/feed` over a raw socket (http.client), parsed event by event."""

    def __init__(self, gateway, headers=None, rcvbuf=None, timeout=15):
        parts = urlsplit(gateway.url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        if rcvbuf:
            # A small receive window, set before connecting: a browser that reads nothing.
            self.conn.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.conn.sock.settimeout(timeout)
            self.conn.sock.connect((parts.hostname, parts.port))
        self.conn.request("GET", "/console/feed", headers=headers if headers is not None else BEARER)
        self.response = self.conn.getresponse()

    def events(self):
        """Yields (event, data) until the stream ends; comments (heartbeats) are skipped."""
        name, data = "message", []
        while True:
            line = self.response.fp.readline()
            if not line:
                return
            line = line.decode().rstrip("\r\n")
            if line == "":
                if data:
                    yield name, "\n".join(data)
                name, data = "message", []
            elif line.startswith(":"):
                continue
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())

    def close(self):
        self.response.close()  # the response's file holds the socket open too
        self.conn.close()


# ---------------------------------------------------------------- access

def test_no_console_without_an_admin_token(gateway):
    for method, path in [("GET", "/console"), ("GET", "/console/feed"), ("GET", "/console/state"),
                         ("GET", "/console/console.js"), ("POST", "/console/session")]:
        reply = call(method, gateway.url + path, headers=BEARER)
        assert reply.status == 404, (path, reply.status)
        assert reply.error()["type"] == "invalid_request_error"


def test_wrong_token_is_refused_and_the_page_is_only_a_login_form(console):
    for method, path in [("GET", "/console/feed"), ("GET", "/console/state"), ("POST", "/console/session")]:
        reply = call(method, console.url + path, headers={"Authorization": "Bearer not-the-token"})
        assert reply.status == 401, (path, reply.status)
        error = reply.error()
        assert error["type"] == "authentication_error" and error["code"] == "invalid_admin_token"
    page = call("GET", console.url + "/console")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    html = page.body.decode()
    assert 'id="login-form"' in html and "feed-body" not in html
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["cache-control"] == "no-store"
    # A cookie that is no session opens nothing.
    bogus = {"Cookie": "switchboard_console=" + "0" * 64}
    assert call("GET", console.url + "/console/state", headers=bogus).status == 401
    assert "feed-body" not in call("GET", console.url + "/console", headers=bogus).body.decode()


def test_the_token_opens_a_session_cookie_that_is_not_the_token(console):
    login = call("POST", console.url + "/console/session", headers=BEARER)
    assert login.status == 204
    cookie = login.headers["set-cookie"]
    attributes = [part.strip() for part in cookie.split(";")]
    assert "HttpOnly" in attributes and "SameSite=Strict" in attributes and "Path=/console" in attributes
    name, value = attributes[0].split("=", 1)
    assert name == "switchboard_console" and TOKEN not in value and len(value) == 64
    session = {"Cookie": f"{name}={value}"}
    page = call("GET", console.url + "/console", headers=session)
    assert 'id="feed-body"' in page.body.decode()
    state = call("GET", console.url + "/console/state", headers=session)
    assert state.status == 200 and state.headers["cache-control"] == "no-store"
    # Signing out ends the session.
    assert call("DELETE", console.url + "/console/session", headers=session).status == 204
    assert call("GET", console.url + "/console/state", headers=session).status == 401


def test_state_lists_the_loaded_providers_scripts_plugins_and_configs(console):
    reply = call("GET", console.url + "/console/state", headers=BEARER)
    assert reply.status == 200
    state = reply.json()
    assert state["generation"] == 1 and state["last_error"] is None and state["failed_reloads"] == 0
    assert "openai" in state["providers"] and "anthropic" in state["providers"]
    details = {p["id"]: p for p in state["provider_details"]}
    assert set(details) == set(state["providers"])
    assert details["openai"]["file"].endswith("openai.lua") and details["openai"]["base_url"].startswith("https://")
    assert state["configs"] == ["mock"]
    assert any(name.startswith("default.") for name in state["plugins"])
    # The same answer as the admin endpoint: one source.
    admin = call("GET", console.url + "/admin/scripts", headers=BEARER).json()
    assert admin["provider_details"] == state["provider_details"]
    # A reload is shown with its time.
    assert call("POST", console.url + "/admin/reload", headers=BEARER).status == 200
    after = call("GET", console.url + "/console/state", headers=BEARER).json()
    assert after["generation"] == 2 and abs(after["last_reload_at_ms"] / 1000 - time.time()) < 60


# ---------------------------------------------------------------- the live feed

def read_until(events, predicate, limit=200):
    seen = []
    for name, data in events:
        seen.append((name, data))
        if predicate(name, data):
            return seen
        if len(seen) >= limit:
            break
    raise AssertionError(f"not seen; got {seen}")


def test_feed_carries_each_finished_request(console, mock):
    feed = Feed(console)
    assert feed.response.status == 200
    assert feed.response.getheader("content-type").startswith("text/event-stream")
    assert feed.response.getheader("cache-control") == "no-store"
    events = feed.events()
    name, data = next(events)
    assert name == "hello" and json.loads(data)["subscribers"] == 1

    trace = "console-" + uuid.uuid4().hex[:8]
    client = sdk(console, mock, trace + "-plain")
    answer = client.chat.completions.create(model="gpt-5-mini", messages=[{"role": "user", "content": "hi"}])
    stream_client = sdk(console, mock, trace + "-stream")
    chunks = list(stream_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                                        stream=True, stream_options={"include_usage": True}))
    usage = [c.usage for c in chunks if c.usage][-1]
    failed = call("POST", console.url + "/v1/chat/completions",
                  headers={**openai_headers(mock), "x-portkey-provider": "nope", "x-portkey-trace-id": trace + "-bad"},
                  body=CHAT)
    assert failed.status == 400

    got = {}
    for name, data in events:
        assert name == "request", (name, data)
        event = json.loads(data)
        got[event["trace_id"]] = event
        if {trace + "-plain", trace + "-stream", trace + "-bad"} <= set(got):
            break
    plain, streamed, bad = got[trace + "-plain"], got[trace + "-stream"], got[trace + "-bad"]
    assert plain["method"] == "POST" and plain["route"] == "/v1/chat/completions"
    assert plain["provider"] == "openai" and plain["model"] == "gpt-5-mini" and plain["status"] == 200
    assert plain["tokens_in"] == answer.usage.prompt_tokens and plain["tokens_out"] == answer.usage.completion_tokens
    assert plain["latency_ms"] > 0 and plain["first_chunk_ms"] is None and plain["error"] is None
    assert plain["cost_usd"] > 0  # gpt-5-mini is in the pricing table
    assert "cache" in plain and "target" in plain and "time" in plain
    assert streamed["stream"] is True and streamed["model"] == "gpt-4o-mini"
    assert streamed["first_chunk_ms"] is not None and 0 < streamed["first_chunk_ms"] <= streamed["latency_ms"]
    assert streamed["tokens_in"] == usage.prompt_tokens and streamed["tokens_out"] == usage.completion_tokens
    assert bad["status"] == 400 and bad["error"] is not None
    # Never a header or a key, never a body.
    for event in (plain, streamed, bad):
        text = json.dumps(event)
        assert "sk-test" not in text and "request_body" not in event and "hi" not in event.values()
    feed.close()

    # The closed feed left: the next watcher is the only one.
    deadline = time.monotonic() + 5
    while True:
        again = Feed(console)
        name, data = next(again.events())
        count = json.loads(data)["subscribers"]
        again.close()
        if count == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert count == 1


def test_a_routed_request_shows_its_target(console):
    feed = Feed(console)
    events = feed.events()
    assert next(events)[0] == "hello"
    client = openai.OpenAI(base_url=console.url + "/v1", api_key="unused", max_retries=0,
                           default_headers={"x-portkey-config": "mock", "x-portkey-trace-id": "routed-1"})
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    seen = read_until(events, lambda name, data: name == "request" and json.loads(data)["trace_id"] == "routed-1")
    event = json.loads(seen[-1][1])
    assert event["target"] == "config.targets[0]" and event["provider"] == "openai" and event["attempts"] == 1
    feed.close()


def test_a_reader_that_reads_nothing_is_dropped_for_not_waited_for(console, mock):
    """A feed whose client never reads: requests keep their pace, the watcher's queue stays bounded,
    and when it reads again it is told how many events it missed."""
    slow = Feed(console, rcvbuf=4096)
    assert slow.response.status == 200
    parts = urlsplit(console.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    body = json.dumps(CHAT)
    sent = 0
    started = time.monotonic()
    # Enough events (~600 bytes each) to fill the socket buffers and then the 512-event queue.
    while sent < 1500:
        conn.request("POST", "/v1/chat/completions", body=body,
                     headers={**openai_headers(mock), "x-portkey-trace-id": f"slow-{sent}"})
        response = conn.getresponse()
        response.read()
        assert response.status == 200
        sent += 1
    elapsed = time.monotonic() - started
    # The watcher reads again: what waited comes, after the count of what did not fit; then one
    # more request, whose event marks the end.
    events = slow.events()
    received, dropped = 0, 0
    for name, data in events:
        if name == "request":
            received += 1
        elif name == "dropped":
            dropped += json.loads(data)["count"]
            break
    conn.request("POST", "/v1/chat/completions", body=body,
                 headers={**openai_headers(mock), "x-portkey-trace-id": "slow-marker"})
    assert conn.getresponse().read() and True
    conn.close()
    for name, data in events:
        assert name == "request", (name, data)
        if json.loads(data)["trace_id"] == "slow-marker":
            break
        received += 1
    slow.close()
    assert dropped > 0, f"nothing was dropped ({received} received): the buffers held everything"
    assert received + dropped == sent, (received, dropped, sent)
    print(f"{sent} requests in {elapsed:.1f} s with a stalled watcher: {received} events delivered, {dropped} dropped")


def test_sigterm_ends_the_feed_cleanly(mock, tmp_path):
    gateway = start_console_gateway(mock, tmp_path / "configs")
    try:
        feed = Feed(gateway)
        events = feed.events()
        assert next(events)[0] == "hello"
        started = time.monotonic()
        gateway.proc.send_signal(signal.SIGTERM)
        rest = list(events)  # ends when the gateway closes the stream
        assert rest and rest[-1][0] == "end" and "shutting down" in json.loads(rest[-1][1])["reason"]
        assert gateway.proc.wait(10) == 0
        assert time.monotonic() - started < 5  # not held until the drain deadline
    finally:
        gateway.stop()


# ---------------------------------------------------------------- a real browser

def chromium_paths():
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)
    return browser, driver


def open_browser(width=1440, height=1760):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    browser, driver = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={width},{height}", "--force-device-scale-factor=1", "--lang=en-US"]:
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(driver), options=options)


def send_traffic(gateway, mock, seconds):
    """A few minutes' worth of traffic squeezed into `seconds`, over three providers (the mock speaks
    their dialects), with varied latency and some failures: what the screenshot shows."""
    import random
    rng = random.Random(18)
    providers = [
        ("openai", mock.url + "/v1", "gpt-5-mini"),
        ("anthropic", mock.url + "/v1", "claude-opus-5-5"),
        ("google", mock.url + "/v1beta", "gemini-2.5-flash"),
    ]
    deadline = time.monotonic() + seconds
    count = 0
    while time.monotonic() < deadline:
        provider, host, model = providers[count % 3]
        body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 64}
        if provider == "openai":
            # The mock's controls ride in the body; only the passthrough provider sends them on.
            body["mock"] = {"latency_ms": int(rng.lognormvariate(3.2, 0.6))}
            if rng.random() < 0.08:
                body["mock"]["status"] = rng.choice([429, 500])
        call("POST", gateway.url + "/v1/chat/completions", body=body,
             headers={"x-portkey-provider": provider, "Authorization": "Bearer sk-demo",
                      "x-portkey-custom-host": host, "Content-Type": "application/json"})
        count += 1
        time.sleep(rng.uniform(0.05, 0.35))
    return count


def drive_console(gateway, mock, screenshot=None, traffic_seconds=0):
    """Logs in, sends requests with the SDK and through the page's form, and checks the feed."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    browser = open_browser()
    try:
        wait = WebDriverWait(browser, 20)
        browser.get(gateway.url + "/console")
        assert browser.find_element(By.TAG_NAME, "body").get_attribute("id") == "login"
        # A wrong token is refused on the page.
        browser.find_element(By.ID, "token").send_keys("wrong")
        browser.find_element(By.ID, "login-button").click()
        wait.until(lambda b: "not the admin token" in b.find_element(By.ID, "login-error").text)
        token = browser.find_element(By.ID, "token")
        token.clear()
        token.send_keys(TOKEN)
        browser.find_element(By.ID, "login-button").click()
        wait.until(lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("id") == "console")
        wait.until(lambda b: b.find_element(By.ID, "live").text == "live")
        wait.until(lambda b: "generation" in b.find_element(By.ID, "state-summary").text)
        # The session is an HttpOnly cookie: the page's script cannot read it.
        assert browser.execute_script("return document.cookie") == ""

        if traffic_seconds:
            send_traffic(gateway, mock, traffic_seconds)
        run = uuid.uuid4().hex[:6]
        for index, model in enumerate(["gpt-5-mini", "gpt-4o-mini", "gpt-4o", "gpt-4.1-mini"]):
            client = sdk(gateway, mock, f"sdk-{run}-{index}")
            if index == 1:
                list(client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}],
                                                    stream=True, stream_options={"include_usage": True}))
            else:
                client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
        call("POST", gateway.url + "/v1/chat/completions",
             headers={**openai_headers(mock), "x-portkey-provider": "nope", "x-portkey-trace-id": f"sdk-{run}-bad"},
             body=CHAT)
        wait.until(lambda b: all(f"sdk-{run}-{i}" in b.find_element(By.ID, "feed-body").text for i in range(4)))
        rows = browser.find_elements(By.CSS_SELECTOR, "#feed-body tr")
        row = next(r for r in rows if f"sdk-{run}-0" in r.text)
        cells = [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
        assert cells[1] == "POST /v1/chat/completions" and cells[2] == "openai" and cells[3] == "gpt-5-mini" and cells[5] == "200"
        assert cells[9].startswith("$")  # priced by the pricing table

        # The test form, through the routing config.
        browser.find_element(By.CSS_SELECTOR, "input[name=via][value=config]").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "test-target"), "mock"))
        model = browser.find_element(By.ID, "test-model")
        model.clear()
        model.send_keys("gpt-4o")
        browser.find_element(By.ID, "test-send").click()
        wait.until(lambda b: b.find_element(By.ID, "test-status").text.startswith("200"))
        wait.until(lambda b: b.find_element(By.ID, "test-output").text.strip() != "")
        trace = browser.find_element(By.ID, "test-status").text.split("trace ")[1].split(" ")[0]
        # Its row in the feed (found by the trace id the page showed with the answer).
        find_row = ("return [...document.querySelectorAll('#feed-body tr')]"
                    ".filter(r => r.lastChild.textContent === arguments[0]).map(r => r.textContent)")
        wait.until(lambda b: b.execute_script(find_row, trace))
        row_text = browser.execute_script(find_row, trace)[0]
        assert "config.targets[0]" in row_text and "openai" in row_text and "200" in row_text

        # Charts: one card per provider seen, drawn on canvases.
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, ".chart-card[data-provider=openai] canvas.latency"))
        painted = browser.execute_script(
            "const c = document.querySelector('.chart-card[data-provider=openai] canvas.requests');"
            "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
            "let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n;")
        assert painted > 100
        loaded = browser.find_element(By.ID, "loaded").text
        assert "openai" in loaded and "mock" in loaded
        if screenshot:
            time.sleep(0.5)
            browser.find_element(By.ID, "test-target")  # settle
            browser.save_screenshot(str(screenshot))
    finally:
        browser.quit()


def test_the_console_in_a_real_browser(console, mock):
    browser, driver = chromium_paths()
    if not browser or not driver:
        pytest.skip("chromium and chromium-driver are not installed (make test-deps installs them)")
    pytest.importorskip("selenium", reason="selenium is not installed (make python-deps installs it)")
    drive_console(console, mock)


def main():
    """`--screenshot PATH`: runs the browser test against a fresh gateway and saves the page."""
    import argparse
    import tempfile
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--screenshot", required=True, type=Path)
    parser.add_argument("--traffic-seconds", type=float, default=45, help="traffic before the screenshot (default 45)")
    args = parser.parse_args()
    mock = start_mock()
    with tempfile.TemporaryDirectory() as folder:
        gateway = start_console_gateway(mock, Path(folder) / "configs")
        try:
            drive_console(gateway, mock, screenshot=args.screenshot.resolve(), traffic_seconds=args.traffic_seconds)
        finally:
            gateway.stop()
            mock.stop()
    print(f"saved {args.screenshot}")


if __name__ == "__main__":
    main()
