"""deploy/: the Kubernetes manifests against the Kubernetes schemas (kubernetes-validate, offline: it
bundles them), and what a schema cannot see — the cross-references between manifests, the image and
the gateway (probe paths and port, selectors, volumes, Secret keys, the drain budget, the Redis
address) — plus the image's build file. Starts nothing and needs no network.

Each check is a function over the parsed files; `test_each_check_catches_its_breakage` breaks a copy
of the files one way per check and asserts that the check then fails, so no check passes vacuously.
"""
import copy
import os
import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBE = DEPLOY / "kubernetes"
DOCKERFILE = DEPLOY / "Dockerfile"
# The oldest Kubernetes the manifests promise to work on (every field used exists there).
KUBERNETES_VERSION = "1.29.0"
# The paths README.md documents for probes ("Endpoints", "Health") and the default port.
READY_PATH, HEALTH_PATH, PORT = "/ready", "/health", 8787
# The gateway's default when SWITCHBOARD_DRAIN_TIMEOUT / --drain-timeout is not given (README "Settings").
DEFAULT_DRAIN_TIMEOUT = 30
REDIS_URL = "redis://redis:6379"
# Not applied by `kubectl apply -k`: placeholders for the operator's own Secret.
EXAMPLES = {"secret.example.yaml"}


# ---------------------------------------------------------------------------------------------
# Loading

def parse_dockerfile(text):
    """Stages of a Dockerfile: [{"from": image, "as": name, "instructions": [(KEYWORD, args)]}].
    Comments dropped, backslash continuations joined; ARG defaults substituted into FROM."""
    lines, pending = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    args, stages = {}, []
    for line in lines:
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "ARG" and not stages:
            name, _, value = rest.partition("=")
            args[name] = value
        elif keyword == "FROM":
            words = rest.split()
            image = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), ""), words[0])
            name = words[2] if len(words) > 2 and words[1].upper() == "AS" else None
            stages.append({"from": image, "as": name, "instructions": []})
        else:
            assert stages, f"Dockerfile: {keyword} before the first FROM"
            stages[-1]["instructions"].append((keyword, rest))
    return stages


def load():
    """Everything the checks read, as plain data they may mutate on a copy."""
    manifests = {}
    for path in sorted(KUBE.glob("*.yaml")):
        manifests[path.name] = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    return {
        "manifests": manifests,
        "dockerfile": parse_dockerfile(DOCKERFILE.read_text()),
        "readme": (ROOT / "README.md").read_text(),
        "makefile": (ROOT / "Makefile").read_text(),
    }


def resources(data, include_examples=True):
    for name, docs in data["manifests"].items():
        if name == "kustomization.yaml" or (name in EXAMPLES and not include_examples):
            continue
        for doc in docs:
            yield name, doc


def one(data, kind, name=None):
    found = [doc for _, doc in resources(data) if doc["kind"] == kind and (name is None or doc["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def gateway(data):
    return one(data, "Deployment", "switchboard")


def container(data):
    containers = gateway(data)["spec"]["template"]["spec"]["containers"]
    found = [c for c in containers if c["name"] == "switchboard"]
    assert len(found) == 1, "the Deployment has no container named switchboard"
    return found[0]


def env(c):
    return {e["name"]: e for e in c.get("env", [])}


def flag(c, name):
    """The value of --name=VALUE or --name VALUE in the container's args, else None."""
    args = c.get("args", [])
    for index, arg in enumerate(args):
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
        if arg == f"--{name}" and index + 1 < len(args):
            return args[index + 1]
    return None


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def port_number(c, port):
    """A probe's or Service's port (a number or a container port's name) as a number."""
    if isinstance(port, int):
        return port
    named = [p["containerPort"] for p in c.get("ports", []) if p.get("name") == port]
    assert named, f"no container port named {port!r}"
    return named[0]


def run_stage(data):
    return data["dockerfile"][-1]


# ---------------------------------------------------------------------------------------------
# Checks: each raises AssertionError (or a validation error) when its manifest is broken.

def check_schemas(data):
    assert list(resources(data)), "no manifests found"
    for name, doc in resources(data):
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as error:
            raise AssertionError(f"{name}: {doc.get('kind')} {doc.get('metadata', {}).get('name')}: {error}") from error


def check_kustomization_lists_every_manifest(data):
    listed = data["manifests"]["kustomization.yaml"][0]["resources"]
    files = {name for name in data["manifests"] if name != "kustomization.yaml"}
    for name in listed:
        assert name in files, f"kustomization.yaml lists {name}, which does not exist"
    assert set(listed) == files - EXAMPLES, f"kustomization.yaml misses {sorted(files - EXAMPLES - set(listed))}"


def check_probes_match_the_gateway(data):
    # The paths are the ones README documents (the gateway serves them: Tests/e2e/test_http.py).
    assert f"`GET {READY_PATH}`" in data["readme"] and f"`GET {HEALTH_PATH}`" in data["readme"]
    c = container(data)
    ready, live = c["readinessProbe"]["httpGet"], c["livenessProbe"]["httpGet"]
    assert ready["path"] == READY_PATH, f"readinessProbe path {ready['path']}"
    assert live["path"] == HEALTH_PATH, f"livenessProbe path {live['path']}"
    listening = int(env(c).get("SWITCHBOARD_PORT", {}).get("value") or flag(c, "port") or PORT)
    for probe in (ready, live):
        assert port_number(c, probe["port"]) == listening, f"probe port {probe['port']} is not the listening port {listening}"
    assert (env(c).get("SWITCHBOARD_HOST", {}).get("value") or flag(c, "host")) == "0.0.0.0", \
        "the gateway listens on 127.0.0.1 unless told 0.0.0.0: probes and the Service could not reach it"


def check_service_reaches_the_gateway(data):
    service, deployment, c = one(data, "Service", "switchboard"), gateway(data), container(data)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selects(service["spec"]["selector"], labels), "the Service does not select the gateway pods"
    assert selects(deployment["spec"]["selector"]["matchLabels"], labels), "the Deployment's selector misses its pods"
    (port,) = service["spec"]["ports"]
    assert port["port"] == PORT
    assert port_number(c, port.get("targetPort", port["port"])) == PORT, f"the Service's targetPort {port.get('targetPort')} is not the gateway's port"


def check_other_selectors(data):
    labels = gateway(data)["spec"]["template"]["metadata"]["labels"]
    hpa = one(data, "HorizontalPodAutoscaler")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", gateway(data)["metadata"]["name"]), f"the HPA scales {target}"
    assert hpa["spec"]["minReplicas"] <= gateway(data)["spec"]["replicas"] <= hpa["spec"]["maxReplicas"]
    assert any(m["type"] == "Resource" and m["resource"]["name"] == "cpu" for m in hpa["spec"]["metrics"])
    assert selects(one(data, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"], labels)
    redis = one(data, "StatefulSet", "redis")
    redis_labels = redis["spec"]["template"]["metadata"]["labels"]
    assert selects(redis["spec"]["selector"]["matchLabels"], redis_labels)
    assert one(data, "Service", redis["spec"]["serviceName"]), "the StatefulSet's serviceName has no Service"
    policy = one(data, "NetworkPolicy", "redis")
    assert selects(policy["spec"]["podSelector"]["matchLabels"], redis_labels), "the NetworkPolicy does not guard Redis"
    allowed = [source["podSelector"]["matchLabels"] for rule in policy["spec"]["ingress"] for source in rule["from"]]
    assert any(selects(a, labels) for a in allowed), "the NetworkPolicy shuts the gateway out of Redis"


def check_redis_is_reachable_at_the_configured_url(data):
    c = container(data)
    url = env(c)["SWITCHBOARD_REDIS_URL"]["value"]
    assert url == REDIS_URL, f"SWITCHBOARD_REDIS_URL is {url}"
    host, port = re.fullmatch(r"redis://([^:/]+):(\d+)", url).groups()
    service = one(data, "Service", host)
    redis = one(data, "StatefulSet", "redis")
    assert selects(service["spec"]["selector"], redis["spec"]["template"]["metadata"]["labels"]), \
        f"Service {host} does not select the Redis pods"
    assert int(port) in [p["port"] for p in service["spec"]["ports"]]
    (redis_container,) = redis["spec"]["template"]["spec"]["containers"]
    assert int(port) in [p["containerPort"] for p in redis_container["ports"]]


def check_volumes_and_config_maps(data):
    pod = gateway(data)["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    c = container(data)
    mounts = c.get("volumeMounts", [])
    for mount in mounts:
        assert mount["name"] in volumes, f"volumeMount {mount['name']} has no volume"
    config_maps = {doc["metadata"]["name"]: doc for _, doc in resources(data) if doc["kind"] == "ConfigMap"}
    for volume in volumes.values():
        if "configMap" in volume:
            assert volume["configMap"]["name"] in config_maps, f"volume {volume['name']} names a missing ConfigMap"
    # Every folder flag points into a mounted volume, or into the image's bundled folders.
    bundled = image_folders(data)
    for name in ("scripts", "configs", "providers", "plugins"):
        path = flag(c, name)
        if path is None:
            continue
        mounted = [m for m in mounts if path == m["mountPath"] or path.startswith(m["mountPath"].rstrip("/") + "/")]
        assert mounted or path in bundled, f"--{name} {path} is neither mounted nor in the image"
        if mounted:
            # A ConfigMap's files change by a swap of its ..data link: read through it, every
            # reload sees one version of the whole folder (deploy/README.md).
            volume = volumes[mounted[0]["name"]]
            if "configMap" in volume:
                assert path.rstrip("/").endswith("/..data"), f"--{name} {path}: a reload could read a mix of two versions"
    # The ConfigMaps hold what their folder takes: scripts are .lua, configs .json.
    for name, suffix in (("scripts", ".lua"), ("configs", ".json")):
        path = flag(c, name)
        mount = next(m for m in mounts if path.startswith(m["mountPath"]))
        config_map = config_maps[volumes[mount["name"]]["configMap"]["name"]]
        for key in config_map.get("data", {}):
            assert key.endswith(suffix), f"{key} in {config_map['metadata']['name']} is not a {suffix} file: it would be ignored"


def check_secrets_are_referenced_and_placeholders(data):
    secret = one(data, "Secret")
    values = secret.get("stringData", {})
    for entry in env(container(data)).values():
        ref = entry.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            assert ref["name"] == secret["metadata"]["name"], f"{entry['name']} names Secret {ref['name']}"
            assert ref["key"] in values or ref.get("optional"), f"{entry['name']}: the Secret has no key {ref['key']}"
    for key, value in values.items():
        assert "REPLACE-ME" in value, f"secret.example.yaml {key} must hold a placeholder, not a key"
    for name in ("SWITCHBOARD_GATEWAY_KEYS", "SWITCHBOARD_VIRTUAL_KEYS"):
        assert "valueFrom" in env(container(data))[name], f"{name} must come from the Secret, not a literal"


def check_grace_period_covers_the_drain(data):
    pod = gateway(data)["spec"]["template"]["spec"]
    c = container(data)
    drain = int(flag(c, "drain-timeout") or env(c).get("SWITCHBOARD_DRAIN_TIMEOUT", {}).get("value") or DEFAULT_DRAIN_TIMEOUT)
    command = c["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep", "preStop should wait for the endpoint's removal to spread"
    pre_stop = int(command[1])
    grace = pod.get("terminationGracePeriodSeconds", 30)
    # The kubelet counts the preStop hook inside the grace period; SIGKILL comes at its end.
    assert grace > pre_stop + drain, f"grace {grace}s does not cover preStop {pre_stop}s + drain {drain}s"


def check_pod_security(data):
    pod = gateway(data)["spec"]["template"]["spec"]
    c = container(data)
    assert pod["securityContext"]["runAsNonRoot"] is True, "runAsNonRoot"
    user = pod["securityContext"].get("runAsUser", c.get("securityContext", {}).get("runAsUser"))
    assert user and user != 0
    assert c["securityContext"]["readOnlyRootFilesystem"] is True, "readOnlyRootFilesystem"
    assert c["securityContext"]["allowPrivilegeEscalation"] is False, "allowPrivilegeEscalation"
    # The image's USER is the same id, so files it owns are its own.
    assert image_user(data) == str(user), f"image USER {image_user(data)} is not the pod's runAsUser {user}"
    resources_ = c["resources"]
    assert resources_["requests"]["cpu"] and resources_["limits"]["memory"], "requests and limits"


def image_user(data):
    users = [rest for keyword, rest in run_stage(data)["instructions"] if keyword == "USER"]
    assert users, "the run stage sets no USER: it would run as root"
    return users[-1].split(":")[0]


def image_folders(data):
    """Destination of each COPY in the run stage."""
    return [rest.split()[-1] for keyword, rest in run_stage(data)["instructions"]
            if keyword == "COPY" and not rest.startswith("--from")]


def check_dockerfile(data):
    stages = data["dockerfile"]
    assert len(stages) >= 2, "a multi-stage build"
    build, run = stages[0], run_stage(data)
    assert build["from"].startswith("swift:") and build["from"].endswith("-bookworm"), build["from"]
    assert run["from"] == "debian:bookworm-slim", f"the run stage is {run['from']}"
    runs = " ".join(rest for keyword, rest in build["instructions"] if keyword == "RUN")
    # The build installs what the Makefile's system-deps installs and builds with its RELEASE_FLAGS.
    packages = re.search(r"apt-get install -y -qq ([^>]+)>", data["makefile"]).group(1).split()
    for package in packages:
        assert package in runs, f"the build stage does not install {package}"
    release_flags = re.search(r"^RELEASE_FLAGS \?= (.+)$", data["makefile"], re.M).group(1).strip()
    assert f"swift build -c release {release_flags} --product switchboard" in runs, "the build stage misses the Makefile's RELEASE_FLAGS"
    # The run stage: the runtime libraries (dev packages' runtime halves), non-root, the folders.
    installed = " ".join(rest for keyword, rest in run["instructions"] if keyword == "RUN")
    for library in ("liblua5.4-0", "libyaml-0-2", "libssl3", "ca-certificates"):
        assert library in installed, f"the run stage does not install {library}"
    assert image_user(data) not in ("0", "root"), "the image runs as root"
    assert re.fullmatch(r"\d+", image_user(data)), "USER must be numeric for runAsNonRoot"
    copies = [rest.split() for keyword, rest in run["instructions"] if keyword == "COPY"]
    for folder in ("providers", "scripts", "plugins"):
        assert any(words[-2] == folder for words in copies if not words[0].startswith("--from")), \
            f"the run stage does not copy {folder}/"
    assert any(words[0] == f"--from={build['as']}" for words in copies), "the binary is not copied from the build stage"
    assert ("EXPOSE", str(PORT)) in run["instructions"]
    environment = " ".join(rest for keyword, rest in run["instructions"] if keyword == "ENV")
    assert "SWITCHBOARD_HOST=0.0.0.0" in environment, "the image listens on loopback only"
    entrypoint = [rest for keyword, rest in run["instructions"] if keyword == "ENTRYPOINT"][-1]
    assert "switchboard" in entrypoint
    cmd = " ".join(rest for keyword, rest in run["instructions"] if keyword == "CMD")
    for folder in image_folders(data):
        if folder.rsplit("/", 1)[-1] in ("providers", "scripts", "plugins"):
            assert folder in cmd, f"CMD does not point the gateway at {folder}"
    # The Deployment's bundled folders are the image's.
    c = container(data)
    for name in ("providers", "plugins"):
        path = flag(c, name)
        assert path in image_folders(data), f"--{name} {path} is not a folder of the image"


CHECKS = [check_schemas, check_kustomization_lists_every_manifest, check_probes_match_the_gateway,
          check_service_reaches_the_gateway, check_other_selectors, check_redis_is_reachable_at_the_configured_url,
          check_volumes_and_config_maps, check_secrets_are_referenced_and_placeholders,
          check_grace_period_covers_the_drain, check_pod_security, check_dockerfile]

DATA = load()


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__ for c in CHECKS])
def test_deploy_files(check):
    check(copy.deepcopy(DATA))


# ---------------------------------------------------------------------------------------------
# Each check fails on its breakage: (check, what breaks, the failure's message, how).

def _pod(d):
    return gateway(d)["spec"]["template"]["spec"]


def _container(d):
    return container(d)


def _set_env(d, name, value):
    env(container(d))[name]["value"] = value


def _drop_instruction(keyword, contains):
    def mutate(d):
        stage = run_stage(d)
        stage["instructions"] = [(k, r) for k, r in stage["instructions"] if not (k == keyword and contains in r)]
    return mutate


BREAKAGES = [
    (check_schemas, "a misspelt field", "'readinessProbes' was unexpected", lambda d: _container(d).update(readinessProbes=_container(d)["readinessProbe"])),
    (check_schemas, "a wrong type", "not of type 'integer'", lambda d: gateway(d)["spec"].update(replicas="three")),
    (check_schemas, "an HPA without scaleTargetRef", "'scaleTargetRef' is a required property", lambda d: one(d, "HorizontalPodAutoscaler")["spec"].pop("scaleTargetRef")),
    (check_kustomization_lists_every_manifest, "a file left out", 'misses',
     lambda d: d["manifests"]["kustomization.yaml"][0]["resources"].remove("hpa.yaml")),
    (check_probes_match_the_gateway, "readiness on /health", 'readinessProbe path',
     lambda d: _container(d)["readinessProbe"]["httpGet"].update(path="/health")),
    (check_probes_match_the_gateway, "liveness on /healthz", 'livenessProbe path',
     lambda d: _container(d)["livenessProbe"]["httpGet"].update(path="/healthz")),
    (check_probes_match_the_gateway, "the gateway on another port", 'not the listening port', lambda d: _set_env(d, "SWITCHBOARD_PORT", "9000")),
    (check_probes_match_the_gateway, "listening on loopback", '0.0.0.0', lambda d: _set_env(d, "SWITCHBOARD_HOST", "127.0.0.1")),
    (check_service_reaches_the_gateway, "a selector the pods lack", 'does not select the gateway pods',
     lambda d: one(d, "Service", "switchboard")["spec"]["selector"].update({"app.kubernetes.io/name": "gateway"})),
    (check_service_reaches_the_gateway, "a target port the pod lacks", 'targetPort',
     lambda d: one(d, "Service", "switchboard")["spec"]["ports"][0].update(targetPort=8080)),
    (check_other_selectors, "an HPA aimed elsewhere", 'the HPA scales',
     lambda d: one(d, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"].update(name="gateway")),
    (check_other_selectors, "a NetworkPolicy shutting the gateway out", 'shuts the gateway out',
     lambda d: one(d, "NetworkPolicy")["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"].update(
         {"app.kubernetes.io/component": "web"})),
    (check_redis_is_reachable_at_the_configured_url, "a Redis host no Service has", 'SWITCHBOARD_REDIS_URL is',
     lambda d: _set_env(d, "SWITCHBOARD_REDIS_URL", "redis://redis-master:6379")),
    (check_redis_is_reachable_at_the_configured_url, "a Service that misses Redis", 'does not select the Redis pods',
     lambda d: one(d, "Service", "redis")["spec"]["selector"].update({"app.kubernetes.io/name": "valkey"})),
    (check_volumes_and_config_maps, "a mount without its volume", 'has no volume',
     lambda d: _pod(d).update(volumes=[v for v in _pod(d)["volumes"] if v["name"] != "configs"])),
    (check_volumes_and_config_maps, "a volume naming a missing ConfigMap", 'missing ConfigMap',
     lambda d: next(v for v in _pod(d)["volumes"] if v["name"] == "scripts")["configMap"].update(name="scripts")),
    (check_volumes_and_config_maps, "a ConfigMap read without ..data", 'a mix of two versions',
     lambda d: _container(d)["args"].__setitem__(
         _container(d)["args"].index("--scripts=/etc/switchboard/scripts/..data"), "--scripts=/etc/switchboard/scripts")),
    (check_volumes_and_config_maps, "a config that is not .json", 'not a .json file',
     lambda d: one(d, "ConfigMap", "switchboard-configs")["data"].update({"main.yaml": "{}"})),
    (check_secrets_are_referenced_and_placeholders, "a Secret key that does not exist", 'has no key',
     lambda d: env(container(d))["SWITCHBOARD_GATEWAY_KEYS"]["valueFrom"]["secretKeyRef"].update(key="keys")),
    (check_secrets_are_referenced_and_placeholders, "a real-looking key in the example", 'placeholder',
     lambda d: one(d, "Secret")["stringData"].update({"admin-token": "3f9a1c"})),
    (check_secrets_are_referenced_and_placeholders, "gateway keys as a literal", 'must come from the Secret',
     lambda d: env(container(d))["SWITCHBOARD_GATEWAY_KEYS"].update(value="k1") or
     env(container(d))["SWITCHBOARD_GATEWAY_KEYS"].pop("valueFrom")),
    (check_grace_period_covers_the_drain, "a grace period shorter than the drain", 'does not cover',
     lambda d: _pod(d).update(terminationGracePeriodSeconds=30)),
    (check_grace_period_covers_the_drain, "a longer drain", 'does not cover', lambda d: _set_env(d, "SWITCHBOARD_DRAIN_TIMEOUT", "60")),
    (check_grace_period_covers_the_drain, "a longer drain by flag", 'drain 120s',
     lambda d: _container(d)["args"].append("--drain-timeout=120")),
    (check_pod_security, "root allowed", 'runAsNonRoot', lambda d: _pod(d)["securityContext"].update(runAsNonRoot=False)),
    (check_pod_security, "a writable root", 'readOnlyRootFilesystem', lambda d: _container(d)["securityContext"].update(readOnlyRootFilesystem=False)),
    (check_pod_security, "another user than the image's", "is not the pod's runAsUser", lambda d: _pod(d)["securityContext"].update(runAsUser=1000)),
    (check_dockerfile, "no USER", 'sets no USER', _drop_instruction("USER", "")),
    (check_dockerfile, "plugins not copied", 'does not copy plugins', _drop_instruction("COPY", "plugins")),
    (check_dockerfile, "liblua missing at run time", 'liblua5.4-0', lambda d: run_stage(d).update(instructions=[
        (k, r.replace("liblua5.4-0", "")) for k, r in run_stage(d)["instructions"]])),
    (check_dockerfile, "a build without the release flags", 'RELEASE_FLAGS', lambda d: d["dockerfile"][0].update(instructions=[
        (k, r.replace("-Xswiftc -enforce-exclusivity=unchecked ", "")) for k, r in d["dockerfile"][0]["instructions"]])),
    (check_dockerfile, "an Alpine run stage", 'the run stage is alpine', lambda d: run_stage(d).update({"from": "alpine:3.20"})),
    (check_dockerfile, "a bundled folder the image lacks", 'not a folder of the image',
     lambda d: _container(d)["args"].__setitem__(0, "--providers=/srv/providers")),
]


@pytest.mark.parametrize("check,what,message,mutate", BREAKAGES, ids=[f"{c.__name__}:{w}" for c, w, _, _ in BREAKAGES])
def test_each_check_catches_its_breakage(check, what, message, mutate):
    data = copy.deepcopy(DATA)
    check(copy.deepcopy(data))  # sound before
    mutate(data)
    with pytest.raises(AssertionError, match=re.escape(message)):
        check(data)


def test_every_check_has_a_breakage():
    assert {c for c, _, _, _ in BREAKAGES} == set(CHECKS)


def test_the_dockerfile_parser():
    stages = parse_dockerfile("ARG B=debian:12\n# c\nFROM x AS one\nRUN a \\\n  # inner\n  b\nFROM ${B}\nUSER 7\n")
    assert [s["from"] for s in stages] == ["x", "debian:12"] and stages[0]["as"] == "one"
    assert stages[0]["instructions"] == [("RUN", "a  b")] and stages[1]["instructions"] == [("USER", "7")]


# ---------------------------------------------------------------------------------------------
# deploy/kubernetes/lua-configmaps.py: providers/ and plugins/ from ConfigMaps (an overlay).

def _load_generator():
    import importlib.util
    spec = importlib.util.spec_from_file_location("lua_configmaps", KUBE / "lua-configmaps.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def strategic_merge(deployment, patch):
    """The part of kubectl's strategic merge this patch uses: containers by name (a list such as
    args replaced whole), volumeMounts by mountPath, volumes by name."""
    merged = copy.deepcopy(deployment)
    pod, pod_patch = merged["spec"]["template"]["spec"], patch["spec"]["template"]["spec"]
    for container_patch in pod_patch.get("containers", []):
        target = next(c for c in pod["containers"] if c["name"] == container_patch["name"])
        for key, value in container_patch.items():
            if key == "volumeMounts":
                paths = {m["mountPath"] for m in value}
                target[key] = [m for m in target.get(key, []) if m["mountPath"] not in paths] + value
            elif key != "name":
                target[key] = value
    names = {v["name"] for v in pod_patch.get("volumes", [])}
    pod["volumes"] = [v for v in pod.get("volumes", []) if v["name"] not in names] + pod_patch.get("volumes", [])
    return merged


def overlay_data(files):
    """DATA as `kubectl apply -k` of the overlay would see it: the base with the patch merged in
    and the generated ConfigMaps added."""
    data = copy.deepcopy(DATA)
    for name, docs in data["manifests"].items():
        data["manifests"][name] = [strategic_merge(doc, files["deployment-patch.yaml"])
                                   if doc["kind"] == "Deployment" else doc for doc in docs]
    data["manifests"]["providers.yaml"] = [files["providers.yaml"]]
    data["manifests"]["plugins.yaml"] = [files["plugins.yaml"]]
    return data


def test_the_lua_overlay_rebuilds_both_folders_and_passes_the_checks():
    generator = _load_generator()
    files = generator.overlay(ROOT, "..")
    assert files["kustomization.yaml"]["resources"] == ["..", "providers.yaml", "plugins.yaml"]
    data = overlay_data(files)
    pod = gateway(data)["spec"]["template"]["spec"]
    for folder in ("providers", "plugins"):
        config_map = files[f"{folder}.yaml"]
        volume = next(v for v in pod["volumes"] if v["name"] == folder)
        items = volume["configMap"]["items"]
        # Every key is placed once, at the path the file has in the repository.
        assert sorted(i["key"] for i in items) == sorted(config_map["data"])
        assert sorted(i["path"] for i in items) == sorted(
            p.relative_to(ROOT / folder).as_posix() for p in (ROOT / folder).rglob("*.lua"))
        assert any("/" in i["path"] for i in items), f"{folder}: no subfolder came through"
        for item in items:
            assert config_map["data"][item["key"]] == (ROOT / folder / item["path"]).read_text()
        assert sum(len(k) + len(v.encode()) for k, v in config_map["data"].items()) < generator.CONFIG_MAP_LIMIT
        assert flag(container(data), folder) == generator.MOUNTS[folder] + "/..data"
    for check in (check_schemas, check_volumes_and_config_maps, check_probes_match_the_gateway,
                  check_grace_period_covers_the_drain, check_pod_security, check_service_reaches_the_gateway):
        check(data)


def test_the_lua_overlay_checks_catch_a_lost_volume():
    files = _load_generator().overlay(ROOT, "..")
    files["deployment-patch.yaml"]["spec"]["template"]["spec"]["volumes"].pop()  # plugins
    data = overlay_data(files)
    with pytest.raises(AssertionError, match="volumeMount plugins has no volume"):
        check_volumes_and_config_maps(data)


def test_the_lua_overlay_script_writes_the_overlay(tmp_path):
    import json
    import subprocess
    import sys
    out = tmp_path / "live-lua"
    result = subprocess.run([sys.executable, KUBE / "lua-configmaps.py", "--out", out],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    written = {p.name: json.loads(p.read_text()) for p in out.iterdir()}
    assert written == _load_generator().overlay(ROOT, os.path.relpath(KUBE, out))
    assert written["kustomization.yaml"]["resources"][0] == os.path.relpath(KUBE, out)
