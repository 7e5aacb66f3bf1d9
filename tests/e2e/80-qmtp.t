#!/bin/bash
# qmail-qmtpd and qmail-qmqpd behind real tcpservers on loopback, and
# qmail-qmqpc as the qmail-queue of a null client: framing (LF and CR
# mode, several packages per connection), the relay policy shared with
# qmail-smtpd, databytes, address bounds, malformed netstrings, exit codes.
. "$(dirname "$0")/lib.sh"
t_init
D=$(cd "$(dirname "$0")" && pwd)

inst_new a || { echo "Bail out! inst_new"; exit 1; }
A=$Q
user_new qm1 || { echo "Bail out! user_new"; exit 1; }
U=qtqm1
H=$(home_of "$U")
printf '%s\n' a.test localhost relayonly.test >"$A/control/locals"
printf '%s\n' a.test localhost >"$A/control/rcpthosts"
printf '%s\n' bad@evil.test >"$A/control/badmailfrom"
ok "$A/bin/qmail-rcptcheck-rebuild"

# what install/instance made for the two services
for s in qmtpd qmqpd; do
  ok test -x "$A/supervise/qmail-$s/run"
  ok test -e "$A/supervise/qmail-$s/down"   # off until svc -u
  ok sh -n "$A/supervise/qmail-$s/run"
  ok test -x "$A/supervise/qmail-$s/log/run"
done
ok grep -q "0 209 " "$A/supervise/qmail-qmtpd/run"
ok grep -q "0 628 " "$A/supervise/qmail-qmqpd/run"
ok test -s "$A/tcpd/qmtp.cdb"
ok test -s "$A/tcpd/qmqp.cdb"
is "$(grep -v '^#' "$A/tcpd/qmqp")" "127.0.0.1:allow
:deny" "tcpd/qmqp: only 127.0.0.1"
# an admin's removed down file stays removed after a re-install
rm "$A/supervise/qmail-qmtpd/down"
ok inst_reinstall "$A"
nok test -e "$A/supervise/qmail-qmtpd/down"
ok test -e "$A/supervise/qmail-qmqpd/down"
: >"$A/supervise/qmail-qmtpd/down"
for b in qmail-qmtpd qmail-qmqpd qmail-qmqpc; do
  is "$(stat -c '%a %U' "$A/bin/$b")" "755 root" "bin/$b 0755 root"
done

inst_start || { echo "Bail out! inst_start"; exit 1; }

port=$((2800 + $$ % 80))
qip=127.80.$(($$ % 250 + 1))   # QMQP is on port 628: an address of our own
qd=$(id -u qtqmaild) nf=$(getent group qtnofiles | cut -d: -f3)
cat >"$T/qmtp.rules" <<EOF
127.0.0.2:allow,RELAYCLIENT=""
127.0.0.3:allow,DATABYTES="300"
:allow
EOF
ok tcprules "$T/qmtp.cdb" "$T/qmtp.tmp" <"$T/qmtp.rules"
printf '127.0.0.3:allow,DATABYTES="300"\n127.:allow\n:deny\n' | tcprules "$T/qmqp.cdb" "$T/qmqp.tmp"
srv() { # log ip port rules prog...
  local log=$1 ip=$2 p=$3 rules=$4
  shift 4
  (cd "$T" && exec setsid env - PATH=/usr/bin:/bin ASAN_OPTIONS="${ASAN_OPTIONS:-}" \
    tcpserver -v -H -R -l a.test -x "$rules" -u "$qd" -g "$nf" "$ip" "$p" "$@" \
    </dev/null >"$T/$log" 2>&1) &
  pids+=($!)
}
pids=()
# keep the script's status for _t_cleanup (a kill of a reaped server fails)
trap 'rc=$?; kill "${pids[@]}" 2>/dev/null; (exit $rc); _t_cleanup' EXIT
srv qmtpd.log 127.0.0.1 "$port" "$T/qmtp.cdb" "$A/bin/qmail-qmtpd" -v
srv qmqpd.log "$qip.1" 628 "$T/qmqp.cdb" "$A/bin/qmail-qmqpd" -v
up() { python3 -c "import socket,sys; socket.create_connection(('$1',$2),1).close()"; }
ok wait_for 20 up 127.0.0.1 "$port"
ok wait_for 20 up "$qip.1" 628

t_driver "$D/80-qmtp.py" qmtp "$port" "$U" "$A" "$H/Maildir" "$qip.1"

log=$(cat "$T/qmtpd.log")
like "$log" "qmail-qmtpd: pid [0-9]+ from 127\.0\.0\.1: accepted message from <a@b\.test> rcpts 1 qp [0-9]+ id [0-9]+" "-v logs accepted messages"
like "$log" "refused rcpt <u@elsewhere\.test>: domain not in rcpthosts" "-v logs relay refusals"
like "$log" "refused message: databytes" "-v logs databytes refusals"
like "$log" "bad netstring: message: dropped connection" "-v logs malformed input"
like "$log" "from 127\.0\.0\.1: refused rcpt <q\?m@a\.test>: NUL in address" "-v logs a recipient refused for a NUL"
like "$log" "refused rcpt <x{200}\.\.\.>: address of 1000 bytes or more" "-v logs a recipient refused for length, cut at 200 bytes"
like "$log" "refused mail <a\?@b\.test>: NUL in address" "-v logs a sender refused for a NUL"
like "$log" "refused mail <s{200}\.\.\.>: address of 1000 bytes or more" "-v logs a sender refused for length"
like "$(cat "$T/qmqpd.log")" "qmail-qmqpd: pid [0-9]+ from 127\.0\.0\.1: accepted message from <a@b\.test> rcpts 1" "qmqpd -v log"
like "$(cat "$T/qmqpd.log")" "refused rcpt <u\?v@a\.test>: NUL in address" "qmqpd -v logs a recipient refused for a NUL"
like "$(cat "$T/qmqpd.log")" "refused rcpt <u{200}\.\.\.>: address of 1000 bytes or more" "qmqpd -v logs a recipient refused for length"
nok grep -q 'ERROR: AddressSanitizer\|runtime error' "$T/qmtpd.log" "$T/qmqpd.log"

# sessions are private, as qmail-smtpd's (70-smtpd.t): half a netstring
# keeps the server reading
ok session_private qmail-qmtpd 127.0.0.1 "$port" "$qd" "$nf" 10:
ok session_private qmail-qmqpd "$qip.1" 628 "$qd" "$nf" 10:

# ---- qmail-qmqpc: a null client (instance b, never started) ----------
inst_new b || { echo "Bail out! inst_new b"; exit 1; }
B=$Q
Q=$A
count() { maildir_count "$H/Maildir"; }
more_than() { [ "$(count)" -gt "$1" ]; }
echo "$qip.2" >"$B/control/qmqpservers"       # nothing listens there
echo "$qip.1" >>"$B/control/qmqpservers"
before=$(count)
printf 'Subject: null-client\n\nvia qmail-qmqpc\n' >"$T/m"
ok env QMAILQUEUE="$B/bin/qmail-qmqpc" "$B/bin/qmail-inject" -f root@b.test "$U@a.test" <"$T/m"
ok wait_for 30 more_than "$before"
f=$(grep -l '^Subject: null-client' "$H"/Maildir/new/* "$H"/Maildir/cur/* 2>/dev/null | head -n 1)
ok test -n "$f"
like "$(cat "$f" 2>/dev/null)" "with QMQP; .*Received: \(qmail [0-9]+ invoked by uid 0\); " "qmqpc's own Received line below qmqpd's"
like "$(cat "$f" 2>/dev/null)" "Return-Path: <root@b\.test>" "envelope sender kept"

# bin/qmail-queue replaced by qmail-qmqpc (the mini-qmail way)
ln -sf qmail-qmqpc "$B/bin/qmail-queue"
before=$(count)
rc=0
printf 'Subject: mini-qmail\n\nx\n' | as_user "$U" "$B/bin/sendmail" "$U@a.test" || rc=$?
is "$rc" 0 "sendmail of the null client exits 0"
ok wait_for 30 more_than "$before"

# qmqpc alone: envelope on fd 1
qq() { # expected-code servers-file-content
  local rc=0
  if [ "$2" = MISSING ]; then rm -f "$B/control/qmqpservers"; else printf '%s' "$2" >"$B/control/qmqpservers"; fi
  python3 - "$B/bin/qmail-qmqpc" <<'PY' || rc=$?
import os, subprocess, sys
m, e = os.pipe(), os.pipe()
p = subprocess.Popen([sys.argv[1]], stdin=m[0], stdout=e[0], stderr=subprocess.PIPE)
os.close(m[0]); os.close(e[0])
# qmqpc may have given up (and closed both) before we write
for fd, data in ((m[1], b'Subject: qmqpc-code\n\nx\n'), (e[1], b'Fa@b.test\0Tqtqm1@a.test\0\0')):
    try:
        os.write(fd, data)
    except BrokenPipeError:
        pass
    os.close(fd)
err = p.stderr.read()
rc = p.wait()
if err: print('stderr:', err, file=sys.stderr); sys.exit(250)
sys.exit(rc)
PY
  is "$rc" "$1" "qmqpc exit $1 with qmqpservers: ${2//$'\n'/ }"
}
qq 73 "$qip.2
"
qq 55 ""
qq 55 "# only a comment
"
qq 55 MISSING
srv fakez.log "$qip.3" 628 "$T/qmqp.cdb" python3 "$D/80-qmtp.py" fakeqmqp "Zbusy"
srv faked.log "$qip.4" 628 "$T/qmqp.cdb" python3 "$D/80-qmtp.py" fakeqmqp "Dno"
srv fakeg.log "$qip.5" 628 "$T/qmqp.cdb" python3 "$D/80-qmtp.py" fakeqmqp "OK"
ok wait_for 20 up "$qip.3" 628
ok wait_for 20 up "$qip.4" 628
ok wait_for 20 up "$qip.5" 628
qq 71 "$qip.3
"
qq 31 "$qip.4
$qip.1
"
qq 74 "$qip.5
"
before=$(count)
qq 0 "$qip.3
$qip.1
"
ok wait_for 30 more_than "$before"
# the envelope is checked as qmail-queue checks it
printf '%s\n' "$qip.1" >"$B/control/qmqpservers"
rc=0; printf 'x\n' | "$B/bin/qmail-qmqpc" 1< <(printf 'Fa@b\0Tqtqm1@a.test\0') || rc=$?
is "$rc" 54 "envelope without its final NUL: 54"
rc=0; printf 'x\n' | "$B/bin/qmail-qmqpc" 1< <(printf 'Xa@b\0\0') || rc=$?
is "$rc" 91 "envelope format error: 91"
rc=0; printf 'x\n' | "$B/bin/qmail-qmqpc" 1< <(printf 'Fa@b\0T%s\0\0' "$(head -c 1200 /dev/zero | tr '\0' x)") || rc=$?
is "$rc" 11 "address too long: 11"
kill "${pids[@]}" 2>/dev/null
t_done
