"""Every shipped check plugin (plugins/default/*.lua) through a real gateway: a config carrying a
hook with the check, Portkey's documented parameters, a pass case and a fail case each.

A guardrail with `deny: true` answers 446 when its check fails and 200 when it passes; both carry
`hook_results` (Portkey adds them to every non-streamed JSON answer once a synchronous hook ran).
The mock's answer text is set by the `mock.content` body control, and `mock.record` keeps the
upstream request for GET /mock/last-request, so request mutators are seen where they matter: at
the provider."""
import base64
import hashlib
import hmac
import json
import time

import openai
import pytest

from http_helpers import call, last_upstream_request

BEFORE = "before_request_hooks"
AFTER = "after_request_hooks"


def config_with(mock, before=None, after=None):
    config = {"provider": "openai", "api_key": "sk-test", "custom_host": mock.url + "/v1"}
    if before:
        config[BEFORE] = before
    if after:
        config[AFTER] = after
    return config


def hook(check_id, parameters=None, deny=True, kind="guardrail", hook_id="g1"):
    return {"type": kind, "id": hook_id, "deny": deny,
            "checks": [{"id": "default." + check_id, "parameters": parameters or {}}]}


def chat(gateway, config, content="hi", answer=None, model="gpt-4o", headers=None):
    controls = {"record": True}
    if answer is not None:
        controls["content"] = answer
    body = {"model": model, "messages": [{"role": "user", "content": content}], "mock": controls}
    return call("POST", gateway.url + "/v1/chat/completions", body=body,
                headers={"content-type": "application/json", "x-portkey-config": json.dumps(config), **(headers or {})})


def check_entry(reply, kind):
    results = reply.json()["hook_results"][kind]
    assert len(results) == 1, results
    assert len(results[0]["checks"]) == 1, results[0]
    return results[0]["checks"][0]


def run_case(gateway, mock, check_id, parameters, event, content="hi", answer=None, model="gpt-4o", headers=None):
    """Runs one check as a denying guardrail; returns (reply, the check's hook_results entry)."""
    kind = BEFORE if event == "before" else AFTER
    config = config_with(mock, **{event: [hook(check_id, parameters)]})
    reply = chat(gateway, config, content=content, answer=answer, model=model, headers=headers)
    assert reply.status in (200, 446), (reply.status, reply.body)
    entry = check_entry(reply, kind)
    assert entry["id"] == "default." + check_id
    assert isinstance(entry["execution_time"], (int, float))
    # The status follows the verdict: a denying hook that failed is a 446, one that passed a 200.
    assert (reply.status == 200) == entry["verdict"], (reply.status, entry)
    return reply, entry


# (check, parameters, event, request text, mock answer, expected verdict). Parameters and examples
# follow Portkey's plugin manifests and docs (plugins/default/*.ts in Portkey-AI/gateway).
CASES = [
    # contains: any / all / none of words, case-sensitive substrings
    ("contains", {"operator": "any", "words": ["test", "exam"]}, "after", "hi", "This is a test.", True),
    ("contains", {"operator": "all", "words": ["test", "Apple"]}, "after", "hi", "This is a test.", False),
    ("contains", {"operator": "none", "words": ["Apple"]}, "before", "Tell me about Apple", None, False),
    ("contains", {"operator": "none", "words": ["Apple"]}, "before", "Tell me about pears", None, True),
    # regexMatch: rule is a JavaScript regex source; `not` inverts
    ("regexMatch", {"rule": r"\d{5}"}, "after", "hi", "Order 12345 shipped.", True),
    ("regexMatch", {"rule": "^abc$"}, "after", "hi", "This is a test.", False),
    ("regexMatch", {"rule": "test", "not": True}, "after", "hi", "This is a test.", False),
    ("regexMatch", {"rule": r"^(yes|no)\b"}, "after", "hi", "no, thanks", True),
    ("regexMatch", {"rule": "^this", "flags": "i"}, "after", "hi", "This is a test.", True),
    # wordCount: minWords/maxWords, words are runs of non-space
    ("wordCount", {"minWords": 1, "maxWords": 5}, "after", "hi", "This is a test.", True),
    ("wordCount", {"minWords": 5, "maxWords": 10}, "after", "hi", "This is a test.", False),
    ("wordCount", {"minWords": 1, "maxWords": 5, "not": True}, "after", "hi", "This is a test.", False),
    ("wordCount", {"minWords": 2, "maxWords": 3}, "before", "two words", None, True),
    # sentenceCount: counts '.', '!' and '?'
    ("sentenceCount", {"minSentences": 1, "maxSentences": 3}, "after", "hi", "One. Two! Three?", True),
    ("sentenceCount", {"minSentences": 4, "maxSentences": 10}, "after", "hi", "One. Two! Three?", False),
    # characterCount: JavaScript length (an emoji is 2)
    ("characterCount", {"minCharacters": 1, "maxCharacters": 20}, "after", "hi", "This is a test.", True),
    ("characterCount", {"minCharacters": 0, "maxCharacters": 10}, "after", "hi", "This is a test.", False),
    ("characterCount", {"minCharacters": 2, "maxCharacters": 2}, "after", "hi", "\U0001F600", True),
    # jsonSchema: the JSON in the text (code block or object) validates
    ("jsonSchema", {"schema": {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "number"}},
                               "required": ["name", "age"]}},
     "after", "hi", 'Here it is:\n```json\n{"name": "Ada", "age": 36}\n```', True),
    ("jsonSchema", {"schema": {"type": "object", "required": ["name", "age"]}}, "after", "hi", 'Sure: {"name": "Ada"}', False),
    ("jsonSchema", {"schema": {"type": "object"}}, "after", "hi", "no JSON at all", False),
    ("jsonSchema", {"schema": {"type": "object", "properties": {"user": {"type": "object", "required": ["id"]}}}},
     "after", "hi", 'Nested: {"user": {"id": 7}} done', True),
    # jsonKeys: any / all / none of keys at the top level
    ("jsonKeys", {"keys": ["name", "age"], "operator": "all"}, "after", "hi", '{"name": "Ada", "age": 36}', True),
    ("jsonKeys", {"keys": ["email"], "operator": "any"}, "after", "hi", '{"name": "Ada", "age": 36}', False),
    ("jsonKeys", {"keys": ["email"], "operator": "none"}, "after", "hi", '{"name": "Ada", "age": 36}', True),
    # containsCode: a fenced block in the format
    ("containsCode", {"format": "Python"}, "after", "hi", "```python\nprint('hi')\n```", True),
    ("containsCode", {"format": "SQL"}, "after", "hi", "```python\nprint('hi')\n```", False),
    ("containsCode", {"format": "SQL"}, "after", "hi", "```sql\nSELECT 1;\n```", True),
    # validUrls: syntax only (no network)
    ("validUrls", {}, "after", "hi", "See https://example.com/docs and http://127.0.0.1:8080/x.", True),
    ("validUrls", {}, "after", "hi", "See https://example and https://-bad-.com/", False),
    ("validUrls", {"onlyDNS": True}, "after", "hi", "https://portkey.ai/docs is fine", True),
    # notNull
    ("notNull", {}, "after", "hi", "This is a test.", True),
    ("notNull", {"not": True}, "after", "hi", "This is a test.", False),
    # endsWith: suffix, a trailing period allowed
    ("endsWith", {"suffix": "test"}, "after", "hi", "This is a test.", True),
    ("endsWith", {"suffix": "done"}, "after", "hi", "This is a test.", False),
    ("endsWith", {"suffix": "test", "not": True}, "after", "hi", "This is a test.", False),
    # alllowercase / alluppercase: letters only
    ("alllowercase", {}, "after", "hi", "all lower case, 123!", True),
    ("alllowercase", {}, "after", "hi", "This is a test.", False),
    ("alluppercase", {}, "after", "hi", "ALL CAPS 123", True),
    ("alluppercase", {}, "after", "hi", "This is a test.", False),
    ("alluppercase", {"not": True}, "after", "hi", "This is a test.", True),
    # log: always passes
    ("log", {}, "after", "hi", "This is a test.", True),
    # modelWhitelist: the request's model in `models`
    ("modelWhitelist", {"models": ["gpt-4o", "gpt-4o-mini"]}, "before", "hi", None, True),
    ("modelWhitelist", {"models": ["gpt-4o-mini"]}, "before", "hi", None, False),
    ("modelWhitelist", {"models": ["gpt-4o"], "not": True}, "before", "hi", None, False),
    # allowedRequestTypes on a chat request
    ("allowedRequestTypes", {"allowedTypes": ["chatComplete", "embed"]}, "before", "hi", None, True),
    ("allowedRequestTypes", {"blockedTypes": ["chatComplete"]}, "before", "hi", None, False),
    ("allowedRequestTypes", {"allowedTypes": "complete, embed"}, "before", "hi", None, False),
    # requiredMetadataKeys without metadata
    ("requiredMetadataKeys", {"metadataKeys": ["user_id"], "operator": "none"}, "before", "hi", None, True),
    ("requiredMetadataKeys", {"metadataKeys": ["user_id"], "operator": "all"}, "before", "hi", None, False),
]


@pytest.mark.parametrize("check_id,parameters,event,content,answer,expected", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_check_verdicts(gateway, mock, check_id, parameters, event, content, answer, expected):
    reply, entry = run_case(gateway, mock, check_id, parameters, event, content=content, answer=answer)
    assert entry["verdict"] is expected, entry
    assert "error" not in entry or entry["error"] in (None, ""), entry
    if reply.status == 446:
        error = reply.json()["error"]
        assert error["type"] == "hooks_failed"
    else:
        if answer is not None:
            assert reply.json()["choices"][0]["message"]["content"] == answer


def test_brief_example_contains_none_denies_with_446_and_not_denied_is_246(gateway, mock):
    checks = [{"id": "default.contains", "parameters": {"operator": "none", "words": ["Apple"]}}]
    before = requests_seen(mock)
    denied = chat(gateway, config_with(mock, before=[{"type": "guardrail", "id": "g1", "deny": True, "checks": checks}]),
                  content="Is Apple a fruit?")
    assert denied.status == 446
    assert denied.json()["hook_results"][BEFORE][0]["checks"][0]["verdict"] is False
    assert requests_seen(mock) == before  # a denied before-request hook never reaches the provider
    allowed = chat(gateway, config_with(mock, before=[{"type": "guardrail", "id": "g1", "deny": False, "checks": checks}]),
                   content="Is Apple a fruit?")
    assert allowed.status == 246
    body = allowed.json()
    assert body["choices"][0]["message"]["content"] == "This is a test."
    assert body["hook_results"][BEFORE][0]["checks"][0]["verdict"] is False


def requests_seen(mock):
    return call("GET", mock.url + "/mock/stats").json()["requests"]


def test_log_records_the_texts_in_its_data(gateway, mock):
    reply, entry = run_case(gateway, mock, "log", {}, "after", content="What is 2+2?", answer="4.")
    logged = entry["data"]["logged"]
    assert logged["requestText"] == "What is 2+2?" and logged["responseText"] == "4."
    assert logged["requestType"] == "chatComplete" and logged["model"] == "gpt-4o"


def test_a_check_that_raises_passes_unless_fail_on_error(gateway, mock):
    # A lookbehind is outside the supported JavaScript subset: gw.regex raises, the check errors.
    reply, entry = run_case(gateway, mock, "regexMatch", {"rule": "(?<=a)b"}, "after", answer="ab")
    assert entry["verdict"] is True and "regex" in entry["error"]
    reply, entry = run_case(gateway, mock, "regexMatch", {"rule": "(?<=a)b", "failOnError": True}, "after", answer="ab")
    assert reply.status == 446 and entry["verdict"] is False and "regex" in entry["error"]


def test_missing_text_is_an_error_like_portkey(gateway, mock):
    # An empty answer: Portkey throws "Missing text to analyze"; with failOnError that fails the check.
    reply, entry = run_case(gateway, mock, "endsWith", {"suffix": "x", "failOnError": True}, "after", answer="")
    assert entry["verdict"] is False and "Missing text" in entry["error"]


# --- metadata-driven checks ----------------------------------------------------------------------

def metadata_header(**values):
    return {"x-portkey-metadata": json.dumps(values)}


def test_model_whitelist_metadata_rules(gateway, mock):
    rules = {"metadataRules": [{"metadataKey": "tier", "values": ["free"], "models": ["gpt-4o-mini"]}],
             "models": ["gpt-4o"]}
    _, free = run_case(gateway, mock, "modelWhitelist", rules, "before", model="gpt-4o", headers=metadata_header(tier="free"))
    assert free["verdict"] is False
    _, free_mini = run_case(gateway, mock, "modelWhitelist", rules, "before", model="gpt-4o-mini",
                            headers=metadata_header(tier="free"))
    assert free_mini["verdict"] is True
    _, no_rule = run_case(gateway, mock, "modelWhitelist", rules, "before", model="gpt-4o")
    assert no_rule["verdict"] is True  # no rule matched: the base `models` list


def test_model_rules(gateway, mock):
    rules = {"rules": {"defaults": ["gpt-4o-mini"], "metadata": {"team": {"research": ["gpt-4o"]}}}}
    _, research = run_case(gateway, mock, "modelRules", rules, "before", headers=metadata_header(team="research"))
    assert research["verdict"] is True
    _, default = run_case(gateway, mock, "modelRules", rules, "before")
    assert default["verdict"] is False and "not allowed" in default["data"]["explanation"]


def test_required_metadata_keys(gateway, mock):
    params = {"metadataKeys": ["user_id", "team"], "operator": "all"}
    _, both = run_case(gateway, mock, "requiredMetadataKeys", params, "before", headers=metadata_header(user_id="u1", team="a"))
    assert both["verdict"] is True
    _, one = run_case(gateway, mock, "requiredMetadataKeys", params, "before", headers=metadata_header(user_id="u1"))
    assert one["verdict"] is False and one["data"]["missing_metadata_keys"] == ["team"]
    _, any_ = run_case(gateway, mock, "requiredMetadataKeys", {**params, "operator": "any"}, "before",
                       headers=metadata_header(user_id="u1"))
    assert any_["verdict"] is True


def test_allowed_request_types_on_embeddings(gateway, mock):
    config = config_with(mock, before=[hook("allowedRequestTypes", {"allowedTypes": ["chatComplete"]})])
    reply = call("POST", gateway.url + "/v1/embeddings", body={"model": "text-embedding-3-small", "input": "hi"},
                 headers={"content-type": "application/json", "x-portkey-config": json.dumps(config)})
    assert reply.status == 446, reply.body
    entry = check_entry(reply, BEFORE)
    assert entry["verdict"] is False and entry["data"]["currentRequestType"] == "embed"


def test_allowed_request_types_from_metadata(gateway, mock):
    _, entry = run_case(gateway, mock, "allowedRequestTypes", {}, "before", headers=metadata_header(blocked_endpoints="chatComplete"))
    assert entry["verdict"] is False and entry["data"]["source"] == "metadata"


# --- jwt -----------------------------------------------------------------------------------------

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_token(secret, claims, header=None):
    head = b64url(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(signature)}"


def test_jwt_hs256(gateway, mock):
    now = int(time.time())
    params = {"secret": "s3cret", "headerKey": "x-user-jwt"}
    good = hs256_token("s3cret", {"sub": "u1", "iat": now, "exp": now + 600})
    _, entry = run_case(gateway, mock, "jwt", params, "before", headers={"x-user-jwt": "Bearer " + good})
    assert entry["verdict"] is True
    forged = hs256_token("other", {"sub": "u1", "iat": now, "exp": now + 600})
    _, entry = run_case(gateway, mock, "jwt", params, "before", headers={"x-user-jwt": forged})
    assert entry["verdict"] is False and "signature" in entry["data"]["explanation"]
    expired = hs256_token("s3cret", {"sub": "u1", "iat": now - 7200, "exp": now - 3600})
    _, entry = run_case(gateway, mock, "jwt", params, "before", headers={"x-user-jwt": expired})
    assert entry["verdict"] is False and "exp" in entry["data"]["explanation"]
    too_old = hs256_token("s3cret", {"sub": "u1", "iat": now - 3 * 86400})
    _, entry = run_case(gateway, mock, "jwt", params, "before", headers={"x-user-jwt": too_old})
    assert entry["verdict"] is False and "iat" in entry["data"]["explanation"]
    _, entry = run_case(gateway, mock, "jwt", params, "before")
    assert entry["verdict"] is False and entry["data"]["explanation"] == "Missing authorization header"
    unsigned = b64url(b'{"alg":"none"}') + "." + b64url(json.dumps({"iat": now}).encode()) + "."
    _, entry = run_case(gateway, mock, "jwt", params, "before", headers={"x-user-jwt": unsigned})
    assert entry["verdict"] is False


def test_jwt_rs256_with_inline_jwks(gateway, mock):
    rsa = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")
    padding = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.padding")
    hashes = pytest.importorskip("cryptography.hazmat.primitives.hashes")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = key.public_key().public_numbers()

    def b64int(value):
        return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    jwks = {"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "n": b64int(numbers.n), "e": b64int(numbers.e)}]}
    now = int(time.time())
    head = b64url(json.dumps({"alg": "RS256", "kid": "k1"}).encode())
    body = b64url(json.dumps({"sub": "u1", "iat": now}).encode())
    signature = key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    token = f"{head}.{body}.{b64url(signature)}"
    _, entry = run_case(gateway, mock, "jwt", {"jwks": jwks, "headerKey": "x-user-jwt"}, "before",
                        headers={"x-user-jwt": token})
    assert entry["verdict"] is True, entry
    tampered = f"{head}.{b64url(json.dumps({'sub': 'admin', 'iat': now}).encode())}.{b64url(signature)}"
    _, entry = run_case(gateway, mock, "jwt", {"jwks": jwks, "headerKey": "x-user-jwt"}, "before",
                        headers={"x-user-jwt": tampered})
    assert entry["verdict"] is False
    other_kid = f"{b64url(json.dumps({'alg': 'RS256', 'kid': 'k2'}).encode())}.{body}.{b64url(signature)}"
    _, entry = run_case(gateway, mock, "jwt", {"jwks": jwks, "headerKey": "x-user-jwt"}, "before",
                        headers={"x-user-jwt": other_kid})
    assert entry["verdict"] is False and "kid" in entry["data"]["explanation"]


def test_jwt_jwks_uri_is_refused_and_never_lets_a_request_through(gateway, mock):
    before = requests_seen(mock)
    config = config_with(mock, before=[hook("jwt", {"jwksUri": "https://example.com/.well-known/jwks.json"})])
    reply = chat(gateway, config)
    # Refused when the config is parsed (400 naming jwksUri) if the host runs the plugin's
    # `validate`; otherwise the check fails closed (446). Never a 200, never an upstream call.
    assert reply.status in (400, 446), reply.body
    assert "jwksUri" in reply.body.decode()
    assert requests_seen(mock) == before


# --- mutators ------------------------------------------------------------------------------------

def upstream_text(mock):
    sent = last_upstream_request(mock)
    body = sent["body"] if isinstance(sent["body"], dict) else json.loads(sent["body"])
    return body["messages"][-1]["content"]


def test_add_prefix_reaches_the_provider(gateway, mock):
    config = config_with(mock, before=[hook("addPrefix", {"prefix": "Answer briefly: "}, deny=False, kind="mutator")])
    reply = chat(gateway, config, content="what is DNS?")
    assert reply.status == 200, reply.body
    assert upstream_text(mock) == "Answer briefly: what is DNS?"
    entry = check_entry(reply, BEFORE)
    assert entry["verdict"] is True and entry["transformed"] is True


def test_add_prefix_system_role_is_inserted_first(gateway, mock):
    config = config_with(mock, before=[hook("addPrefix", {"prefix": "Be terse.", "applyToRole": "system"}, kind="mutator")])
    assert chat(gateway, config, content="hello").status == 200
    sent = last_upstream_request(mock)
    body = sent["body"] if isinstance(sent["body"], dict) else json.loads(sent["body"])
    assert body["messages"][0] == {"role": "system", "content": "Be terse."}
    assert body["messages"][-1]["content"] == "hello"


def test_regex_replace_on_request_and_response(gateway, mock):
    params = {"rule": r"\d{3}-\d{2}-\d{4}", "redactText": "[SSN]"}
    config = config_with(mock, before=[hook("regexReplace", params, deny=False, kind="mutator")])
    assert chat(gateway, config, content="my ssn is 123-45-6789").status == 200
    assert upstream_text(mock) == "my ssn is [SSN]"
    config = config_with(mock, after=[hook("regexReplace", params, deny=False, kind="mutator")])
    reply = chat(gateway, config, answer="It is 987-65-4321, and 111-22-3333.")
    assert reply.status == 200, reply.body
    assert reply.json()["choices"][0]["message"]["content"] == "It is [SSN], and [SSN]."


def test_regex_replace_fail_on_detection_denies(gateway, mock):
    params = {"rule": "secret", "failOnDetection": True}
    reply, entry = run_case(gateway, mock, "regexReplace", params, "after", answer="the secret is out")
    assert reply.status == 446 and entry["verdict"] is False
    reply, entry = run_case(gateway, mock, "regexReplace", params, "after", answer="nothing to see")
    assert reply.status == 200 and entry["verdict"] is True


def test_pii_redact_request_checks_luhn_and_mod97(gateway, mock):
    config = config_with(mock, before=[hook("piiRedact", {}, deny=False, kind="mutator")])
    text = ("mail ada@example.com, card 4111 1111 1111 1111, not a card 4111 1111 1111 1112, "
            "IBAN GB82 WEST 1234 5698 7654 32, ip 10.0.0.12, phone +44 20 7946 0958")
    assert chat(gateway, config, content=text).status == 200
    sent = upstream_text(mock)
    assert sent == ("mail [EMAIL], card [CARD], not a card 4111 1111 1111 1112, "
                    "IBAN [IBAN], ip [IPV4], phone [PHONE]"), sent


def test_pii_redact_response_with_kinds_and_format(gateway, mock):
    config = config_with(mock, after=[hook("piiRedact", {"kinds": ["email"], "replacement": "<{kind}>"}, kind="mutator")])
    reply = chat(gateway, config, answer="Write to bob@example.org or call 555 123 4567.")
    assert reply.status == 200, reply.body
    assert reply.json()["choices"][0]["message"]["content"] == "Write to <email> or call 555 123 4567."


def test_two_mutators_without_sequential_both_apply(gateway, mock):
    before = [{"type": "mutator", "id": "m1", "deny": False,
               "checks": [{"id": "default.regexReplace", "parameters": {"rule": "Apple", "redactText": "[FRUIT]"}},
                          {"id": "default.addPrefix", "parameters": {"prefix": ">> "}}]}]
    assert chat(gateway, config_with(mock, before=before), content="I like Apple").status == 200
    assert upstream_text(mock) == ">> I like [FRUIT]"


def test_openai_sdk_sees_446_as_an_error_with_hook_results(gateway, mock):
    config = config_with(mock, after=[hook("wordCount", {"minWords": 10, "maxWords": 100})])
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0,
                           default_headers={"x-portkey-config": json.dumps(config)})
    with pytest.raises(openai.APIStatusError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert raised.value.status_code == 446
    body = raised.value.response.json()
    assert body["hook_results"][AFTER][0]["checks"][0]["data"]["wordCount"] == 4


# --- the worked example of plugins/README.md -----------------------------------------------------

def test_readme_worked_example_no_secrets(launch, mock, tmp_path):
    import re
    import shutil
    from conftest import ROOT
    readme = (ROOT / "plugins" / "README.md").read_text()
    source = re.search(r"```lua\n(.*?)```", readme, re.S).group(1)
    plugins = tmp_path / "plugins"
    shutil.copytree(ROOT / "plugins", plugins)
    (plugins / "acme").mkdir()
    (plugins / "acme" / "noSecrets.lua").write_text(source)
    gateway = launch(plugins=plugins)

    def config(parameters, deny):
        return config_with(mock, before=[{"type": "guardrail", "id": "s", "deny": deny,
                                          "checks": [{"id": "acme.noSecrets", "parameters": parameters}]}])

    denied = chat(gateway, config({}, True), content="my key is sk-abc123, keep it")
    assert denied.status == 446, denied.body
    assert denied.json()["hook_results"][BEFORE][0]["checks"][0]["data"]["found"] == 1
    redacted = chat(gateway, config({"redact": True}, True), content="my key is sk-abc123, keep it")
    assert redacted.status == 200, redacted.body
    assert upstream_text(mock) == "my key is [SECRET], keep it"


# --- the other request types: where hook_text reads and writes ----------------------------------

def raw(gateway, path, config, body, headers=None):
    return call("POST", gateway.url + path, body=body,
                headers={"content-type": "application/json", "x-portkey-config": json.dumps(config), **(headers or {})})


def test_messages_request_and_response_text(gateway, mock):
    config = {"provider": "anthropic", "api_key": "sk-ant", "custom_host": mock.url + "/v1"}
    forward = {"x-portkey-forward-headers": "x-mock-content, x-mock-record", "x-mock-record": "true"}
    body = {"model": "claude-test", "max_tokens": 50,
            "messages": [{"role": "user", "content": "earlier"}, {"role": "assistant", "content": "ok"},
                         {"role": "user", "content": [{"type": "text", "text": "Tell me about"},
                                                      {"type": "text", "text": "Apple pie"}]}]}
    denied = raw(gateway, "/v1/messages", {**config, BEFORE: [hook("contains", {"operator": "none", "words": ["Apple"]})]}, body,
                 headers=forward)
    assert denied.status == 446, denied.body
    assert denied.json()["hook_results"][BEFORE][0]["checks"][0]["verdict"] is False
    # Only the last message counts: "earlier" is not the text.
    only_last = raw(gateway, "/v1/messages", {**config, BEFORE: [hook("contains", {"operator": "any", "words": ["earlier"]})]},
                    body, headers=forward)
    assert only_last.status == 446
    # A mutator rewrites each text block of the last message on its own.
    mutated = raw(gateway, "/v1/messages",
                  {**config, BEFORE: [hook("regexReplace", {"rule": "Apple", "redactText": "Cherry"}, kind="mutator")]},
                  body, headers=forward)
    assert mutated.status == 200, mutated.body
    sent = last_upstream_request(mock)
    sent_body = sent["body"] if isinstance(sent["body"], dict) else json.loads(sent["body"])
    assert sent_body["messages"][-1]["content"] == [{"type": "text", "text": "Tell me about"},
                                                    {"type": "text", "text": "Cherry pie"}]
    # After: the text blocks of the answer.
    answered = raw(gateway, "/v1/messages", {**config, AFTER: [hook("alluppercase", {})]}, body,
                   headers={**forward, "x-mock-content": "Hello WORLD"})
    assert answered.status == 446, answered.body
    assert answered.json()["hook_results"][AFTER][0]["checks"][0]["verdict"] is False
    redacted = raw(gateway, "/v1/messages",
                   {**config, AFTER: [hook("regexReplace", {"rule": "WORLD"}, kind="mutator")]}, body,
                   headers={**forward, "x-mock-content": "Hello WORLD"})
    assert redacted.status == 200, redacted.body
    assert redacted.json()["content"][0]["text"] == "Hello [REDACTED]"


def test_responses_request_and_response_text(gateway, mock):
    config = config_with(mock)
    body = {"model": "gpt-4o", "input": "Is Apple a fruit?", "mock": {"content": "Call 555-12-3456 now."}}
    denied = raw(gateway, "/v1/responses", {**config, BEFORE: [hook("contains", {"operator": "none", "words": ["Apple"]})]}, body)
    assert denied.status == 446, denied.body
    redacted = raw(gateway, "/v1/responses",
                   {**config, AFTER: [hook("regexReplace", {"rule": r"\d{3}-\d{2}-\d{4}"}, kind="mutator")]}, body)
    assert redacted.status == 200, redacted.body
    output = redacted.json()["output"]
    texts = [part["text"] for item in output if item.get("type") == "message" for part in item["content"]
             if part.get("type") == "output_text"]
    assert texts == ["Call [REDACTED] now."]


def test_completions_prompt_and_text(gateway, mock):
    config = config_with(mock)
    body = {"model": "gpt-3.5-turbo-instruct", "prompt": "Say hi", "mock": {"content": "hi there", "record": True}}
    prefixed = raw(gateway, "/v1/completions", {**config, BEFORE: [hook("addPrefix", {"prefix": "Politely: "}, kind="mutator")]}, body)
    assert prefixed.status == 200, prefixed.body
    sent = last_upstream_request(mock)
    sent_body = sent["body"] if isinstance(sent["body"], dict) else json.loads(sent["body"])
    assert sent_body["prompt"] == "Politely: Say hi"
    ends = raw(gateway, "/v1/completions", {**config, AFTER: [hook("endsWith", {"suffix": "there"})]}, body)
    assert ends.status == 200 and check_entry(ends, AFTER)["verdict"] is True
    ends = raw(gateway, "/v1/completions", {**config, AFTER: [hook("endsWith", {"suffix": "bye"})]}, body)
    assert ends.status == 446 and check_entry(ends, AFTER)["verdict"] is False


# --- webhook (gw.fetch from a check: allow-listed hosts only) ------------------------------------

def test_webhook_verdict_data_and_transformed_data(launch, mock):
    from http_helpers import store_fixture
    gateway = launch("--allow-host", "127.0.0.1")
    deny = store_fixture(mock, {"status": 200, "body": {"verdict": False, "data": {"reason": "policy 7"}}})
    params = {"webhookURL": mock.url + "/guardrail", "headers": {"x-mock-fixture": deny}}
    reply = chat(gateway, config_with(mock, before=[hook("webhook", params)]), content="is this allowed?")
    assert reply.status == 446, reply.body
    entry = check_entry(reply, BEFORE)
    assert entry["verdict"] is False and entry["data"]["responseData"] == {"reason": "policy 7"}
    sent = last_upstream_request(mock)  # what the webhook received
    posted = sent["body"] if isinstance(sent["body"], dict) else json.loads(sent["body"])
    assert posted["eventType"] == "beforeRequestHook" and posted["requestType"] == "chatComplete"
    assert posted["request"]["text"] == "is this allowed?"
    assert "authorization" not in {k.lower() for k in sent["headers"]}
    # A JSON string for headers works too (Portkey accepts both), and transformedData rewrites.
    rewrite = store_fixture(mock, {"status": 200, "body": {
        "verdict": True, "transformedData": {"request": {"json": {
            "model": "gpt-4o", "messages": [{"role": "user", "content": "rewritten by the webhook"}],
            "mock": {"record": True}}}}}})
    params = {"webhookURL": mock.url + "/guardrail", "headers": json.dumps({"x-mock-fixture": rewrite})}
    reply = chat(gateway, config_with(mock, before=[hook("webhook", params, kind="mutator")]), content="original")
    assert reply.status == 200, reply.body
    assert upstream_text(mock) == "rewritten by the webhook"
    assert check_entry(reply, BEFORE)["transformed"] is True


def test_webhook_to_a_host_not_allowed_is_an_error(gateway, mock):
    params = {"webhookURL": mock.url + "/guardrail"}
    reply, entry = run_case(gateway, mock, "webhook", params, "before")
    assert entry["verdict"] is True and "host_not_allowed" in entry["error"]
    reply, entry = run_case(gateway, mock, "webhook", {**params, "failOnError": True}, "before")
    assert reply.status == 446 and entry["verdict"] is False
