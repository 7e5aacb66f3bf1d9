#!/bin/bash
# qmail-popup + a checkpassword + qmail-pop3d behind a real tcpserver on a
# loopback port, driven by Python's poplib and raw sockets: login (USER/
# PASS, APOP, failures), every TRANSACTION command, dot-stuffing and line
# ends on the wire, UIDLs that survive the move from new/ to cur/, the
# UPDATE state (only at QUIT), hostile input, root refused, tmp/ cleaning.
. "$(dirname "$0")/lib.sh"
t_init
D=$(cd "$(dirname "$0")" && pwd)

inst_new p || { echo "Bail out! inst_new"; exit 1; }
u=pop$$
user_new "$u" || { echo "Bail out! user_new"; exit 1; }
U=qt$u
H=$(home_of "$U")
MD=$H/Maildir
PW='s3cret word'

# a checkpassword for the test: one user, one password (or its APOP
# digest); records what it got on fd 3 for the APOP check
cat >"$T/checkpw" <<END
#!/bin/bash
IFS= read -r -d '' user <&3; IFS= read -r -d '' pass <&3; IFS= read -r -d '' ts <&3
printf '%s\0%s\0%s\0' "\$user" "\$pass" "\$ts" >"$T/fd3.last"
[ "\$user" = "$U" ] || exit 1
digest=\$(printf '%s%s' "\$ts" "$PW" | md5sum | cut -d' ' -f1)
[ "\$pass" = "$PW" ] || [ "\$pass" = "\$digest" ] || exit 1
cd "$H" || exit 111
exec setpriv --reuid="$U" --regid="$(id -g "$U")" --clear-groups \\
  env USER="$U" HOME="$H" SHELL=/bin/sh "\$@"
END
chmod 755 "$T/checkpw"

# the mailbox: one message delivered for real, two written by hand (dots at
# line starts, no final newline, CR LF already in the file), one old in cur/
inst_start || { echo "Bail out! inst_start"; exit 1; }
printf 'Subject: delivered\n\nvia qmail-local\n' | "$Q/bin/qmail-inject" "$U@p.test"
delivered() { [ "$(maildir_count "$MD")" -ge 1 ]; }
ok wait_for 30 delivered
printf 'Subject: dots\n\n.\n.dot\n..two\nend' >"$MD/new/2000000000.M1P1.p.test"
printf 'Subject: crlf\r\n\r\nbody\r\n' >"$MD/new/2000000001.M2P2.p.test"
printf 'Subject: old\nX-A: 1\n\nb1\nb2\nb3\n' >"$MD/cur/1000000000.M0P0.p.test:2,S"
touch -d '2001-09-09' "$MD/cur/1000000000.M0P0.p.test:2,S"
touch -d '2033-05-18' "$MD/new/2000000000.M1P1.p.test"
touch -d '2033-05-19' "$MD/new/2000000001.M2P2.p.test"
: >"$MD/tmp/stale"
touch -a -d '3 days ago' "$MD/tmp/stale"
: >"$MD/tmp/fresh"
chown -R "$U:$(id -g "$U")" "$MD"

port=$((2600 + $$ % 80))
(cd "$T" && exec setsid env - PATH=/usr/bin:/bin ASAN_OPTIONS="${ASAN_OPTIONS:-}" \
  tcpserver -H -R -l p.test 127.0.0.1 "$port" \
  "$Q/bin/qmail-popup" p.test "$T/checkpw" "$Q/bin/qmail-pop3d" Maildir \
  </dev/null >"$T/tcpserver.log" 2>&1) &
tcpsrv=$!
trap 'kill $tcpsrv 2>/dev/null; _t_cleanup' EXIT
up() { python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),1).close()"; }
ok wait_for 20 up

t_driver "$D/75-pop3.py" "$port" "$U" "$PW" "$MD" "$T/fd3.last"

ok test ! -e "$MD/tmp/stale"
ok test -e "$MD/tmp/fresh"
log=$(cat "$T/tcpserver.log")
like "$log" "qmail-popup: pid [0-9]+ from 127\.0\.0\.1: authorization failed for user $U" "failed logins are logged"
nok grep -q "wrong" "$T/tcpserver.log"

# qmail-pop3d never serves root; it says so and exits 1 (a failed login)
out=$(cd "$H" && "$Q/bin/qmail-pop3d" Maildir 2>&1 </dev/null)
is "$?" 1 "qmail-pop3d as root exits 1"
like "$out" "refusing to run as root" "and says why"
# a missing Maildir: qmail-pop3d tells the client in qmail's words and the
# session is over (exit 0); no +OK
out=$(cd "$H" && as_user "$U" "$Q/bin/qmail-pop3d" NoSuchDir 2>/dev/null </dev/null)
is "$?" 0 "missing Maildir: exit 0 after telling the client"
is "$out" $'-ERR this user has no $HOME/Maildir\r' "missing Maildir: qmail's text"
# a Maildir that cannot be entered for another reason is a temporary failure
mkdir -p "$T/locked" && chmod 0700 "$T/locked"
out=$(cd "$T" && as_user "$U" "$Q/bin/qmail-pop3d" locked 2>&1 </dev/null)
is "$?" 111 "unenterable Maildir: exit 111"
nok grep -q '+OK' <<<"$out"
out=$("$Q/bin/qmail-popup" 2>&1)
is "$?" 100 "qmail-popup without arguments: usage, exit 100"
t_done
