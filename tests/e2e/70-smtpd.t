#!/bin/bash
# qmail-smtpd behind a real tcpserver (and rblsmtpd) on a loopback port:
# protocol, relay tricks, recipient validation, policy, DATA edge cases
# (smuggling, NUL, limits), pipelining, 100x10 parallel load, -v log, the
# service directory under a private svscan, sendmail -bs.
. "$(dirname "$0")/lib.sh"
t_init
D=$(cd "$(dirname "$0")" && pwd)

inst_new s || { echo "Bail out! inst_new"; exit 1; }
u=sm$$a
user_new "$u" || { echo "Bail out! user_new"; exit 1; }
U=qt$u
H=$(home_of "$U")
printf '%s\n' s.test localhost >"$Q/control/rcpthosts"
printf '%s\n' bad@evil.test @spam.test >"$Q/control/badmailfrom"
echo 100000 >"$Q/control/databytes"
# .qmail files for the recipient check (names only matter)
printf './Maildir/\n' >"$H/.qmail-ext"
printf './Maildir/\n' >"$H/.qmail-foo-default"
chown "$U" "$H/.qmail-ext" "$H/.qmail-foo-default"
chmod 0644 "$H/.qmail-ext" "$H/.qmail-foo-default"
printf 'myalias: %s\n' "$U" >"$Q/users/aliases"
uid=$(id -u "$U") gid=$(id -g "$U")
printf '=assigned:%s:%s:%s:%s:::\n.\n' "$U" "$uid" "$gid" "$H" >"$Q/users/assign"
ok "$Q/bin/qmail-newu"
ok "$Q/bin/newaliases"
ok test -s "$Q/users/rcptcheck.cdb"
is "$(stat -c '%a %G' "$Q/users/rcptcheck.cdb")" "640 qtnofiles" "rcptcheck.cdb is 0640 root:nofiles"

# qmail-newmrh
printf 'MORE.test\n' >"$Q/control/morercpthosts"
ok "$Q/bin/qmail-newmrh"
ok cdb -q "$Q/control/morercpthosts.cdb" more.test
# without its source, qmail-newmrh fails and the cdb stays (not emptied)
mv "$Q/control/morercpthosts" "$T/mrh"
out=$("$Q/bin/qmail-newmrh" 2>&1); rc=$?
is "$rc:$out" "111:qmail-newmrh: fatal: unable to read control/morercpthosts: No such file or directory" \
  "qmail-newmrh without control/morercpthosts: 111"
ok cdb -q "$Q/control/morercpthosts.cdb" more.test
mv "$T/mrh" "$Q/control/morercpthosts"

inst_start || { echo "Bail out! inst_start"; exit 1; }

port=$((2700 + $$ % 80))
cat >"$T/smtp.rules" <<EOF
127.0.0.2:allow,RELAYCLIENT="",RBLSMTPD=""
127.0.0.3:allow,BOUNCEMAIL="553 go away",RBLSMTPD=""
127.0.0.4:allow,RBLSMTPD="-you are listed"
:allow,RBLSMTPD=""
EOF
ok tcprules "$T/smtp.cdb" "$T/smtp.tmp" <"$T/smtp.rules"
qd=$(id -u qtqmaild) nf=$(getent group qtnofiles | cut -d: -f3)
(cd "$T" && exec setsid env - PATH=/usr/bin:/bin ASAN_OPTIONS="${ASAN_OPTIONS:-}" \
  tcpserver -v -H -R -l s.test -x "$T/smtp.cdb" -c 200 -b 200 -u "$qd" -g "$nf" 127.0.0.1 "$port" \
  rblsmtpd "$Q/bin/qmail-smtpd" -v </dev/null >"$T/tcpserver.log" 2>&1) &
tcpsrv=$!
trap 'kill $tcpsrv 2>/dev/null; _t_cleanup' EXIT
up() { python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),1).close()"; }
ok wait_for 20 up

t_driver "$D/70-smtpd.py" "$port" "$U" "$Q" "$H/Maildir"

more_than() { [ "$(maildir_count "$H/Maildir")" -gt "$1" ]; }

# swaks, a real client
if command -v swaks >/dev/null; then
  before=$(maildir_count "$H/Maildir")
  ok swaks --server 127.0.0.1 --port "$port" --helo swaks.test --from a@b.test --to "$U@s.test" \
    --header "Subject: swaks" --body "via swaks"
  ok wait_for 30 more_than "$before"
fi

# -v log lines
log=$(cat "$T/tcpserver.log")
like "$log" "qmail-smtpd: pid [0-9]+ from 127\.0\.0\.1: connect host unknown" "-v logs connections"
like "$log" "qmail-smtpd: pid [0-9]+ from 127\.0\.0\.1: refused rcpt <u@evil\.test>: domain not in rcpthosts" "-v logs refusals with reason"
like "$log" "qmail-smtpd: pid [0-9]+ from 127\.0\.0\.1: accepted message from <a@b\.test> rcpts 1 qp [0-9]+ id [0-9]+" "-v logs accepted messages with queue id"
like "$log" "refused rcpt <nosuch@s\.test>: no such mailbox" "-v logs unknown recipients"
# 201 refused RCPTs in one session: 100 logged, the rest counted
is "$(grep -c 'refused rcpt: too many recipients' <<<"$log")" 100 "-v logs at most 100 refusals per session"
like "$log" "further refusals not logged: 101" "-v then logs how many it did not"
like "$log" "rblsmtpd: 127\.0\.0\.4" "rblsmtpd logged its block"
nok grep -q 'ERROR: AddressSanitizer\|runtime error' "$T/tcpserver.log"
[ -e /tmp/pwned ] && _t_result 1 "shellshock sender created /tmp/pwned" || _t_result 0 "no /tmp/pwned"

# a session is private: another process of qmaild (a session somebody
# subverted) can neither read its /proc files nor ptrace it
ok session_private qmail-smtpd 127.0.0.1 "$port" "$qd" "$nf"

# sendmail -bs speaks SMTP on stdin through qmail-smtpd
before=$(maildir_count "$H/Maildir")
out=$(printf 'HELO local\r\nMAIL FROM:<root@s.test>\r\nRCPT TO:<%s@s.test>\r\nDATA\r\nSubject: bs\r\n\r\nhi\r\n.\r\nQUIT\r\n' "$U" |
  "$Q/bin/sendmail" -bs 2>&1)
like "$out" "250 2.0.0 ok [0-9]+ qp [0-9]+ id [0-9]+" "sendmail -bs queues a message"
ok wait_for 30 more_than "$before"
# an unqualified sender, as local programs give: accepted (RELAYCLIENT)
before=$(maildir_count "$H/Maildir")
out=$(printf 'HELO local\r\nMAIL FROM:<root>\r\nRCPT TO:<%s@s.test>\r\nDATA\r\nSubject: bs2\r\n\r\nhi\r\n.\r\nQUIT\r\n' "$U" |
  "$Q/bin/sendmail" -bs 2>&1)
like "$out" "250 2.0.0 ok [0-9]+ qp [0-9]+ id [0-9]+" "sendmail -bs: MAIL FROM:<root> queued"
ok wait_for 30 more_than "$before"

# $DATABYTES as qmail reads it: its leading digits (none: 0, no limit);
# arguments after -v are ignored, as qmail ignores its arguments
ehlo() { # environment settings, then the program and its arguments
  printf 'EHLO x\r\nQUIT\r\n' | (cd "$T" && setpriv --reuid="$qd" --regid="$nf" --clear-groups \
    env - PATH=/usr/bin:/bin ASAN_OPTIONS="${ASAN_OPTIONS:-}" TCPREMOTEIP=127.0.0.1 "$@") 2>>"$T/smtpd-direct.log"
}
like "$(ehlo DATABYTES=5abc "$Q/bin/qmail-smtpd")" "250-SIZE 5"$'\r' "DATABYTES=5abc: 5"
like "$(ehlo DATABYTES= "$Q/bin/qmail-smtpd")" "250-SIZE"$'\r' "DATABYTES empty: no limit"
like "$(ehlo "$Q/bin/qmail-smtpd" s.test /bin/checkpassword /bin/true)" "^220 .*250-PIPELINING" \
  "arguments as patched versions take them: ignored"
like "$(ehlo "$Q/bin/qmail-smtpd" -v s.test)" "^220 .*250-PIPELINING" "-v and more: ignored"

# qmail-qmtpd (it shares this area's code) exits as qmail's does: 100 for
# a malformed package, 1 when the client goes away, 0 at a clean end
qmtp() { # expected-code name input [program]
  local rc=0 p=${4:-qmail-qmtpd}
  printf "$3" | (cd "$T" && setpriv --reuid="$qd" --regid="$nf" --clear-groups \
    env - PATH=/usr/bin:/bin ASAN_OPTIONS="${ASAN_OPTIONS:-}" "$Q/bin/$p") \
    >/dev/null 2>>"$T/qmtpd-direct.log" || rc=$?
  is "$rc" "$1" "$p exits $1: $2"
}
qmtp 100 "non-digit length" '1x:\nabc,'
qmtp 100 "leading zero" '05:\nabcd,'
qmtp 100 "missing comma" '5:\nabcdX'
qmtp 100 "empty message netstring" '0:,'
qmtp 100 "message starting with neither LF nor CR" '5:Xabcd,'
qmtp 100 "length overflowing" '99999999999999999999999999:\n'
qmtp 1 "EOF inside a length" '12'
qmtp 0 "no package at all" ''
# qmail-qmqpd the same way (its one package per connection)
qmtp 100 "non-digit length" '1x:abc,' qmail-qmqpd
qmtp 100 "message longer than its package" '5:9:abcdefghi,,' qmail-qmqpd
qmtp 100 "missing comma" '12:3:abc,3:a@b,X' qmail-qmqpd
qmtp 0 "no recipient (queued for nobody, as qmail)" '12:3:abc,3:a@b,,' qmail-qmqpd
qmtp 1 "EOF inside the message" '20:10:abc' qmail-qmqpd
nok grep -q 'ERROR: AddressSanitizer\|runtime error' "$T/qmtpd-direct.log"

# the service directory, run under a private svscan on another port
ok test -x "$Q/supervise/qmail-smtpd/run"
ok test -x "$Q/supervise/qmail-smtpd/log/run"
ok test -s "$Q/tcpd/smtp.cdb"
ok grep -q 'tcpserver .*-x .*/tcpd/smtp.cdb' "$Q/supervise/qmail-smtpd/run"
ok grep -q -- '-c "$c" -b "$c" -u' "$Q/supervise/qmail-smtpd/run"
# an instance other than conf-home's: its smtpd starts only on svc -u,
# since another instance may listen on port 25 of every address
ok test -e "$Q/supervise/qmail-smtpd/down"
is "$(cat "$Q/tcpd/smtp.ip")" 0 "tcpd/smtp.ip: every address by default"
port2=$((port + 100))
sv=$T/svsmtpd/qmail-smtpd
mkdir -p "$T/svsmtpd"
cp -r "$Q/supervise/qmail-smtpd" "$sv"
rm -rf "$sv/supervise" "$sv/log/supervise" "$sv/down"
# the address from tcpd/smtp.ip; another port, no softlimit (the
# sanitizer build needs terabytes of address space), log into $T
echo 127.0.0.1 >"$Q/tcpd/smtp.ip"
sed -i -e "s/\"\\\$ip\" 25 /\"\\\$ip\" $port2 /" -e '/softlimit/d' -e 's/PATH="\([^"]*\)" \\$/PATH="\1" \\/' "$sv/run"
sed -i -e 's/^exec env - PATH="\([^"]*\)" \\$/exec env - PATH="\1" \\/' "$sv/run"
printf '#!/bin/sh\nexec multilog t %s/svlog\n' "$T" >"$sv/log/run"
(cd / && exec setsid svscan "$T/svsmtpd" </dev/null >>"$T/svscan-smtpd.log" 2>&1) &
svpid=$!
trap 'kill $tcpsrv $svpid 2>/dev/null; svc -dx "$sv" "$sv/log" 2>/dev/null; _t_cleanup' EXIT
up2() { python3 -c "import socket; s=socket.create_connection(('127.0.0.1',$port2),1); assert s.recv(100).startswith(b'220')"; }
ok wait_for 30 up2
kill $svpid 2>/dev/null
svc -dx "$sv" "$sv/log" 2>/dev/null
kill $tcpsrv 2>/dev/null
t_done
