#!/bin/bash
# sheep --metrics and dog node stat: the option's checks (bad values and
# the sheep's own ports exit 1 with a message, a port in use fails the
# start, nothing listens without it, the default address is 127.0.0.1
# whatever -b says), the page at GET /metrics (counters that grow by what
# was done, epoch and members as a sheep joins, store and lock gauges,
# promtool's checks, 404/405), a flood of idle connections that neither
# stops the sheep's I/O nor the page, and STAT: dog node stat (plain, raw,
# -w) showing the same counters as the page, -w printing 0 for a counter
# that went down (a restarted sheep) rather than a wrapped difference.
# (The page is made at most once a second: after doing something, the
# test waits for a page that shows it.)
# With SD_UPSTREAM_DOG naming upstream's dog, its node stat output is
# compared with ours too.
source "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null || fail "promtool is needed (Debian: prometheus)"
command -v curl >/dev/null || fail "curl is needed"

page() { curl -sf --max-time 10 "http://127.0.0.1:$1/metrics"; }
# value PORT SERIES: the value of one series of the page, empty when absent.
value() { page "$1" | awk -v s="$2" '$1 == s { print $2 }'; }
value_is() { [ "$(value "$1" "$2")" = "$3" ]; }
value_at_least() { local v; v=$(value "$1" "$2"); [ -n "$v" ] && [ "${v%.*}" -ge "$3" ]; }
# sum_of TEXT REGEX: the sum of the values of the series matching REGEX.
sum_of() { awk -v re="$2" '$1 ~ re { s += $2 } END { printf "%d\n", s }' <<<"$1"; }
listening() { ss -Hltn | awk '{ print $4 }' | sort | xargs; }

# ---- the option ----
bad_metrics() {
  local arg=$1 rc=0
  "$SHEEP" "$T/bad" -p 7009 -c local:"$T/cluster" --metrics "$arg" >"$T/out" 2>"$T/err" || rc=$?
  assert_eq "$(cat "$T/err")[exit $rc]" \
    "Invalid metrics address '$arg': expected [ADDR:]PORT, e.g. 9100, 127.0.0.1:9100 or [::1]:9100[exit 1]" \
    "sheep --metrics $arg"
  [ ! -e "$T/bad" ] || fail "sheep --metrics $arg created its data directory"
}
for arg in abc 0 70000 9100x ::1:9100 '[127.0.0.1]:9100' '[::1]' '1.2.3:9100' 'localhost:9100' ':9100' ''; do
  bad_metrics "$arg"
done
# The sheep's own ports (-p, 7000 by default; -i's), where the addresses
# could meet (the same, or one of them every interface).
own_port() {
  local message=$1 rc=0
  shift
  "$SHEEP" "$T/bad" -c local:"$T/cluster" "$@" >"$T/out" 2>"$T/err" || rc=$?
  assert_eq "$(cat "$T/err")[exit $rc]" "$message[exit 1]" "sheep $*"
  [ ! -e "$T/bad" ] || fail "sheep $* created its data directory"
}
own_port "Invalid metrics port 7009: the sheep itself listens on it (-p)" -p 7009 --metrics 7009
own_port "Invalid metrics port 7009: the sheep itself listens on it (-p)" --metrics 7009 -p 7009
own_port "Invalid metrics port 7000: the sheep itself listens on it (-p)" --metrics 127.0.0.1:7000
own_port "Invalid metrics port 7009: the sheep itself listens on it (-p)" \
  -b 127.0.0.3 -p 7009 --metrics 127.0.0.3:7009
own_port "Invalid metrics port 7009: the sheep itself listens on it (-p)" \
  -b 127.0.0.3 -p 7009 --metrics 0.0.0.0:7009
own_port "Invalid metrics port 7009: the sheep itself listens on it (-p)" \
  -b 127.0.0.3 -p 7009 --metrics '[::]:7009'
own_port "Invalid metrics port 7009: the sheep itself listens on it (-p)" \
  -b 127.0.0.3 -p 7009 --metrics '[::ffff:127.0.0.3]:7009'
own_port "Invalid metrics port 7010: the sheep itself listens on it (-i)" \
  -p 7009 -i host=127.0.0.1,port=7010 --metrics 7010
own_port "Invalid metrics port 7000: the sheep itself listens on it (-i)" \
  -p 7009 -i host=127.0.0.1 --metrics 7000
rc=0
"$SHEEP" -h >"$T/help" || rc=$?
grep -q -- '^      --metrics PORT      serve Prometheus metrics over HTTP on \[ADDR:\]PORT, at /metrics (ADDR: 127\.0\.0\.1 unless given;' "$T/help" ||
  fail "sheep -h does not describe --metrics: $(grep -- --metrics "$T/help")"

# Without --metrics nothing but the sheep's port listens.
start_sheep 0
assert_eq "$(listening)" "*:7000" "listening sockets of a sheep without --metrics"
# A port in use fails the start, with the reason.
rc=0
"$SHEEP" "$T/1" -p 7001 -z 1 -c local:"$T/cluster" --metrics 7000 >"$T/out" 2>"$T/err" || rc=$?
assert_eq "$(cat "$T/err")[exit $rc]" "cannot serve metrics on 127.0.0.1:7000: Address already in use[exit 1]" \
  "sheep --metrics on a port in use"
stop_sheep 0

# ---- one sheep, then a second joins ----
start_sheep 0 --metrics 9100
assert_eq "$(listening)" "*:7000 127.0.0.1:9100" "the endpoint binds 127.0.0.1 by default"
dogn 0 cluster format -c 1 >/dev/null || fail "format"
wait_for 10 value_is 9100 sheepdog_epoch 1
assert_eq "$(value 9100 sheepdog_cluster_members)" "1" "members before the join"
start_sheep 1 --metrics 127.0.0.1:9101
wait_nodes 0 2
for port in 9100 9101; do
  wait_for 20 value_is $port sheepdog_epoch 2
  assert_eq "$(value $port sheepdog_cluster_members)" "2" "members after the join ($port)"
  assert_eq "$(value $port sheepdog_cluster_running)" "1" "cluster running ($port)"
done
wait_for 60 value_is 9100 sheepdog_recovery_in_progress 0
wait_for 60 value_is 9101 sheepdog_recovery_in_progress 0

# ---- I/O, and the counters it moves ----
dogn 0 vdi create -c 2 v 64M || fail "vdi create"
before0=$(page 9100) before1=$(page 9101)
stat_before=$(dogn 0 node stat -r | head -n 1)
N=8
for ((i = 0; i < N; i++)); do
  head -c 1M /dev/urandom | dogn 0 vdi write v $((i << 20)) 1M || fail "write $i"
done
dogn 0 vdi read v 0 1M >"$T/read" || fail "read"
# Pages made after the read (the last request; node 1's peer writes were
# all answered before it).
reads='^sheepdog_client_requests_total[{]op="read_obj",result="success"[}]$'
peer_writes='^sheepdog_peer_requests_total[{]op="(write_peer|create_and_write_peer)",result="success"[}]$'
shows_more() {  # shows_more PORT REGEX THAN
  [ "$(sum_of "$(page "$1")" "$2")" -gt "$3" ]
}
wait_for 10 shows_more 9100 "$reads" "$(sum_of "$before0" "$reads")"
wait_for 10 shows_more 9101 "$peer_writes" $(($(sum_of "$before1" "$peer_writes") + N - 1))
after0=$(page 9100) after1=$(page 9101)
stat_after=$(dogn 0 node stat -r | head -n 1)

grew() {  # grew WHAT TEXT_BEFORE TEXT_AFTER REGEX MIN
  local b a
  b=$(sum_of "$2" "$4")
  a=$(sum_of "$3" "$4")
  [ $((a - b)) -ge "$5" ] || fail "$1 grew by $((a - b)), expected at least $5"
}
writes='^sheepdog_client_requests_total[{]op="(write_obj|create_and_write_obj)",result="success"[}]$'
grew "client writes" "$before0" "$after0" "$writes" $N
grew "client reads" "$before0" "$after0" "$reads" 1
grew "client write bytes" "$before0" "$after0" '^sheepdog_client_write_bytes_total$' $((N << 20))
grew "client read bytes" "$before0" "$after0" '^sheepdog_client_read_bytes_total$' $((1 << 20))
grew "client write latencies" "$before0" "$after0" \
  '^sheepdog_client_io_duration_seconds_count[{]op="(write_obj|create_and_write_obj)"[}]$' $N
grew "peer writes on the other sheep" "$before1" "$after1" "$peer_writes" $N
grew "peer write bytes on the other sheep" "$before1" "$after1" '^sheepdog_peer_write_bytes_total$' $((N << 20))
grew "peer write latencies" "$before1" "$after1" \
  '^sheepdog_peer_io_duration_seconds_count[{]op="(write_peer|create_and_write_peer)"[}]$' $N
# The latency buckets are cumulative and end with the count.
inf=$(sum_of "$after0" '^sheepdog_client_io_duration_seconds_bucket[{]op="write_obj",le="[+]Inf"[}]$')
count=$(sum_of "$after0" '^sheepdog_client_io_duration_seconds_count[{]op="write_obj"[}]$')
assert_eq "$inf" "$count" "write_obj's +Inf bucket and count"
assert_eq "$(value 9100 sheepdog_client_io_in_flight)" "0" "nothing in flight"

# STAT: Total and Write (raw columns: active total read write remove flush rx tx).
read -r _ total_b _ write_b _ <<<"$stat_before"
read -r _ total_a _ write_a _ <<<"$stat_after"
[ $((total_a - total_b)) -ge $N ] || fail "node stat Total grew by $((total_a - total_b)) for $N writes"
[ $((write_a - write_b)) -ge $N ] || fail "node stat writes grew by $((write_a - write_b)) for $N writes"
# ... the same counters as the page's (nothing runs in between).
for n in 0 1; do
  IFS=$'\t' read -r -a client < <(dogn $n node stat -r | sed -n 1p)
  IFS=$'\t' read -r -a peer < <(dogn $n node stat -r | sed -n 2p)
  p=$(page $((9100 + n)))
  assert_eq "${client[6]} ${client[7]}" \
    "$(sum_of "$p" '^sheepdog_client_write_bytes_total$') $(sum_of "$p" '^sheepdog_client_read_bytes_total$')" \
    "node $n: client bytes of STAT and of the page"
  assert_eq "${peer[6]} ${peer[3]}" \
    "$(sum_of "$p" '^sheepdog_peer_write_bytes_total$') $(sum_of "$p" "$peer_writes")" \
    "node $n: peer write bytes and writes of STAT and of the page"
  assert_eq "${client[1]}" \
    "$(sum_of "$p" '^sheepdog_client_requests_total[{]op="(read_obj|write_obj|create_and_write_obj|remove_obj|flush_vdi)",')" \
    "node $n: client Total of STAT and of the page"
done

# dog node stat: the table, raw mode, and -w.
out=$(dogn 1 node stat)
assert_eq "$(sed -n 1p <<<"$out")" $'Request\tActive\tTotal\tWrite\tRead\tRemove\tFlush\tAll WR\tAll RD' "node stat header"
tab=$'\t'
client_re="^Client${tab}0${tab}[0-9]+${tab}"
[[ $(sed -n 2p <<<"$out") =~ $client_re ]] || fail "node stat Client line: $out"
# Peer, Active, Total, Write (the reads), Read (the writes), Remove, Flush, sizes.
peer_re="^Peer${tab}0${tab}([0-9]+)${tab}([0-9]+)${tab}([0-9]+)${tab}0${tab}0${tab}[0-9.]+ [KMGT]?B${tab}"
[[ $(sed -n 3p <<<"$out") =~ $peer_re ]] || fail "node stat Peer line: $out"
[ "${BASH_REMATCH[3]}" -ge $N ] || fail "peer writes under Read: ${BASH_REMATCH[3]} ($out)"
raw=$(dogn 1 node stat -r)
assert_eq "$(wc -l <<<"$raw")" "2" "node stat -r lines"
awk -F'\t' 'NF != 8 { exit 1 } { for (i = 1; i <= NF; i++) if ($i !~ /^[0-9]+$/) exit 1 }' <<<"$raw" ||
  fail "node stat -r: 8 numbers per line expected: $raw"
rc=0
timeout 3.5 "$DOG_BIN" node stat -w -p 7000 >"$T/watch" || rc=$?
assert_eq "$rc" "124" "node stat -w runs until stopped"
[ "$(grep -c $'^Request\tActive\tTotal\tWrite\tRead\tRemove\tFlush\tAll WR\tAll RD\tWRBW\tRDBW\tRPS$' "$T/watch")" -ge 2 ] ||
  fail "node stat -w printed fewer than two blocks: $(cat "$T/watch")"
# Nothing ran meanwhile: the first block's rates and every later one's are zero;
# Write and Read in their right columns.
awk -F'\t' '$1 == "Client" && ($4 < '"$N"' || $10 != "0.0 MB" || $12 != "0") { exit 1 }' "$T/watch" ||
  fail "node stat -w Client lines: $(cat "$T/watch")"
rc=0
timeout 2.5 "$DOG_BIN" node stat -w -r -p 7000 >"$T/watch-raw" || rc=$?
assert_eq "$rc" "124" "node stat -w -r runs until stopped"
awk -F'\t' 'NF != 11 { exit 1 }' "$T/watch-raw" || fail "node stat -w -r: $(cat "$T/watch-raw")"
[ "$(wc -l <"$T/watch-raw")" -ge 4 ] || fail "node stat -w -r printed fewer than two blocks"
# -w against a sheep whose counters go down between two blocks (as a
# restarted sheep's do): a stand-in answering STAT with Total 100, then
# 50, then 60 (client bytes received 1000, 10, 20). The rates are 0, 0
# (not a wrapped difference), then 10.
cat >"$T/fake-stat.py" <<'EOF2'
import socket, struct, sys
port = int(sys.argv[1])
totals, rxs = [100, 50, 60], [1000, 10, 20]
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(4)
n = 0
while True:
    conn, _ = srv.accept()
    while True:
        hdr = b""
        while len(hdr) < 48:
            chunk = conn.recv(48 - len(hdr))
            if not chunk:
                break
            hdr += chunk
        if len(hdr) < 48:
            conn.close()
            break
        proto, opcode, _flags, _epoch, req_id, _len = struct.unpack_from("<BBHIII", hdr)
        i = min(n, len(totals) - 1)
        n += 1
        # gway_active, peer_active, gway_total, peer_total, gway_rx, then zeros
        stat = struct.pack("<15Q", 0, 0, totals[i], 0, rxs[i], *([0] * 10))
        rsp = struct.pack("<BBHIII", proto, opcode, 0, 1, req_id, len(stat)) + bytes(32)
        conn.sendall(rsp + stat)
EOF2
python3 "$T/fake-stat.py" 7090 &
fake=$!
on_exit "kill $fake"
wait_for 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/7090'
"$DOG_BIN" node stat -w -r -p 7090 >"$T/watch-down" &
watcher=$!
on_exit "kill $watcher"
lines_at_least() { [ "$(grep -c . "$1")" -ge "$2" ]; }
wait_for 20 lines_at_least "$T/watch-down" 6  # three blocks of two lines
kill $watcher
wait $watcher 2>/dev/null || true
# Client lines: Total, then WRBW and RPS.
assert_eq "$(sed -n '1p;3p;5p' "$T/watch-down" | awk -F'\t' '{ printf "%s/%s/%s ", $2, $9, $11 }')" \
  "100/0/0 50/0/0 60/10/10 " "node stat -w across counters that went down: $(cat "$T/watch-down")"

if [ -n "${SD_UPSTREAM_DOG:-}" ]; then
  for n in 0 1; do
    for flags in "" "-r"; do
      # shellcheck disable=SC2086
      assert_eq "$("$SD_UPSTREAM_DOG" node stat $flags -p $((7000 + n)))" "$(dogn $n node stat $flags)" \
        "upstream's dog node stat $flags on node $n"
    done
  done
fi

# ---- store and lock gauges ----
# (The disks are measured at most every 5 s.)
wait_for 20 value_at_least 9100 sheepdog_store_objects 3  # the inode and two data objects
wait_for 20 value_at_least 9101 sheepdog_store_bytes $((N << 20))
disk="sheepdog_disk_used_bytes{disk=\"$T/0/obj\"}"
[ "$(value 9100 "$disk")" -ge $((N << 20)) ] || fail "$disk: $(value 9100 "$disk")"
[ "$(value 9100 "sheepdog_disk_capacity_bytes{disk=\"$T/0/obj\"}")" -gt 0 ] || fail "disk capacity"
[ "$(value 9100 "sheepdog_disk_available_bytes{disk=\"$T/0/obj\"}")" -gt 0 ] || fail "disk available"
assert_eq "$(value 9100 sheepdog_vdi_locks)" "0" "no VDI locked"
start_nbdkit "$T/w.sock" vdi=v
wait_for 10 value_is 9101 sheepdog_vdi_locks 1
kill "$(cat "$T/nbdkit.w.sock.pid")"
wait_for 20 value_is 9101 sheepdog_vdi_locks 0

# ---- the page's format and the endpoint's answers ----
for port in 9100 9101; do
  page $port >"$T/page.$port"
  promtool check metrics <"$T/page.$port" >"$T/promtool" 2>&1 || { cat "$T/promtool" >&2; fail "promtool on $port"; }
done
grep -q '^sheepdog_build_info{version="' "$T/page.9100" || fail "build info"
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@"; }
assert_eq "$(code http://127.0.0.1:9100/other)" "404" "GET /other"
assert_eq "$(code http://127.0.0.1:9100/)" "404" "GET /"
assert_eq "$(code -X POST -d x=1 http://127.0.0.1:9100/metrics)" "405" "POST /metrics"
assert_eq "$(code -X PUT http://127.0.0.1:9100/metrics)" "405" "PUT /metrics"
curl -s -D "$T/headers" -o /dev/null --max-time 10 -X DELETE http://127.0.0.1:9100/metrics
grep -qi '^Allow: GET, HEAD' "$T/headers" || fail "405 without Allow: $(cat "$T/headers")"
curl -sI --max-time 10 http://127.0.0.1:9100/metrics >"$T/headers"
grep -qi '^Content-Type: text/plain; version=0.0.4' "$T/headers" || fail "HEAD /metrics: $(cat "$T/headers")"

# ---- a flood of idle connections ----
# 200 connections opened and held: the endpoint keeps at most 4 from one
# address (the rest are closed at once), the sheep serves I/O meanwhile,
# and once they go the page is served again.
cat >"$T/hold.py" <<'EOF'
import socket, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
socks = []
for _ in range(200):
    try:
        socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
    except OSError:
        pass
def open_(s):
    s.setblocking(False)
    try:
        return s.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
deadline = time.time() + 8
while True:
    held = sum(open_(s) for s in socks)
    if held <= 4 or time.time() > deadline:
        break
    time.sleep(0.1)
with open(out + ".tmp", "w") as f:
    f.write(f"{len(socks)} {held}\n")
import os
os.rename(out + ".tmp", out)
time.sleep(600)
EOF
python3 "$T/hold.py" 9100 "$T/held" &
holder=$!
on_exit "kill $holder"
wait_for 30 test -s "$T/held"
read -r opened held <"$T/held"
[ "$held" -le 4 ] || fail "the endpoint holds $held of $opened idle connections from one address"
head -c 1M /dev/urandom >"$T/blk"
dogn 0 vdi write v 0 1M <"$T/blk" || fail "write during the flood"
assert_eq "$(dogn 0 vdi read v 0 1M | md5sum)" "$(md5sum <"$T/blk")" "read during the flood"
kill $holder
wait $holder 2>/dev/null || true
wait_for 20 page 9100
pgrep -f "^$SHEEP $T/0 " >/dev/null || fail "sheep 0 died"

# ---- addresses: 127.0.0.1 unless given (whatever -b says), IPv6 in brackets ----
# -b's address and port 7003, the endpoint on 127.0.0.1 and the same port
# number: distinct addresses, so no clash.
"$SHEEP" "$T/3" -p 7003 -z 3 -b 127.0.0.3 -c local:"$T/cluster3" --metrics 7003 || fail "sheep -b --metrics"
wait_for 20 curl -sf --max-time 5 http://127.0.0.1:7003/metrics
assert_eq "$(ss -Hltn "sport = :7003" | awk '{ print $4 }' | sort | xargs)" "127.0.0.1:7003 127.0.0.3:7003" \
  "the sheep -b 127.0.0.3 -p 7003 and its endpoint --metrics 7003"
# The -b address named.
"$SHEEP" "$T/5" -p 7005 -z 5 -b 127.0.0.3 -c local:"$T/cluster5" --metrics 127.0.0.3:9105 ||
  fail "sheep -b --metrics 127.0.0.3:9105"
wait_for 20 curl -sf --max-time 5 http://127.0.0.3:9105/metrics
assert_eq "$(ss -Hltn "sport = :9105" | awk '{ print $4 }')" "127.0.0.3:9105" "the endpoint on 127.0.0.3"
if ip -6 addr show dev lo | grep -q 'inet6 ::1/'; then
  "$SHEEP" "$T/4" -p 7004 -z 4 -c local:"$T/cluster4" --metrics '[::1]:9104' || fail "sheep --metrics [::1]:9104"
  wait_for 20 curl -sfg --max-time 5 'http://[::1]:9104/metrics'
  ss -Hltn "sport = :9104" | grep -q ' \[::1\]:9104 ' || fail "the endpoint on [::1]: $(ss -Hltn "sport = :9104")"
fi
pass
