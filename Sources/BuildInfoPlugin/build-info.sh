#!/bin/sh
# Writes the Swift file that names the git commit the binary is built from (switchboard
# --version), for the BuildInfo plugin (BuildInfoPlugin.swift), which runs it when HEAD moves or a
# source file changes.
#
#   build-info.sh PACKAGE_DIR OUTPUT_FILE
#
# The commit is `git rev-parse --short=12 HEAD`, with "-dirty" when what the binary is built from
# (Package.swift and Sources/, untracked files included) differs from it. Without git or a .git of
# the package's own (a source tarball, the container build), it is $SWITCHBOARD_COMMIT, else
# "unknown". The file is replaced only when its text changes, so the module is not recompiled for
# an unchanged stamp.
set -eu
package=$1
output=$2

commit=
if command -v git >/dev/null 2>&1 \
    && top=$(git -C "$package" rev-parse --show-toplevel 2>/dev/null) \
    && [ "$(cd "$top" && pwd -P)" = "$(cd "$package" && pwd -P)" ]; then
    commit=$(git -C "$package" rev-parse --short=12 HEAD 2>/dev/null) || commit=
    # --no-optional-locks: never take the index lock, which a commit running meanwhile needs.
    if [ -n "$commit" ] && [ -n "$(git -C "$package" --no-optional-locks status --porcelain -- Package.swift Sources 2>/dev/null)" ]; then
        commit="$commit-dirty"
    fi
fi
if [ -z "$commit" ]; then
    commit=${SWITCHBOARD_COMMIT:-unknown}
fi
# Only characters that need no escaping in a Swift string literal.
commit=$(printf '%s' "$commit" | tr -cd 'A-Za-z0-9._+-')
[ -n "$commit" ] || commit=unknown

mkdir -p "$(dirname "$output")"
text="// Generated at build time by Sources/BuildInfoPlugin/build-info.sh (the BuildInfo plugin); not in the repository.

/// What \`switchboard --version\` prints after the version.
enum BuildInfo {
    /// The git commit the binary was built from (\"-dirty\": with uncommitted changes to its sources).
    static let commit = \"$commit\"
}"
if [ -f "$output" ] && [ "$(cat "$output")" = "$text" ]; then
    exit 0
fi
printf '%s\n' "$text" > "$output.tmp"
mv "$output.tmp" "$output"
