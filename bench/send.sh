#!/usr/bin/env bash
# SEND throughput of the real binary: builds connector-proxy, starts it in
# demo mode (embedded simulator, manual agent so that only SEND is measured)
# on loopback ports, drives it with bench/loadgen, and stops it.
# The simulator keeps at most 10,000 messages per dialog: a consumer that
# sends more gets AXP's 429 (counted as failures), so keep consumers ×
# duration × rate per consumer under that. The per-app and per-consumer
# rate limits are off: one load generator is far past what they allow.
#   bench/send.sh [consumers] [duration]
set -euo pipefail
cd "$(dirname "$0")/.."
consumers=${1:-16}
duration=${2:-10s}
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/connector-proxy" ./cmd/connector-proxy
go build -o "$work/loadgen" ./bench/loadgen
CONNECTOR_PROXY_LISTEN=127.0.0.1:18080 CONNECTOR_PROXY_ADMIN_LISTEN=127.0.0.1:19090 \
CONNECTOR_PROXY_DEMO_SIM_LISTEN=127.0.0.1:18090 CONNECTOR_PROXY_DEMO_MANUAL_AGENT=true \
CONNECTOR_PROXY_DATA_DIR="$work/data" CONNECTOR_PROXY_LOG_LEVEL=warn \
CONNECTOR_PROXY_LIMITS_RATE_APP_PER_SECOND=0 CONNECTOR_PROXY_LIMITS_RATE_CONSUMER_PER_SECOND=0 \
  "$work/connector-proxy" >"$work/proxy.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -fs http://127.0.0.1:19090/readyz >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs http://127.0.0.1:19090/readyz >/dev/null || { cat "$work/proxy.log"; exit 1; }
"$work/loadgen" -target http://127.0.0.1:18080 -consumers "$consumers" -duration "$duration"
echo "proxy RSS: $(ps -o rss= -p "$pid" | tr -d ' ') KiB"
