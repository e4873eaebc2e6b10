#!/usr/bin/env bash
# The conformance suite's clients whose pins conflict with ours (tests/peers/isolated/<client>/):
# each gets a fresh venv with this project's emulator extra, its own requirements.txt and
# pytest, and runs its directory alone (--confcutdir: nothing above it is imported). The main
# pytest run skips that directory. A new client is a new directory; nothing here changes.
set -euo pipefail
cd "$(dirname "$0")/.."

root="${CI_PEERS_VENVS:-.ci-venv-peers}"
for dir in tests/peers/isolated/*/; do
  [ -f "$dir/requirements.txt" ] || continue
  name="$(basename "$dir")"
  venv="$root/$name"
  echo "== peer: $name (own venv: $dir/requirements.txt)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet -e ".[emulator]" -r "$dir/requirements.txt"
  "$venv/bin/pip" freeze --exclude-editable | grep -iE "^(openai|langchain|haystack|parallel|litellm)" \
    | sed 's/^/   /' || true
  "$venv/bin/python" -m pytest -q -p no:cacheprovider -c /dev/null --rootdir=tests/peers/isolated \
    --confcutdir=tests/peers/isolated --import-mode=importlib "$dir"
  rm -rf "$venv"
done
