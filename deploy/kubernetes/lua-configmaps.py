#!/usr/bin/env python3
"""Writes a kustomize overlay that serves providers/ and plugins/ from ConfigMaps instead of the
image, so edits to them reach every replica without a new image (hot reload).

    python3 deploy/kubernetes/lua-configmaps.py            # writes deploy/kubernetes/live-lua/
    kubectl apply --server-side -k deploy/kubernetes/live-lua

A ConfigMap key cannot hold a '/', and both folders have subfolders (providers/lib/,
plugins/<namespace>/, plugins/lib/): each file's key is its path with '/' turned into '.'
(`lib.openai_chat.lua`, `default.regexMatch.lua`) and the volume's `items` put it back at its path.
So the overlay changes the Deployment when a file is added or removed (a rolling restart), and
only the ConfigMap when a file is edited (reloaded in place, no restart). `--server-side` because
the providers ConfigMap is larger than the 256 KiB annotation a client-side apply keeps.

The gateway reads the folders through each volume's `..data` link (see deploy/README.md).
Standard library only: no PyYAML needed (the output is JSON, which is YAML).
"""
import argparse
import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MOUNTS = {"providers": "/etc/switchboard/providers", "plugins": "/etc/switchboard/plugins"}
# What a ConfigMap may hold in total (etcd's object limit, as the API server enforces it).
CONFIG_MAP_LIMIT = 1024 * 1024


def lua_files(folder: Path):
    """Relative paths of every .lua file the gateway loads from the folder, sorted."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.lua") if p.is_file())


def config_map(name, folder: Path):
    paths = lua_files(folder)
    keys = {path.replace("/", "."): path for path in paths}
    if len(keys) != len(paths):
        raise SystemExit(f"{folder}: two files map to one ConfigMap key: {sorted(paths)}")
    data = {key: (folder / path).read_text() for key, path in sorted(keys.items())}
    size = sum(len(k) + len(v.encode()) for k, v in data.items())
    if size > CONFIG_MAP_LIMIT:
        raise SystemExit(f"{folder}: {size} bytes, more than a ConfigMap holds ({CONFIG_MAP_LIMIT})")
    manifest = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "labels": {"app.kubernetes.io/name": "switchboard"}},
                "data": data}
    items = [{"key": key, "path": path} for key, path in sorted(keys.items())]
    return manifest, items


def overlay(root: Path, base: str):
    """The overlay's files: name → object."""
    files, volumes, mounts = {}, [], []
    for folder, mount in MOUNTS.items():
        name = f"switchboard-{folder}"
        manifest, items = config_map(name, root / folder)
        files[f"{folder}.yaml"] = manifest
        volumes.append({"name": folder, "configMap": {"name": name, "items": items}})
        mounts.append({"name": folder, "mountPath": mount, "readOnly": True})
    patch = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "switchboard"},
        "spec": {"template": {"spec": {
            "containers": [{
                "name": "switchboard",
                # A list in a strategic merge patch replaces the base's args as a whole.
                "args": [f"--providers={MOUNTS['providers']}/..data", f"--plugins={MOUNTS['plugins']}/..data",
                         "--scripts=/etc/switchboard/scripts/..data", "--configs=/etc/switchboard/configs/..data"],
                "volumeMounts": mounts,
            }],
            "volumes": volumes,
        }}},
    }
    files["deployment-patch.yaml"] = patch
    files["kustomization.yaml"] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": [base, "providers.yaml", "plugins.yaml"],
        "patches": [{"path": "deployment-patch.yaml"}],
    }
    return files


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout holding providers/ and plugins/")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "live-lua")
    options = parser.parse_args()
    out = options.out.resolve()
    base = os.path.relpath(Path(__file__).resolve().parent, out)
    files = overlay(options.root.resolve(), base)
    out.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (out / name).write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {', '.join(sorted(files))} to {out}")


if __name__ == "__main__":
    main()
