#!/usr/bin/env bash
# Proves the README on a new machine: a bare Debian 12 root that holds only the base of the machines
# this project runs on (Debian 12, Node 20 with npm, build-essential, cmake, ninja-build, git,
# python3, xz-utils), a fresh clone of the repository, and exactly the README's commands:
#
#   npm ci && npm run demo      (installs LibTorch itself, builds the addon and dist/, runs the demo)
#   npm test                    (installs the test-time reference packages itself, then runs vitest)
#
# Each command is timed and the test summary is printed. Nothing from this machine's own packages
# reaches the root except Node (with npm), the npm configuration, the apt sources and the CA
# certificates, which are what a new machine of this kind is given.
#
# Usage (as root; needs mmdebstrap):
#   scripts/dev/new-machine.sh [--base DIR] [--keep] REPO [COMMIT]   run the proof on a copy of the base
#   scripts/dev/new-machine.sh [--base DIR] --base-only             build (or check) the base and stop
#
#   --base DIR   where the pristine base root lives (default /work/newroot/base); built once, reused
#   --keep       keep the run's root (DIR/../run-<time>) afterwards instead of deleting it
#   REPO         a git repository path or URL, cloned with git on this machine
#   COMMIT       the commit or branch to check out (default: the repository's HEAD)
set -euo pipefail

base=/work/newroot/base
keep=0
base_only=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --base) base="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    --base-only) base_only=1; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
repo="${1:-}"
commit="${2:-}"
if [[ $base_only -eq 0 && -z "$repo" ]]; then
  echo "usage: $0 [--base DIR] [--keep] REPO [COMMIT] | $0 [--base DIR] --base-only" >&2
  exit 2
fi
[[ $(id -u) -eq 0 ]] || { echo "$0: run as root (mmdebstrap, chroot and mount need it)" >&2; exit 2; }

say() { printf '[new-machine] %s\n' "$*" >&2; }

# ---- the base: built once, never modified afterwards (each run works on a copy) ----
if [[ ! -f "$base/etc/debian_version" ]]; then
  say "building the bare bookworm base in $base (mmdebstrap, a few minutes)"
  mkdir -p "$(dirname "$base")"
  mmdebstrap --variant=apt \
    --include=ca-certificates,git,python3,build-essential,cmake,ninja-build,xz-utils \
    bookworm "$base"
  # Node 20 with npm, as this machine has it: the binary, its headers (the addon build uses them
  # instead of downloading) and npm itself.
  node_bin=$(readlink -f "$(command -v node)")
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  install -D -m 0755 "$node_bin" "$base/usr/bin/node"
  mkdir -p "$base/usr/lib/node_modules" "$base/usr/include"
  cp -a "$npm_dir" "$base/usr/lib/node_modules/npm"
  [[ -d /usr/include/node ]] && cp -a /usr/include/node "$base/usr/include/node"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$base/usr/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$base/usr/bin/npx"
fi

# ---- mounts: what a new machine is given, read-only, and the kernel file systems ----
mounts=()
bind_ro() { # bind_ro HOST_PATH ROOT
  local src="$1" dst="$2$1"
  [[ -e "$src" ]] || return 0
  if [[ -d "$src" ]]; then mkdir -p "$dst"; else mkdir -p "$(dirname "$dst")"; touch "$dst"; fi
  mount --bind "$src" "$dst"
  mount -o remount,bind,ro "$dst"
  mounts+=("$dst")
}
enter() { # enter ROOT: mount everything the root needs
  local root="$1"
  mount -t proc proc "$root/proc"; mounts+=("$root/proc")
  mount --rbind /dev "$root/dev"; mount --make-rslave "$root/dev"; mounts+=("$root/dev")
  mount --rbind /sys "$root/sys"; mount --make-rslave "$root/sys"; mounts+=("$root/sys")
  bind_ro /etc/apt "$root"
  bind_ro /etc/ssl/certs "$root"
  bind_ro /etc/resolv.conf "$root"
  # npm's configuration: the global file (npm config get globalconfig), /etc/npmrc and root's own.
  local globalconfig
  globalconfig=$(npm config get globalconfig 2>/dev/null || true)
  for f in "$globalconfig" /etc/npmrc /root/.npmrc; do [[ -n "$f" && -f "$f" ]] && bind_ro "$f" "$root"; done
  return 0
}
leave() {
  local i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -R "${mounts[$i]}" 2>/dev/null || umount -l "${mounts[$i]}" || true; done
  mounts=()
}
trap leave EXIT
in_root() { # in_root ROOT COMMAND: a login-like shell with a clean environment
  chroot "$1" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/bash -c "$2"
}

if [[ $base_only -eq 1 ]]; then
  # Check the base the way a run uses it, on a throwaway copy so that the base stays bare.
  check="$(dirname "$base")/check-$$"
  cp -a "$base" "$check"
  enter "$check"
  in_root "$check" 'set -e; echo "node $(node --version), npm $(npm --version)"; npm config get registry
    apt-get update -qq && apt-get install -y -qq --no-install-recommends hello >/dev/null && hello
    git --version; cmake --version | head -1; ninja --version; python3 --version'
  leave
  rm -rf --one-file-system "$check"
  say "base ready at $base"
  exit 0
fi

# ---- a run: a copy of the base, a clone, the README's commands ----
run="$(dirname "$base")/run-$(date -u +%Y%m%dT%H%M%S)"
say "copying the base to $run"
cp -a "$base" "$run"
git clone -q "$repo" "$run/root/spottune3d"
if [[ -n "$commit" ]]; then git -C "$run/root/spottune3d" checkout -q "$commit"; fi
say "testing $(git -C "$run/root/spottune3d" log -1 --format='%h %s')"
enter "$run"

status=0
in_root "$run" '
  set -uo pipefail
  cd /root/spottune3d
  echo "node $(node --version), npm $(npm --version), $(nproc) CPUs, Debian $(cat /etc/debian_version)"
  step() { local name="$1"; shift; local t0=$SECONDS; "$@"; local rc=$?; echo "[new-machine] $name: exit $rc, $((SECONDS - t0)) s" | tee -a /root/times.txt; return $rc; }
  step "npm ci" npm ci --no-audit --no-fund || exit 1
  step "npm run demo" npm run demo || exit 1
  rm -f test-results.json
  step "npm test" npm test; rc=$?
  node -e "
    const r = JSON.parse(require(\"fs\").readFileSync(\"test-results.json\", \"utf8\"));
    console.log(\`[new-machine] tests: \${r.numPassedTests} passed, \${r.numFailedTests} failed, \${r.numPendingTests + r.numTodoTests} skipped, \${r.numTotalTestSuites} suites\`);
  " || true
  exit $rc
' || status=$?
leave
say "times:"; cat "$run/root/times.txt" >&2 || true
if [[ $keep -eq 0 ]]; then rm -rf --one-file-system "$run"; else say "kept $run"; fi
exit $status
