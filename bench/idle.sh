#!/usr/bin/env bash
# RSS per idle Socket.IO WebSocket client of the real binary: for each count
# (default 5,000 and 50,000) it starts connector-proxy in demo mode on
# loopback ports, opens that many idle clients with bench/sioidle (spread over
# several 127.0.0.x source addresses), waits SETTLE (several ping rounds),
# prints VmRSS delta / clients, and stops the proxy.
#   bench/idle.sh [count...]
# Knobs: SETTLE (75s: three pings at the default 25 s interval),
#        PING_INTERVAL (the proxy's, default 25s), CONCURRENCY (64).
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("$@")
((${#counts[@]})) || counts=(5000 50000)
SETTLE=${SETTLE:-75s}
PING_INTERVAL=${PING_INTERVAL:-25s}
CONCURRENCY=${CONCURRENCY:-64}

# Each side holds one descriptor per client (the proxy and sioidle are two
# processes, each with its own limit): raise the limit (root, with
# CAP_SYS_RESOURCE, may raise the hard one too); where it cannot be raised
# far enough, counts above it are cut to what it allows, and said so, with
# the limit, on stderr and in the result line.
max=0
for n in "${counts[@]}"; do ((n > max)) && max=$n; done
want=$((max + 1024))
if (($(ulimit -n) < want)); then
  ulimit -n "$want" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fi
limit=$(($(ulimit -n) - 1024))
cut=()
for i in "${!counts[@]}"; do
  cut[i]=""
  if ((counts[i] > limit)); then
    echo "idle.sh: the open-file limit is $(ulimit -n) (hard $(ulimit -Hn)) and cannot be raised here: ${counts[i]} clients cut to $limit" >&2
    cut[i]=" (asked ${counts[i]}; cut to $limit by ulimit -n $(ulimit -n), hard $(ulimit -Hn))"
    counts[i]=$limit
  fi
done

work=$(mktemp -d)
pid=
trap 'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
go build -o "$work/connector-proxy" ./cmd/connector-proxy
go build -o "$work/sioidle" ./bench/sioidle

for i in "${!counts[@]}"; do
  n=${counts[i]}
  rm -rf "$work/data"
  CONNECTOR_PROXY_LISTEN=127.0.0.1:18180 CONNECTOR_PROXY_ADMIN_LISTEN=127.0.0.1:19190 \
  CONNECTOR_PROXY_DEMO_SIM_LISTEN=127.0.0.1:18190 CONNECTOR_PROXY_DEMO_MANUAL_AGENT=true \
  CONNECTOR_PROXY_DATA_DIR="$work/data" CONNECTOR_PROXY_LOG_LEVEL=warn \
  CONNECTOR_PROXY_CUSTOMER_CHANNEL_PING_INTERVAL="$PING_INTERVAL" \
  CONNECTOR_PROXY_LIMITS_MAX_CONNS=$((n + 64)) CONNECTOR_PROXY_LIMITS_MAX_CONNS_PER_IP=0 \
  CONNECTOR_PROXY_LIMITS_RATE_SOCKETIO_PER_SECOND=0 \
    "$work/connector-proxy" >"$work/proxy.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    curl -fs http://127.0.0.1:19190/readyz >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fs http://127.0.0.1:19190/readyz >/dev/null || { cat "$work/proxy.log"; exit 1; }
  echo "idle.sh: $n idle clients${cut[i]}" >&2
  "$work/sioidle" -url http://127.0.0.1:18180 -pid "$pid" -clients "$n" -concurrency "$CONCURRENCY" -settle "$SETTLE" \
    -metrics http://127.0.0.1:19190/metrics
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=
done
