#!/usr/bin/env bash
# The proxy's footprint, to size a deployment's resource requests: builds
# connector-proxy, starts it in demo mode on loopback ports (the embedded
# simulator's auto-agent answers every message, so AXP webhooks and the
# relay run too), measures RSS and CPU at idle, then under a steady modest
# load from bench/loadgen, and stops it.
# CPU is process_cpu_seconds_total from the proxy's own /metrics over each
# window; RSS is VmRSS (and VmHWM, the peak) from /proc. Demo mode runs the
# simulator in the same process, so both figures are an upper bound of the
# proxy alone.
#   bench/footprint.sh [idle seconds] [load seconds] [SEND/s] [consumers]
set -euo pipefail
cd "$(dirname "$0")/.."
idle=${1:-30}
load=${2:-60}
rate=${3:-50}
consumers=${4:-20}
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/connector-proxy" ./cmd/connector-proxy
go build -o "$work/loadgen" ./bench/loadgen
CONNECTOR_PROXY_LISTEN=127.0.0.1:18080 CONNECTOR_PROXY_ADMIN_LISTEN=127.0.0.1:19090 \
CONNECTOR_PROXY_DEMO_SIM_LISTEN=127.0.0.1:18090 \
CONNECTOR_PROXY_DATA_DIR="$work/data" CONNECTOR_PROXY_LOG_LEVEL=warn \
  "$work/connector-proxy" >"$work/proxy.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -fs http://127.0.0.1:19090/readyz >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs http://127.0.0.1:19090/readyz >/dev/null || { cat "$work/proxy.log"; exit 1; }

cpu() { curl -fs http://127.0.0.1:19090/metrics | awk '$1 == "process_cpu_seconds_total" { print $2 }'; }
kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status"; }
millicores() { awk -v a="$1" -v b="$2" -v s="$3" 'BEGIN { printf "%.1f", (b - a) / s * 1000 }'; }

sleep 2 # let start-up work (the subscription, the first token) settle
c0=$(cpu); sleep "$idle"; c1=$(cpu)
echo "idle ${idle}s: CPU $(millicores "$c0" "$c1" "$idle") millicores, RSS $(kib VmRSS) KiB"

c0=$(cpu)
"$work/loadgen" -target http://127.0.0.1:18080 -consumers "$consumers" -rate "$rate" -duration "${load}s"
c1=$(cpu)
echo "load ${rate} SEND/s over ${consumers} conversations, ${load}s (plus one agent answer per message): CPU $(millicores "$c0" "$c1" "$load") millicores, RSS $(kib VmRSS) KiB, peak RSS $(kib VmHWM) KiB"
