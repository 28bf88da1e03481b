#!/bin/bash
# dog's progress bar on long work: with stderr on a terminal (a pseudo-
# terminal here, 100 columns), vdi write/read/check/backup/restore, cluster
# check and cluster snapshot save/load draw "\r"-redrawn lines on stderr
# that end with "100.0 % [====...] TOTAL / TOTAL  RATE/s" and a newline,
# while their stdout, data and exit status stay what they are with stderr
# on a pipe, where nothing but the command's own messages appears (no
# "\r", no bar). An error or a stdout line in the middle of a bar starts on
# a line of its own. -r, which none of these subcommands accepts, is
# refused as before and draws nothing.
source "$(dirname "$0")/lib.sh"

# ttyrun TTYLOG STDIN STDOUT CMD...: runs CMD with stderr on a pseudo-
# terminal whose bytes go to TTYLOG; STDIN "-" inherits ours, STDOUT "tty"
# puts stdout on the terminal too. Output post-processing is off, so the
# log holds exactly what dog wrote. Exits with CMD's status.
cat >"$T/ttyrun.py" <<'EOF'
import fcntl, os, struct, subprocess, sys, termios
log, stdin, stdout, cmd = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
master, slave = os.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
attrs = termios.tcgetattr(slave)
attrs[1] &= ~termios.OPOST
termios.tcsetattr(slave, termios.TCSANOW, attrs)
fin = None if stdin == "-" else open(stdin, "rb")
fout = slave if stdout == "tty" else open(stdout, "wb")
proc = subprocess.Popen(cmd, stdin=fin, stdout=fout, stderr=slave)
os.close(slave)
captured = b""
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:  # EIO: every copy of the slave side is closed
        break
    if not chunk:
        break
    captured += chunk
open(log, "wb").write(captured)
sys.exit(proc.wait())
EOF
ttyrun() { timeout -k 5 120 python3 "$T/ttyrun.py" "$@"; }

# tty_ok LOG TOTAL WHAT: LOG has "\r" redraws, its last bar says 100.0 % of
# TOTAL (a regex), and it ends with that bar and a newline.
tty_ok() {
  local log=$1 total=$2 what=$3
  grep -aq $'\r' "$log" || fail "$what: no \\r redraw on the terminal: $(cat -A "$log" | head -c 600)"
  local last
  last=$(tr '\r' '\n' <"$log" | grep -a '%' | tail -n 1)
  [[ $last =~ ^100\.0\ %\ \[=+\]\ +($total)\ /\ ($total)\ +[0-9.]+\ [KMGTP]?B/s$ ]] ||
    fail "$what: last bar is not 100.0 % of $total: '$last'"
  [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] || fail "$what: done and total differ: '$last'"
  [ ${#last} -eq 99 ] || fail "$what: the bar is ${#last} columns wide, not 99 of 100"
  [ "$(tail -c 1 "$log" | od -An -c | tr -d ' ')" = '\n' ] || fail "$what: the bar's line is not ended"
}
# ended_bars LOG: lines whose last redraw is a bar at 100 %.
ended_bars() { awk -F '\r' '$NF ~ /^100\.0 %/ { n++ } END { print n + 0 }' "$1"; }
# quiet_pipe ERRFILE WHAT: stderr on a pipe got nothing.
quiet_pipe() {
  [ ! -s "$1" ] || fail "$2: stderr on a pipe is not empty: $(cat -A "$1" | head -c 600)"
}
port=(-p 7000)

start_cluster 2
dogn 0 cluster format -c 2 >/dev/null || fail "format"
head -c 40M /dev/urandom >"$T/data"
dogn 0 vdi create v 40M || fail "create v"
dogn 0 vdi create w 40M || fail "create w"

# ---- vdi write ----
ttyrun "$T/write.tty" "$T/data" "$T/write.out" "$DOG_BIN" vdi write v "${port[@]}" ||
  fail "vdi write on a tty"
tty_ok "$T/write.tty" "40 MB" "vdi write"
[ ! -s "$T/write.out" ] || fail "vdi write printed on stdout"
dogn 0 vdi write w <"$T/data" 2>"$T/write.err" || fail "vdi write on a pipe"
quiet_pipe "$T/write.err" "vdi write"
# A short stdin: the work ends early, and the bar at 100 % of what came.
head -c 3M /dev/urandom >"$T/short"
ttyrun "$T/short.tty" "$T/short" /dev/null "$DOG_BIN" vdi write w 8M "${port[@]}" ||
  fail "short vdi write on a tty"
tty_ok "$T/short.tty" "3.0 MB" "short vdi write"
{
  head -c 8M "$T/data"
  cat "$T/short"
  head -c 1M /dev/zero # the chunk was padded to its object's end
  tail -c +$(((12 << 20) + 1)) "$T/data"
} >"$T/w.want"

# ---- vdi read ----
ttyrun "$T/read.tty" /dev/null "$T/read.out" "$DOG_BIN" vdi read v "${port[@]}" ||
  fail "vdi read on a tty"
tty_ok "$T/read.tty" "40 MB" "vdi read"
dogn 0 vdi read v >"$T/read.pipe" 2>"$T/read.err" || fail "vdi read on a pipe"
quiet_pipe "$T/read.err" "vdi read"
assert_eq "$(sum <"$T/read.out")" "$(sum <"$T/data")" "vdi read data with stderr on a tty"
assert_eq "$(sum <"$T/read.pipe")" "$(sum <"$T/data")" "vdi read data with stderr on a pipe"
assert_eq "$(dogn 0 vdi read w 2>/dev/null | sum)" "$(sum <"$T/w.want")" "vdi w after the writes"
# A range: the bar counts the range.
ttyrun "$T/range.tty" /dev/null "$T/range.out" "$DOG_BIN" vdi read v 4M 12M "${port[@]}" ||
  fail "ranged vdi read on a tty"
tty_ok "$T/range.tty" "12 MB" "ranged vdi read"
assert_eq "$(sum <"$T/range.out")" "$(tail -c +$(((4 << 20) + 1)) "$T/data" | head -c 12M | sum)" \
  "ranged vdi read data"

# ---- vdi check ----
ttyrun "$T/check.tty" /dev/null "$T/check.out" "$DOG_BIN" vdi check v "${port[@]}" ||
  fail "vdi check on a tty"
tty_ok "$T/check.tty" "40 MB" "vdi check"
dogn 0 vdi check v >"$T/check.pipe" 2>"$T/check.err" || fail "vdi check on a pipe"
quiet_pipe "$T/check.err" "vdi check"
assert_eq "$(cat "$T/check.out")" "finish check&repair v" "vdi check stdout with stderr on a tty"
assert_eq "$(cat "$T/check.pipe")" "finish check&repair v" "vdi check stdout with stderr on a pipe"

# A repair and a lost object in the middle of the bar, stdout on the same
# terminal: "fixed missing" and the error each start a line of their own.
vid=$(dogn 0 vdi list -r v | awk '{print $8}')
oid2=$(printf '00%06x00000002' "0x$vid")
oid5=$(printf '00%06x00000005' "0x$vid")
cp "$T/0/obj/$oid5" "$T/block5"
rm "$T/1/obj/$oid2"
rm "$T/0/obj/$oid5" "$T/1/obj/$oid5"
ttyrun "$T/fix.tty" /dev/null tty "$DOG_BIN" vdi check v "${port[@]}" || fail "vdi check repairing"
tty_ok "$T/fix.tty" "40 MB" "vdi check repairing"
fix_log=$(<"$T/fix.tty")
[[ $fix_log == *$'\n'"fixed missing $oid2"$'\n'* ]] ||
  fail "'fixed missing' is not on a line of its own: $(cat -A "$T/fix.tty" | head -c 1500)"
[[ $fix_log == *$'\n'"no node has $oid5"$'\n'* ]] ||
  fail "the error is not on a line of its own: $(cat -A "$T/fix.tty" | head -c 1500)"
bar_lines=$(tr '\r' '\n' <"$T/fix.tty" | grep -a '%' || true)
[[ $bar_lines != *fixed* && $bar_lines != *"no node"* ]] ||
  fail "a message shares a line with the bar: $(cat -A "$T/fix.tty" | head -c 1500)"
cmp -s "$T/0/obj/$oid2" "$T/1/obj/$oid2" || fail "the missing copy was not repaired"
# Put the lost block back so that the rest sees whole data.
for i in 0 1; do cp "$T/block5" "$T/$i/obj/$oid5"; done
assert_eq "$(dogn 0 vdi read v | sum)" "$(sum <"$T/data")" "vdi v after the repair"

# ---- vdi backup / restore ----
dogn 0 vdi snapshot -s s1 v || fail "snapshot s1"
head -c 8M /dev/urandom | dogn 0 vdi write v 0 8M || fail "write after s1"
dogn 0 vdi snapshot -s s2 v || fail "snapshot s2"
ttyrun "$T/backup.tty" /dev/null "$T/backup.out" "$DOG_BIN" vdi backup -F s1 -s s2 v "${port[@]}" ||
  fail "vdi backup on a tty"
tty_ok "$T/backup.tty" "8.0 MB" "vdi backup"
dogn 0 vdi backup -F s1 -s s2 v >"$T/backup.pipe" 2>"$T/backup.err" || fail "vdi backup on a pipe"
quiet_pipe "$T/backup.err" "vdi backup"
cmp -s "$T/backup.out" "$T/backup.pipe" || fail "vdi backup streams differ between tty and pipe"
[ "$(stat -c %s "$T/backup.out")" -gt $((8 << 20)) ] || fail "the backup is too small"

ttyrun "$T/restore.tty" "$T/backup.out" "$T/restore.out" "$DOG_BIN" vdi restore -s s1 v "${port[@]}" ||
  fail "vdi restore on a tty"
tty_ok "$T/restore.tty" "8.0 MB" "vdi restore (a file on stdin)"
[ ! -s "$T/restore.out" ] || fail "vdi restore printed on stdout"
# From a pipe the size is not known ahead: the bar still ends at 100 %.
ttyrun "$T/restore2.tty" - /dev/null "$DOG_BIN" vdi restore -s s1 v "${port[@]}" <"$T/backup.pipe" ||
  fail "vdi restore from a file, on a tty"
tty_ok "$T/restore2.tty" "8.0 MB" "vdi restore (a redirected file on stdin)"
ttyrun "$T/restore3.tty" - /dev/null "$DOG_BIN" vdi restore -s s1 v "${port[@]}" < <(cat "$T/backup.pipe") ||
  fail "vdi restore from a pipe, on a tty"
tty_ok "$T/restore3.tty" "8.0 MB" "vdi restore (a pipe on stdin)"
dogn 0 vdi restore -s s1 v <"$T/backup.pipe" 2>"$T/restore.err" || fail "vdi restore on a pipe"
quiet_pipe "$T/restore.err" "vdi restore"
# Every restore made a snapshot holding s2's data.
s2sum=$(dogn 0 vdi read -s s2 v | sum)
nsnaps=$(dogn 0 vdi list -r v | awk '$1 == "s"' | wc -l)
[ "$nsnaps" -eq 6 ] || fail "expected 6 snapshots of v, found $nsnaps"
assert_eq "$(dogn 0 vdi read -s 6 v | sum)" "$s2sum" "the last restored snapshot"

# ---- cluster check ----
ttyrun "$T/ccheck.tty" /dev/null "$T/ccheck.out" "$DOG_BIN" cluster check "${port[@]}" ||
  fail "cluster check on a tty"
tty_ok "$T/ccheck.tty" "40 MB" "cluster check"
nbars=$(ended_bars "$T/ccheck.tty")
nvdis=$(dogn 0 vdi list -r | wc -l)
[ "$nbars" -eq "$nvdis" ] || fail "cluster check: $nbars bars ended at 100 % for $nvdis VDIs"
dogn 0 cluster check >"$T/ccheck.pipe" 2>"$T/ccheck.err" || fail "cluster check on a pipe"
quiet_pipe "$T/ccheck.err" "cluster check"
cmp -s "$T/ccheck.out" "$T/ccheck.pipe" || fail "cluster check stdout differs between tty and pipe"
grep -q '^fix vdi w$' "$T/ccheck.out" || fail "cluster check stdout: $(cat "$T/ccheck.out")"

# ---- cluster snapshot save / load ----
ttyrun "$T/save.tty" /dev/null "$T/save.out" "$DOG_BIN" cluster snapshot save one "$T/farm" "${port[@]}" ||
  fail "cluster snapshot save on a tty"
tty_ok "$T/save.tty" "[0-9.]+ [MG]B" "cluster snapshot save"
[ ! -s "$T/save.out" ] || fail "cluster snapshot save printed on stdout"
dogn 0 cluster snapshot save two "$T/farm" >"$T/save.pipe" 2>"$T/save.err" || fail "save on a pipe"
quiet_pipe "$T/save.err" "cluster snapshot save"
[ ! -s "$T/save.pipe" ] || fail "cluster snapshot save printed on stdout (pipe)"
# -m: eight threads update the same bar.
ttyrun "$T/savem.tty" /dev/null /dev/null "$DOG_BIN" cluster snapshot save -m three "$T/farm" "${port[@]}" ||
  fail "cluster snapshot save -m on a tty"
tty_ok "$T/savem.tty" "[0-9.]+ [MG]B" "cluster snapshot save -m"

before=$(for n in v w; do dogn 0 vdi read "$n" | sum; done)
echo yes >"$T/yes"
ttyrun "$T/load.tty" "$T/yes" "$T/load.out" "$DOG_BIN" cluster snapshot load one "$T/farm" "${port[@]}" ||
  fail "cluster snapshot load on a tty"
tty_ok "$T/load.tty" "[0-9.]+ [MG]B" "cluster snapshot load"
dogn 0 cluster snapshot load two "$T/farm" <"$T/yes" >"$T/load.pipe" 2>"$T/load.err" ||
  fail "load on a pipe"
quiet_pipe "$T/load.err" "cluster snapshot load"
cmp -s "$T/load.out" "$T/load.pipe" || fail "cluster snapshot load stdout differs between tty and pipe"
grep -Eq '^\(/_\)_\|_  Are you sure you want to continue\? \[yes/no\]: using backend [a-z]+ store$' "$T/load.out" ||
  fail "cluster snapshot load stdout: $(cat "$T/load.out")"
after=$(for n in v w; do dogn 0 vdi read "$n" | sum; done)
assert_eq "$after" "$before" "VDIs after the loads"
# The saved and loaded totals agree.
last_total() { tr '\r' '\n' <"$1" | grep -a '^100\.0 %' | tail -n 1 | sed -E 's/.*\] +([^/]*) \/.*/\1/'; }
assert_eq "$(last_total "$T/load.tty")" "$(last_total "$T/save.tty")" "saved and loaded bytes"

# ---- -r: not an option of these subcommands; refused, no bar ----
rc_tty=0
ttyrun "$T/raw.tty" /dev/null "$T/raw.out" "$DOG_BIN" vdi read -r v "${port[@]}" || rc_tty=$?
rc_pipe=0
dogn 0 vdi read -r v >"$T/raw.pipe" 2>"$T/raw.err" || rc_pipe=$?
[ "$rc_tty" -ne 0 ] || fail "vdi read -r was accepted"
assert_eq "$rc_tty" "$rc_pipe" "vdi read -r exit status, tty and pipe"
grep -aq '%' "$T/raw.tty" && fail "vdi read -r drew a bar: $(cat -A "$T/raw.tty")"
grep -aq $'\r' "$T/raw.tty" && fail "vdi read -r wrote \\r"
cmp -s "$T/raw.tty" "$T/raw.err" || fail "vdi read -r: terminal and pipe messages differ"
pass
