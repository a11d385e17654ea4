# shellcheck shell=bash
# Shared helpers for scripts/lab and scripts/test: the Python venv, the Docker engine and the systemd base images.
# Sourced, never run. Everything here is idempotent: it reuses what exists and only builds what is missing.

BULWARK_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BULWARK_VENV=${BULWARK_VENV:-$BULWARK_ROOT/.venv}
BULWARK_CACHE=$BULWARK_ROOT/.cache
# Debian releases we test on: suite=image tag. Debian 12 and 13.
BULWARK_SUITES=${BULWARK_SUITES:-"bookworm trixie"}
BULWARK_IMAGE_REPO=${BULWARK_IMAGE_REPO:-bulwark/debian-systemd}
# Packages baked into the base image: what systemd and Ansible need, nothing a role should install itself.
BULWARK_IMAGE_PACKAGES=systemd,systemd-sysv,dbus,python3,python3-apt,sudo,iproute2,procps,ca-certificates
_BULWARK_STARTED_DOCKERD_PID=

log() { printf '\033[1m==> %s %s\033[0m\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

apt_install() {
  # apt-get install PACKAGE... (updating the lists once per call; we are root on the lab/CI machines).
  local sudo=
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_venv() {
  # Create or refresh .venv from requirements.txt; a stamp holding the file's hash skips the work when unchanged.
  local stamp=$BULWARK_VENV/.requirements.sha256 want
  want=$(sha256sum "$BULWARK_ROOT/requirements.txt" | cut -d' ' -f1)
  if [ ! -x "$BULWARK_VENV/bin/python" ]; then
    command -v python3 >/dev/null || apt_install python3
    python3 -m venv "$BULWARK_VENV" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$BULWARK_VENV"; }
  fi
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "Installing pinned Python tooling into $BULWARK_VENV"
    "$BULWARK_VENV/bin/pip" install -q --upgrade pip
    "$BULWARK_VENV/bin/pip" install -q -r "$BULWARK_ROOT/requirements.txt"
    echo "$want" >"$stamp"
  fi
  # shellcheck disable=SC1091
  . "$BULWARK_VENV/bin/activate"
  link_collection
}

link_collection() {
  # The repo root *is* the collection: expose it as ansible_collections/bulwark/stack (ansible.cfg points here).
  local dir=$BULWARK_CACHE/collections/ansible_collections/bulwark
  mkdir -p "$dir"
  [ -L "$dir/stack" ] || ln -sfn "$BULWARK_ROOT" "$dir/stack"
  export ANSIBLE_COLLECTIONS_PATH=$BULWARK_CACHE/collections
}

raise_inotify_limit() {
  # Every systemd container takes inotify instances from the host's per-user pool; Debian's default of 128 runs out
  # with a few dozen containers and new ones then hang at boot ("Failed to create inotify object").
  local want=1024 have
  have=$(cat /proc/sys/fs/inotify/max_user_instances 2>/dev/null || echo "$want")
  if [ "$have" -lt "$want" ]; then
    sysctl -qw fs.inotify.max_user_instances="$want" 2>/dev/null ||
      log "fs.inotify.max_user_instances is $have; raise it to $want or containers may hang at boot"
  fi
}

ensure_engine() {
  raise_inotify_limit
  # A Docker engine that answers. Installs Debian's docker.io when only a client (or nothing) is present and
  # starts dockerd by hand when no daemon answers (these machines have no systemd as PID 1).
  if docker info >/dev/null 2>&1; then return 0; fi
  if ! command -v dockerd >/dev/null 2>&1; then
    log "Installing Debian's docker.io (no Docker engine found)"
    apt_install docker.io
  fi
  if docker info >/dev/null 2>&1; then return 0; fi
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl start docker || true
  else
    log "Starting dockerd (log: /var/log/bulwark-dockerd.log)"
    # Fully detached: own session, no inherited stdin/stdout, so it never holds a CI pipe open.
    setsid nohup dockerd </dev/null >/var/log/bulwark-dockerd.log 2>&1 &
    _BULWARK_STARTED_DOCKERD_PID=$!
    echo "$_BULWARK_STARTED_DOCKERD_PID" >/run/bulwark-dockerd.pid
  fi
  local i
  for i in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  die "the Docker engine did not answer within 60 s; see /var/log/bulwark-dockerd.log"
}

stop_engine_if_started() {
  # Stop dockerd only if this process started it (the lab command leaves it running on purpose).
  [ -n "$_BULWARK_STARTED_DOCKERD_PID" ] || return 0
  log "Stopping the dockerd this run started (pid $_BULWARK_STARTED_DOCKERD_PID)"
  kill "$_BULWARK_STARTED_DOCKERD_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 30); do
    kill -0 "$_BULWARK_STARTED_DOCKERD_PID" 2>/dev/null || break
    sleep 1
  done
  kill -9 "$_BULWARK_STARTED_DOCKERD_PID" 2>/dev/null || true
  rm -f /run/bulwark-dockerd.pid
  _BULWARK_STARTED_DOCKERD_PID=
}

write_test_image_config() {
  # write_test_image_config ROOT: dpkg and apt settings for throwaway test containers only (never for a real host).
  # dpkg skips fsync (a container that dies is thrown away anyway) and leaves out documentation and man pages, and
  # apt fetches no translations (one postgresql + redis + nginx install: 57 s instead of 85 s).
  mkdir -p "$1/etc/dpkg/dpkg.cfg.d" "$1/etc/apt/apt.conf.d"
  cat >"$1/etc/dpkg/dpkg.cfg.d/90-bulwark-test-image" <<'CFG'
force-unsafe-io
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
CFG
  echo 'Acquire::Languages "none";' >"$1/etc/apt/apt.conf.d/90-bulwark-test-image"
  # Python keeps the bytecode it compiles from Ansible's module zips (scripts/image/bulwark_zipimport_cache.py):
  # every module run otherwise compiles the same module_utils source again.
  local site=$1/usr/lib/python3/dist-packages
  mkdir -p "$site"
  cp "$BULWARK_ROOT/scripts/image/bulwark_zipimport_cache.py" "$site/"
  echo 'import bulwark_zipimport_cache' >"$site/bulwark_zipimport_cache.pth"
}

image_recipe() {
  # A hash of what goes into the base images: an image whose label differs is rebuilt.
  { declare -f write_test_image_config; cat "$BULWARK_ROOT/scripts/image/bulwark_zipimport_cache.py"
    echo "$BULWARK_IMAGE_PACKAGES"; } | sha256sum | cut -c1-16
}

build_image() {
  # build_image SUITE: a systemd-capable Debian image tagged $BULWARK_IMAGE_REPO:SUITE.
  # With a registry: debian:SUITE + systemd in a Dockerfile. Without one: debootstrap + docker import.
  local suite=$1 image=$BULWARK_IMAGE_REPO:$1 recipe
  recipe=$(image_recipe)
  if [ "$(docker image inspect -f '{{ index .Config.Labels "bulwark.recipe" }}' "$image" 2>/dev/null)" = \
    "$recipe" ]; then return 0; fi
  if timeout 30 docker pull -q "debian:$suite" >/dev/null 2>&1; then
    log "Building $image from the registry's debian:$suite"
    local ctx
    ctx=$(mktemp -d "${TMPDIR:-/tmp}/bulwark-image-$suite.XXXXXX")
    write_test_image_config "$ctx/rootfs"
    cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM debian:$suite
COPY rootfs/ /
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    $(echo "$BULWARK_IMAGE_PACKAGES" | tr ',' ' ') && rm -rf /var/lib/apt/lists/*
LABEL bulwark.recipe=$recipe
STOPSIGNAL SIGRTMIN+3
CMD ["/lib/systemd/systemd"]
DOCKERFILE
    docker build -q -t "$image" "$ctx" >/dev/null || die "building $image failed"
    rm -rf "$ctx"
    return 0
  fi
  log "Building $image with debootstrap (no registry reachable; about a minute)"
  command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
  local root
  root=$(mktemp -d "${TMPDIR:-/tmp}/bulwark-rootfs-$suite.XXXXXX")
  debootstrap --variant=minbase --include="$BULWARK_IMAGE_PACKAGES" "$suite" "$root" >"$root.log" 2>&1 \
    || { tail -20 "$root.log" >&2; die "debootstrap $suite failed (full log: $root.log)"; }
  # Lean image: no package lists or caches, no machine identity (systemd creates one per container).
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
  # ...and an old mtime on the empty lists directory, or apt's cache_valid_time would think the index is fresh.
  touch -d '2000-01-01' "$root/var/lib/apt/lists"
  : >"$root/etc/machine-id"
  write_test_image_config "$root"
  # (docker import accepts no STOPSIGNAL: the lab and Molecule set stop_signal SIGRTMIN+3 on the containers.)
  tar -C "$root" -c . | docker import -c 'CMD ["/lib/systemd/systemd"]' -c "LABEL bulwark.recipe=$recipe" - "$image" >/dev/null
  local rc=("${PIPESTATUS[@]}")
  rm -rf "$root" "$root.log"
  [ "${rc[0]}" -eq 0 ] && [ "${rc[1]}" -eq 0 ] || die "importing $image failed (tar ${rc[0]}, docker import ${rc[1]})"
}

ensure_images() {
  local suite
  for suite in $BULWARK_SUITES; do build_image "$suite"; done
}

prepare_ansible_test_offline() {
  # `ansible-test sanity --venv` bootstraps pip in each venv with a get-pip script downloaded from a host this lab
  # cannot reach. Stand in for it: pip's own wheel (from PyPI) plus a tiny script that installs from it.
  local ver cache
  ver=$(python - <<'PY'
import re, ansible_test, os
src = open(os.path.join(os.path.dirname(ansible_test.__file__), '_internal', 'python_requirements.py')).read()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)
  cache=$HOME/.ansible/test/cache
  [ -f "$cache/get_pip_${ver//./_}.py" ] && return 0
  mkdir -p "$cache"
  pip download -q --no-deps -d "$cache" "pip==$ver"
  cat >"$cache/get_pip_${ver//./_}.py" <<PY
# Offline stand-in for get-pip-$ver.py, written by bulwark.stack scripts/lib.sh: installs pip from its wheel.
import glob, os, sys
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, glob.glob(os.path.join(here, 'pip-$ver-*.whl'))[0])
from pip._internal.cli.main import main
args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
sys.exit(main(['install', '--find-links', here] + args))
PY
}

ensure_core_venv() {
  # ensure_core_venv DIR PIN PYTHON: a venv DIR with PIN (ansible-core==X.Y.Z) on Python PYTHON (3.N) and the unit
  # tests' packages at requirements.txt's pins, for tests on another ansible-core; .venv is left alone. A stamp
  # holding the inputs' hash skips the work when unchanged. The interpreter: pythonPYTHON on PATH, else pyenv's.
  local dir=$1 pin=$2 py=$3 deps want interp='' p
  deps=$(grep -E '^(jinja2|passlib|bcrypt|zxcvbn|pytest)==' "$BULWARK_ROOT/requirements.txt")
  want=$(printf '%s\n' "$pin" "$py" "$deps" | sha256sum | cut -d' ' -f1)
  [ "$(cat "$dir/.stamp" 2>/dev/null)" = "$want" ] && return 0
  for p in "$(command -v "python$py")" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$py".*/bin/"python$py"; do
    [ -x "$p" ] && "$p" -c '' 2>/dev/null && { interp=$p; break; }
  done
  [ -n "$interp" ] || { echo "no Python $py found for $pin (install it, e.g. with pyenv)" >&2; return 1; }
  log "Creating $dir: $pin on $interp"
  rm -rf "$dir" && "$interp" -m venv "$dir" && "$dir/bin/pip" install -q --upgrade pip &&
    # shellcheck disable=SC2086 # one package a word
    "$dir/bin/pip" install -q "$pin" $deps && echo "$want" >"$dir/.stamp"
}
