"""Hot reload from a Kubernetes ConfigMap volume, as deploy/kubernetes/deployment.yaml mounts it.

The kubelet writes a ConfigMap volume as (its AtomicWriter):
    MOUNT/..2026_11_27_03_15_09.123/tenant.lua   the files, in a folder named by the time
    MOUNT/..data -> ..2026_11_27_03_15_09.123     swapped by a rename when the ConfigMap changes
    MOUNT/tenant.lua -> ..data/tenant.lua         one link per key, left alone on an update
An update writes a new timestamped folder, renames a new `..data` link over the old one and
removes the old folder. `write_config_map` below does the same, step by step, on a temporary
folder; the gateway is the real binary. Also: the ConfigMaps' own scripts and configs pass
`switchboard check`.
"""
import os
import shutil
import subprocess
import time
from pathlib import Path

import yaml

from conftest import BIN, ROOT

KUBE = ROOT / "deploy" / "kubernetes"


def write_config_map(mount: Path, files: dict):
    """What the kubelet does to a ConfigMap volume on creation and on each update. `files` maps a
    path in the volume (a key, or an item's `path`, which may hold a '/') to its text."""
    mount.mkdir(exist_ok=True)
    stamped = mount / f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{time.monotonic_ns()}"
    stamped.mkdir()
    for path, text in files.items():
        (stamped / path).parent.mkdir(parents=True, exist_ok=True)
        (stamped / path).write_text(text)
    data = mount / "..data"
    old = os.readlink(data) if data.is_symlink() else None
    os.symlink(stamped.name, mount / "..data_tmp")
    os.rename(mount / "..data_tmp", data)
    # One link per top-level name (a file, or the first folder of an item's path).
    tops = {path.split("/", 1)[0] for path in files}
    for name in tops:
        if not (mount / name).is_symlink():
            os.symlink(f"..data/{name}", mount / name)
    for entry in mount.iterdir():
        if entry.is_symlink() and not entry.name.startswith("..") and entry.name not in tops:
            entry.unlink()
    if old:
        shutil.rmtree(mount / old)


def load_overlay():
    import importlib.util
    spec = importlib.util.spec_from_file_location("lua_configmaps", KUBE / "lua-configmaps.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.overlay(ROOT, "..")


def overlay_files(overlay, folder):
    """The files a volume with the overlay's items holds: path → text."""
    data = overlay[f"{folder}.yaml"]["data"]
    volumes = overlay["deployment-patch.yaml"]["spec"]["template"]["spec"]["volumes"]
    items = next(v for v in volumes if v["name"] == folder)["configMap"]["items"]
    return {item["path"]: data[item["key"]] for item in items}


def config_maps():
    return {doc["metadata"]["name"]: doc.get("data", {})
            for doc in yaml.safe_load_all((KUBE / "configmaps.yaml").read_text()) if doc}


def reloads(gateway, *parts):
    """Log lines holding every one of parts."""
    return sum(1 for line in gateway.output().splitlines() if all(part in line for part in parts))


def wait_for(gateway, *parts, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if reloads(gateway, *parts):
            return
        time.sleep(0.05)
    raise AssertionError(f"no log line with {parts} within {timeout}s:\n{gateway.output()}")


SCRIPT_V1 = 'return { order = 10, on_request = function(ctx, req) ctx.v = 1 end }\n'
SCRIPT_V2 = 'return { order = 20, on_request = function(ctx, req) ctx.v = 2 end }\n'
CONFIG_V1 = '{"provider": "openai"}\n'
CONFIG_V2 = '{"retry": {"attempts": 2}, "targets": [{"provider": "openai"}]}\n'


def test_config_map_edits_reload_through_the_data_link(launch, tmp_path):
    """The Deployment's way: --scripts/--configs MOUNT/..data. The files behind the link are new
    files after every update, with new modification times, so the 500 ms check sees them."""
    scripts, configs = tmp_path / "scripts", tmp_path / "configs"
    write_config_map(scripts, {"a.lua": SCRIPT_V1})
    write_config_map(configs, {"main.json": CONFIG_V1})
    gateway = launch("--configs", configs / "..data", scripts=scripts / "..data")
    write_config_map(scripts, {"a.lua": SCRIPT_V2})
    wait_for(gateway, "scripts reloaded (files changed): generation 2,", " 1 scripts")
    write_config_map(configs, {"main.json": CONFIG_V2})
    wait_for(gateway, "reloaded config main from configs/main.json")
    # A key added and one removed: scripts reload again, with two, then one.
    write_config_map(scripts, {"a.lua": SCRIPT_V2, "b.lua": SCRIPT_V1})
    wait_for(gateway, "scripts reloaded", "generation 3,", " 2 scripts")
    write_config_map(scripts, {"b.lua": SCRIPT_V1})
    wait_for(gateway, "scripts reloaded", "generation 4,", " 1 scripts")


def test_a_plain_config_map_mount_reloads_edits_too(launch, tmp_path):
    """At the mount itself each key is a link that an update leaves as it was; the gateway checks
    the file a link leads to (FileStamp), so an edited file is seen there as well. (It once read
    the link itself, and every edit made this way was missed.)"""
    scripts, configs = tmp_path / "scripts", tmp_path / "configs"
    write_config_map(scripts, {"a.lua": SCRIPT_V1})
    write_config_map(configs, {"main.json": CONFIG_V1})
    gateway = launch("--configs", configs, scripts=scripts)
    write_config_map(scripts, {"a.lua": SCRIPT_V2})
    write_config_map(configs, {"main.json": CONFIG_V2})
    wait_for(gateway, "scripts reloaded (files changed): generation 2,")
    wait_for(gateway, "reloaded config")


def test_the_config_maps_pass_switchboard_check(tmp_path):
    maps = config_maps()
    write_config_map(tmp_path / "scripts", maps["switchboard-scripts"])
    write_config_map(tmp_path / "configs", maps["switchboard-configs"])
    secret = yaml.safe_load((KUBE / "secret.example.yaml").read_text())["stringData"]
    result = subprocess.run(
        [BIN / "switchboard", "check", "--providers", ROOT / "providers", "--plugins", ROOT / "plugins",
         "--scripts", tmp_path / "scripts" / "..data", "--configs", tmp_path / "configs" / "..data"],
        env={**os.environ, "SWITCHBOARD_VIRTUAL_KEYS": secret["virtual-keys"]},
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(maps['switchboard-scripts'])} scripts" in result.stdout
    assert f"{len(maps['switchboard-configs'])} configs" in result.stdout


def check(*args):
    result = subprocess.run([BIN / "switchboard", "check", *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_lua_overlay_volumes_load_like_the_repository_folders(tmp_path):
    overlay = load_overlay()
    for folder in ("providers", "plugins"):
        write_config_map(tmp_path / folder, overlay_files(overlay, folder))
    from_volumes = check("--providers", tmp_path / "providers" / "..data", "--plugins", tmp_path / "plugins" / "..data",
                         "--scripts", ROOT / "scripts")
    from_repository = check("--providers", ROOT / "providers", "--plugins", ROOT / "plugins", "--scripts", ROOT / "scripts")
    assert from_volumes == from_repository and "providers" in from_volumes


def test_an_edit_to_a_provider_library_in_the_overlay_reloads(launch, tmp_path):
    """A file in a subfolder (providers/lib/) edited in the ConfigMap: a new generation, no restart."""
    overlay = load_overlay()
    providers, plugins = overlay_files(overlay, "providers"), overlay_files(overlay, "plugins")
    write_config_map(tmp_path / "providers", providers)
    write_config_map(tmp_path / "plugins", plugins)
    gateway = launch(providers=tmp_path / "providers" / "..data", plugins=tmp_path / "plugins" / "..data")
    providers["lib/params.lua"] += "\n-- edited in the ConfigMap\n"
    write_config_map(tmp_path / "providers", providers)
    wait_for(gateway, "scripts reloaded (files changed): generation 2,")
    plugins["default/regexMatch.lua"] += "\n-- edited in the ConfigMap\n"
    write_config_map(tmp_path / "plugins", plugins)
    wait_for(gateway, "scripts reloaded (files changed): generation 3,")
