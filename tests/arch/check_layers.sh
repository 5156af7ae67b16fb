#!/bin/sh
# Fails when a file of a lower module includes a header of a higher one (docs/ARCHITECTURE.md,
# "Map"). Usage: check_layers.sh [repo root]. Registered in ctest as arch.layers (label unit),
# so `make test` and `make unit` run it.
#
# One line per layer, lowest first; modules on one line may include each other. A module that is
# not listed fails the check too, so a new module must be given its place here.
LAYERS="core
config
auth limits obs
hub
redis
store cluster
engine
api
net
app"

root=${1:-$(dirname "$0")/../..}
cd "$root" || exit 2

{
  # Every module directory, so that one without includes is still checked for a layer.
  for dir in src/* include/rushcast/*; do [ -d "$dir" ] && echo "DIR $dir"; done
  grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"rushcast/[a-z_]+/' src include
} | awk -v layers="$LAYERS" '
BEGIN {
  n = split(layers, lines, "\n")
  for (i = 1; i <= n; i++) { m = split(lines[i], mods, " "); for (j = 1; j <= m; j++) rank[mods[j]] = i }
}
# The module a path belongs to: src/<module>/... or include/rushcast/<module>/...
function module_of(path,   parts) {
  split(path, parts, "/")
  return parts[1] == "src" ? parts[2] : parts[3]
}
/^DIR / {
  mod = module_of($2)
  if (!(mod in rank)) { print $2 ": module \"" mod "\" has no layer in tests/arch/check_layers.sh"; bad = 1 }
  next
}
{
  file = substr($0, 1, index($0, ":") - 1)
  mod = module_of(file)
  target = $0; sub(/.*"rushcast\//, "", target); sub(/\/.*/, "", target)
  if (!(mod in rank)) next  # reported above
  if (!(target in rank) || rank[target] > rank[mod]) {
    print $0 ": " mod " includes " target ", a module above it"
    bad = 1
  }
}
END {
  if (bad) exit 1
  print "layers: every include points down"
}' >&2
