# Shared by scripts/demo and scripts/bench: installing what they need and running a
# throwaway CNCF distribution registry on a free loopback port.

ensure_apt() {
  local missing=()
  for spec in "$@"; do
    local cmd=${spec%%:*} pkg=${spec##*:}
    command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/bin/$cmd" ] || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    echo "installing ${missing[*]} (apt)" >&2
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
# start_registry DIR [debian|harness]: starts docker-registry with storage in DIR on a free
# port; sets REGISTRY_HOST and REGISTRY_PID and adds the pid to REGISTRY_PIDS (see
# stop_registries). Never uses the packaged config (it listens on all interfaces and asks for
# htpasswd auth). `debian` (the default) keeps the packaged storage settings (in-memory
# blob-descriptor cache, deletes enabled), so benchmarks see the registry as Debian deploys it;
# `harness` writes what the test harness writes (crates/imgctl-testkit/src/registry.rs: no
# blob-descriptor cache, so every manifest request stats its blobs on disk; no upload purging).
REGISTRY_PIDS=()
start_registry() {
  local dir=$1 kind=${2:-debian} port debug storage
  port=$(free_port); debug=$(free_port)
  mkdir -p "$dir/storage"
  case $kind in
    debian) storage="  cache: { blobdescriptor: inmemory }" ;;
    harness) storage="  maintenance: { uploadpurging: { enabled: false } }" ;;
    *) echo "start_registry: unknown config '$kind' (debian or harness)" >&2; return 2 ;;
  esac
  cat > "$dir/config.yml" <<CFG
version: 0.1
log: { level: error, accesslog: { disabled: true } }
storage:
  filesystem: { rootdirectory: $dir/storage }
  delete: { enabled: true }
$storage
http:
  addr: 127.0.0.1:$port
  debug: { addr: 127.0.0.1:$debug }
CFG
  /usr/bin/docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
  REGISTRY_PID=$!
  REGISTRY_PIDS+=("$REGISTRY_PID")
  REGISTRY_HOST=127.0.0.1:$port
  for _ in $(seq 100); do
    curl -fsS "http://$REGISTRY_HOST/v2/" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "docker-registry did not start; its log:" >&2; cat "$dir/registry.log" >&2
  return 1
}

# stop_registries: stops every registry start_registry started (for an EXIT trap).
stop_registries() {
  local pid
  for pid in "${REGISTRY_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

# registry_ticks PID: CPU time the process has used (utime + stime, clock ticks of 10 ms).
registry_ticks() {
  awk '{print $14 + $15}' "/proc/$1/stat"
}

# measure OUT CMD…: runs CMD under /usr/bin/time -v (its report in OUT, CMD's stdout in
# OUT.out); prints "WALL_SECONDS PEAK_RSS_KIB". Needs `time` (ensure_apt time:time).
measure() {
  local out=$1; shift
  /usr/bin/time -v -o "$out" "$@" >"$out.out"
  python3 - "$out" <<'PY'
import sys, re
t = open(sys.argv[1]).read()
el = re.search(r"Elapsed \(wall clock\) time.*: (.+)", t).group(1).strip()
secs = sum(float(p) * 60 ** i for i, p in enumerate(reversed(el.split(":"))))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
print(f"{secs:.3f} {rss}")
PY
}
