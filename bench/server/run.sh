#!/usr/bin/env bash
# Benchmark: OAuth-signed MAAS user-data requests to `pxm server` vs nginx serving a
# static file of the same size, in the same run, alternating, medians of ROUNDS.
# Usage: bash bench/server/run.sh [ROUNDS=3] [SECONDS=10] [CONNECTIONS=64] [BYTES=4096]
# PXM_BENCH_WORKERS (default auto) is pxm's --http-workers; nginx gets as many worker
# processes (NGINX_WORKERS overrides), so both may use the same number of cores.
set -euo pipefail
ROUNDS=${1:-3} DUR=${2:-10} CONNS=${3:-64} BYTES=${4:-4096}
WORKERS=${PXM_BENCH_WORKERS:-auto}
if [[ $WORKERS == auto ]]; then
  PROCS=$(node -e 'const c=require("os").availableParallelism();console.log(c<=2?1:Math.min(64,c))')
else
  PROCS=$WORKERS
fi
NGINX_WORKERS=${NGINX_WORKERS:-$PROCS}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PXM_PORT=${PXM_BENCH_PORT:-25240} NGINX_PORT=${NGINX_BENCH_PORT:-25241} NODE_PORT=${NODE_BENCH_PORT:-25242}
NET_PORT=${NET_BENCH_PORT:-25243}
WORK=$(mktemp -d /tmp/pxm-bench-server.XXXXXX)
chmod 755 "$WORK" # nginx workers (not root) read the static file
PXM_PID= NGINX_PID= NODE_PID= NET_PID=
cleanup() {
  [[ -n $NET_PID ]] && kill "$NET_PID" 2>/dev/null || true
  [[ -n $PXM_PID ]] && kill "$PXM_PID" 2>/dev/null || true
  [[ -n $NGINX_PID ]] && kill "$NGINX_PID" 2>/dev/null || true
  [[ -n $NODE_PID ]] && kill "$NODE_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

[[ -f $ROOT/dist/pxm.cjs ]] || (cd "$ROOT" && node scripts/build.mjs >/dev/null)
# PXM_BENCH_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the server.
node ${PXM_BENCH_NODE_FLAGS:-} "$ROOT/dist/pxm.cjs" server --data-dir "$WORK/data" --listen 127.0.0.1 --http-port "$PXM_PORT" --http-workers "$WORKERS" 2>"$WORK/pxm.log" &
PXM_PID=$!
for _ in $(seq 50); do grep -q listening "$WORK/pxm.log" 2>/dev/null && break; sleep 0.1; done
export PXM_URL=http://127.0.0.1:$PXM_PORT PXM_API_KEY=$(cat "$WORK/data/api-key")

# The payload: BYTES of cloud-config, the same bytes for both servers.
node -e '
const n = Number(process.argv[1]);
const head = "#cloud-config\nwrite_files:\n  - path: /etc/pxm-bench\n    content: |\n";
let body = head;
while (body.length < n) body += "      " + require("crypto").randomBytes(48).toString("base64") + "\n";
process.stdout.write(body.slice(0, n - 1) + "\n");' "$BYTES" >"$WORK/user-data"

ID=$(node "$ROOT/dist/pxm.cjs" nodes add --hostname bench1 --json | node -e 'process.stdin.on("data",d=>console.log(JSON.parse(d).id))')
# Walk the node to DEPLOYED the short way: the API for commission/deploy, then the
# node's own signals (commissioning OK, netboot_off, first user-data read).
node "$ROOT/dist/pxm.cjs" nodes credentials "$ID" --json >"$WORK/creds.json"
read -r CK TK TS < <(node -e 'const c=require(process.argv[1]);console.log(c.consumerKey,c.tokenKey,c.tokenSecret)' "$WORK/creds.json")
auth() { echo "OAuth oauth_version=\"1.0\", oauth_signature_method=\"PLAINTEXT\", oauth_consumer_key=\"$CK\", oauth_token=\"$TK\", oauth_signature=\"%26$TS\", oauth_nonce=\"$RANDOM$RANDOM\", oauth_timestamp=\"$(date +%s)\""; }
MD=http://127.0.0.1:$PXM_PORT/MAAS/metadata
node "$ROOT/dist/pxm.cjs" nodes commission "$ID" >/dev/null
curl -fsS -H "Authorization: $(auth)" --data 'op=signal&status=OK' "$MD/2012-03-01/" >/dev/null
node "$ROOT/dist/pxm.cjs" nodes deploy "$ID" --user-data "$WORK/user-data" >/dev/null
curl -fsS -H "Authorization: $(auth)" --data 'op=netboot_off' "$MD/2012-03-01/" >/dev/null
curl -fsS -H "Authorization: $(auth)" "$MD/2012-03-01/user-data" -o "$WORK/got"
cmp "$WORK/got" "$WORK/user-data"
node "$ROOT/dist/pxm.cjs" nodes show "$ID" | grep -q 'status .*DEPLOYED'

mkdir -p "$WORK/www" "$WORK/nginx"
cp "$WORK/user-data" "$WORK/www/user-data"
cat >"$WORK/nginx/nginx.conf" <<NGX
worker_processes $NGINX_WORKERS;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$NGINX_PORT; root $WORK/www; }
}
NGX
nginx -c "$WORK/nginx/nginx.conf" &
NGINX_PID=$!
for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$NGINX_PORT/user-data" && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$NGINX_PORT/user-data" | cmp - "$WORK/user-data"
node "$HERE/node-static.cjs" "$WORK/user-data" "$NODE_PORT" "$PROCS" &
NODE_PID=$!
for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$NODE_PORT/" && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$NODE_PORT/user-data" | cmp - "$WORK/user-data"
# One process: the ceiling of the socket path pxm's fast lane uses, for one process.
node "$HERE/node-net-min.cjs" "$WORK/user-data" "$NET_PORT" &
NET_PID=$!
for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$NET_PORT/" && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$NET_PORT/user-data" | cmp - "$WORK/user-data"

export PXM_CK=$CK PXM_TK=$TK PXM_TS=$TS
rate() { # url script -> "req/s non2xx"
  local line
  line=$(wrk -t2 -c"$CONNS" -d"${DUR}s" -s "$2" "$1" | grep '^RESULT')
  local req dur bad
  req=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
  dur=$(sed -E 's/.*duration_us=([0-9]+).*/\1/' <<<"$line")
  bad=$(sed -E 's/.*non2xx=([0-9]+).*/\1/' <<<"$line")
  echo "$((req * 1000000 / dur)) $bad"
}
pxm_rates=() nginx_rates=() node_rates=() net_rates=()
for r in $(seq "$ROUNDS"); do
  # Every peer gets the same requests from the same script (the OAuth header built per
  # request costs wrk CPU, which on 2 cores the servers feel): only the server differs.
  read -r n nb < <(rate "http://127.0.0.1:$NGINX_PORT/user-data" "$HERE/oauth.lua")
  read -r p pb < <(rate "$MD/2012-03-01/user-data" "$HERE/oauth.lua")
  read -r m mb < <(rate "http://127.0.0.1:$NODE_PORT/user-data" "$HERE/oauth.lua")
  read -r t tb < <(rate "http://127.0.0.1:$NET_PORT/user-data" "$HERE/oauth.lua")
  [[ $pb == 0 && $nb == 0 && $mb == 0 && $tb == 0 ]] || { echo "non-2xx answers: pxm=$pb nginx=$nb node=$mb net=$tb" >&2; exit 1; }
  echo "round $r ($PROCS pxm HTTP processes, $NGINX_WORKERS nginx workers): nginx $n req/s, pxm $p req/s, node:http minimal $m req/s, node net minimal $t req/s ($(cut -d' ' -f1 /proc/loadavg) load)" >&2
  nginx_rates+=("$n") pxm_rates+=("$p") node_rates+=("$m") net_rates+=("$t")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
N=$(median "${nginx_rates[@]}") P=$(median "${pxm_rates[@]}") M=$(median "${node_rates[@]}") T=$(median "${net_rates[@]}")
echo "{\"bytes\":$BYTES,\"connections\":$CONNS,\"seconds\":$DUR,\"rounds\":$ROUNDS,\"pxm_http_workers\":\"$WORKERS\",\"pxm_processes\":$PROCS,\"nginx_workers\":$NGINX_WORKERS,\"nginx_rps\":$N,\"pxm_rps\":$P,\"node_minimal_rps\":$M,\"node_net_minimal_rps\":$T,\"ratio\":$(awk "BEGIN{printf \"%.2f\", $P/$N}"),\"nginx_all\":[$(IFS=,; echo "${nginx_rates[*]}")],\"pxm_all\":[$(IFS=,; echo "${pxm_rates[*]}")],\"node_minimal_all\":[$(IFS=,; echo "${node_rates[*]}")],\"node_net_minimal_all\":[$(IFS=,; echo "${net_rates[*]}")]}"
