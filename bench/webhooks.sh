#!/usr/bin/env bash
# The event pipeline under load: AXP MESSAGES webhooks into a built proxy,
# signed notifications out to a local receiver (bench/webhooks), with the
# stand-alone simulator as AXP (only for opening the conversations).
#   bench/webhooks.sh [bolt|redis|cluster] [events] [conversations] [callers]
# CPU_PROFILE=file also writes the proxy's CPU profile over the first 10 s
# of the run (admin_pprof), for `go tool pprof`; LOAD_PROFILE=file the load
# generator's and receiver's over the whole run. PROXY_BIN=path runs that
# build of the proxy instead of this tree's (to compare two builds).
# The embedded store is fsync'd bbolt in a temp dir; redis starts a
# redis-server (and cluster three, made a cluster) on loopback, without
# persistence.
set -euo pipefail
cd "$(dirname "$0")/.."
store=${1:-bolt}
events=${2:-30000}
convs=${3:-256}
conns=${4:-64}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${PROXY_BIN:-}" ]; then
  cp "$PROXY_BIN" "$work/connector-proxy"
else
  go build -o "$work/connector-proxy" ./cmd/connector-proxy
fi
go build -o "$work/engagement-sim" ./cmd/engagement-sim
go build -o "$work/webhooks" ./bench/webhooks

"$work/engagement-sim" -addr 127.0.0.1:18091 -auto-agent=false -log-level warn >"$work/sim.log" 2>&1 &
pids+=($!)

redis_conf=""
case "$store" in
bolt) redis_conf="  driver: bolt" ;;
redis)
  redis-server --port 18379 --bind 127.0.0.1 --save "" --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
  pids+=($!)
  redis_conf=$'  driver: redis\n  redis_url: redis://127.0.0.1:18379/0'
  ;;
cluster)
  nodes=()
  for port in 18380 18381 18382; do
    mkdir -p "$work/n$port"
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work/n$port" \
      --cluster-enabled yes --cluster-config-file nodes.conf >"$work/redis-$port.log" 2>&1 &
    pids+=($!)
    nodes+=("127.0.0.1:$port")
  done
  sleep 0.5
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$work/cluster.log"
  for _ in $(seq 1 100); do
    redis-cli -p 18380 cluster info | grep -q cluster_state:ok && break
    sleep 0.1
  done
  redis_conf=$'  driver: redis\n  redis_cluster: true\n  redis_url: redis://127.0.0.1:18380?addr=127.0.0.1:18381&addr=127.0.0.1:18382'
  ;;
*) echo "store: bolt, redis or cluster" >&2; exit 2 ;;
esac

pprof=false
[ -n "${CPU_PROFILE:-}" ] && pprof=true
token=benchbenchbenchbenchbenchbenchbench0123
cat >"$work/proxy.yaml" <<YAML
listen: 127.0.0.1:18080
admin_listen: 127.0.0.1:19090
admin_pprof: $pprof
data_dir: $work/data
log:
  level: warn
store:
$redis_conf
axp:
  base_url: http://127.0.0.1:18091
  account_id: ABCDEF
  client_id: demo-client
  client_secret: demo-secret
  channel_provider_id: bench
  webhook_token: $token
connector_api:
  apps:
    - client_id: bench-app
      client_secret: bench-secret
      account_id: le12345678
      webhooks:
        ms.MessagingEventNotification.ContentEvent: http://127.0.0.1:18095/content
        cqm.ExConversationChangeNotification: http://127.0.0.1:18095/conversation
YAML
"$work/connector-proxy" -config "$work/proxy.yaml" >"$work/proxy.log" 2>&1 &
proxy=$!
pids+=($proxy)
for _ in $(seq 1 100); do
  curl -fs http://127.0.0.1:19090/readyz >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs http://127.0.0.1:19090/readyz >/dev/null || { cat "$work/proxy.log"; exit 1; }

echo "store: $store; load average: $(cut -d' ' -f1-3 /proc/loadavg); cores: $(nproc)"
cpu() { awk '{print $14+$15}' "/proc/$proxy/stat"; }
before=$(cpu)
if [ -n "${CPU_PROFILE:-}" ]; then
  curl -fs -o "$CPU_PROFILE" 'http://127.0.0.1:19090/debug/pprof/profile?seconds=10' &
  pids+=($!)
fi
"$work/webhooks" -proxy http://127.0.0.1:18080 -token "$token" -listen 127.0.0.1:18095 -n "$events" -convs "$convs" -conns "$conns" \
  ${LOAD_PROFILE:+-cpuprofile "$LOAD_PROFILE"} || status=$?
after=$(cpu)
ticks=$(getconf CLK_TCK)
echo "proxy CPU: $(( (after - before) * 1000 / ticks )) ms for the run; RSS $(ps -o rss= -p "$proxy" | tr -d ' ') KiB"
curl -s http://127.0.0.1:19090/metrics | grep -E '^connector_proxy_store_commit_(writes|duration_seconds)_(sum|count)|^connector_proxy_pipeline_conflicts_total' || true
exit "${status:-0}"
