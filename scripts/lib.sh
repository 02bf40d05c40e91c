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

# start_registry DIR: starts docker-registry with storage in DIR on a free port; sets
# REGISTRY_HOST and REGISTRY_PID. Never uses the packaged config (it listens on all interfaces
# and asks for htpasswd auth); its storage settings are kept (in-memory blob-descriptor cache,
# deletes enabled), so benchmarks see the registry as Debian deploys it.
start_registry() {
  local dir=$1 port debug
  port=$(free_port); debug=$(free_port)
  mkdir -p "$dir/storage"
  cat > "$dir/config.yml" <<CFG
version: 0.1
log: { level: error, accesslog: { disabled: true } }
storage:
  filesystem: { rootdirectory: $dir/storage }
  delete: { enabled: true }
  cache: { blobdescriptor: inmemory }
http:
  addr: 127.0.0.1:$port
  debug: { addr: 127.0.0.1:$debug }
CFG
  /usr/bin/docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
  REGISTRY_PID=$!
  REGISTRY_HOST=127.0.0.1:$port
  for _ in $(seq 100); do
    curl -fsS "http://$REGISTRY_HOST/v2/" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "docker-registry did not start; its log:" >&2; cat "$dir/registry.log" >&2
  return 1
}
