#!/bin/bash
# tcp-env, qreceipt, qbiff, mailsubj, splogger, qmail-upq, and qmail-qread's message line.
# tcp-env runs in a private network namespace (its own port 113 for a
# scripted ident server, its own /etc/hosts and a dnsmasq: no name lookup
# leaves it); qmail-smtpd behind tcp-env queues a message whose Received
# line is checked.  qreceipt runs from a .qmail file of a test instance.
# qmail-upq rehashes a queue holding deferred (info/local/remote) and
# unprocessed (todo/intd) messages from split 23 to 7, then all deliver.
. "$(dirname "$0")/lib.sh"
t_init
D=$(cd "$(dirname "$0")" && pwd)
port=$((2900 + $$ % 80))

NS=tb85$$
DNSPID=
my_cleanup() {
  local rc=$?
  [ -n "$DNSPID" ] && kill "$DNSPID" 2>/dev/null
  trap - EXIT
  (_t_cleanup)
  ip netns del "$NS" 2>/dev/null
  rm -rf "/etc/netns/$NS"
  exit "$rc"
}
trap my_cleanup EXIT

inst_new t || { echo "Bail out! inst_new"; exit 1; }
user_new tb1 || { echo "Bail out! user_new"; exit 1; }
user_new tb2 || { echo "Bail out! user_new"; exit 1; }
H1=$(home_of qttb1) H2=$(home_of qttb2)
inst_start || { echo "Bail out! inst_start"; exit 1; }

# ---- installed modes ---------------------------------------------------------
is "$(stat -c '%U:%G %a' "$Q/bin/tcp-env")" "root:qtqmail 755" "tcp-env installed 0755"
is "$(stat -c '%U:%G %a' "$Q/bin/qreceipt")" "root:qtqmail 755" "qreceipt installed 0755"
is "$(stat -c '%U:%G %a' "$Q/bin/qmail-upq")" "root:qtqmail 700" "qmail-upq installed 0700 (root only)"

# ---- tcp-env without a socket --------------------------------------------------
rc=0; out=$("$Q/bin/tcp-env" -R env </dev/null 2>&1) || rc=$?
is "$rc:$out" "111:tcp-env: fatal: standard input is not a socket" "tcp-env: stdin not a socket: 111, as qmail's"
rc=0; out=$("$Q/bin/tcp-env" -R env <&- 2>&1) || rc=$?
is "$rc:$out" "111:tcp-env: fatal: standard input is not open" "tcp-env: stdin closed: 111"
rc=0; out=$(python3 -c 'import socket,os,sys
a,b=socket.socketpair(); os.dup2(a.fileno(),0); os.execv(sys.argv[1],sys.argv[1:])' \
  "$Q/bin/tcp-env" -R env 2>&1) || rc=$?
is "$rc:$out" "111:tcp-env: fatal: standard input is not a TCP socket" "tcp-env: Unix socket: 111"
rc=0; "$Q/bin/tcp-env" >/dev/null 2>&1 || rc=$?
is "$rc" 111 "tcp-env: no program: usage, 111 as qmail's"
out=$(PROTO=TCP TCPREMOTEIP=x "$Q/bin/tcp-env" -x -R printenv TCPREMOTEIP </dev/null 2>&1)
is "$out" "x" "tcp-env: an unknown option is skipped silently, as qmail's"
out=$(PROTO=TCP TCPREMOTEIP=x "$Q/bin/tcp-env" -R printenv TCPREMOTEIP </dev/null 2>&1)
is "$out" "x" "tcp-env: PROTO=TCP set: just runs the program, even without a socket"

# ---- tcp-env in a namespace ----------------------------------------------------------
if ! ip netns add "$NS" 2>/dev/null; then
  t_skip 25 "cannot create a network namespace"
else
  ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 2>/dev/null
  ip -n "$NS" link set lo up
  mkdir -p "/etc/netns/$NS"
  printf '127.0.0.1 localhost\n::1 localhost6.test\n' >"/etc/netns/$NS/hosts"
  printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"/etc/netns/$NS/resolv.conf"
  dns=0
  if command -v dnsmasq >/dev/null; then
    {
      echo "no-resolv"; echo "no-hosts"; echo "bind-interfaces"; echo "pid-file="
      echo "listen-address=127.0.0.1"; echo "user=root"
      # 127.0.0.5 claims a name whose address is another one
      echo "ptr-record=5.0.0.127.in-addr.arpa,liar.test"
      echo "host-record=liar.test,127.0.0.6"
      echo "host-record=Good.TEST,127.0.0.7"
      echo "ptr-record=8.0.0.127.in-addr.arpa,127.0.0.8"
    } >"$T/dnsmasq.conf"
    ip netns exec "$NS" dnsmasq --no-daemon --conf-file="$T/dnsmasq.conf" 2>"$T/dnsmasq.err" &
    DNSPID=$!
    dnsup() { ip netns exec "$NS" getent hosts 127.0.0.7 | grep -qi good.test; }
    if wait_for 10 dnsup; then dns=1; else t_diag "dnsmasq did not answer: $(cat "$T/dnsmasq.err")"; fi
  fi
  mkdir -p "$T/nsbin"
  printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$NS" \
    "$(python3 -c 'import sys; print(sys.executable)')" >"$T/nsbin/python3"
  chmod 0755 "$T/nsbin/python3"
  before=$(maildir_count "$H1/Maildir")
  PATH="$T/nsbin:$PATH" t_driver "$D/85-tools.py" "$Q/bin/tcp-env" "$port" "$dns" \
    "$Q/bin/qmail-smtpd" "$(id -u qtqmaild)" "$(getent group qtnofiles | cut -d: -f3)" qttb1@t.test
  [ $dns = 1 ] || t_skip 3 "no dnsmasq: host name confirmation through DNS"
  more() { [ "$(maildir_count "$H1/Maildir")" -gt "$before" ]; }
  ok wait_for 30 more
  f=$(grep -l 'through tcp-env' "$H1"/Maildir/new/* 2>/dev/null | head -n 1)
  recv=$(sed -n '/^Received: from localhost/{N;p}' "$f" 2>/dev/null)
  like "$recv" $'^Received: from localhost \\(HELO client\\.test\\) \\(alice@127\\.0\\.0\\.1\\)\n  by localhost with SMTP; ' \
    "qmail-smtpd behind tcp-env: Received line with TCPREMOTEHOST, TCPREMOTEINFO, TCPLOCALHOST"
fi

# ---- qreceipt ---------------------------------------------------------------------------
printf './Maildir/\n|%s/bin/qreceipt qttb1-receipt@t.test\n' "$Q" >"$H1/.qmail-receipt"
chown qttb1 "$H1/.qmail-receipt"
chmod 0644 "$H1/.qmail-receipt"
n1=$(maildir_count "$H1/Maildir") n2=$(maildir_count "$H2/Maildir")
send() { # sender-option header-value
  printf 'To: qttb1-receipt@t.test\nSubject: qreceipt %s\nMessage-ID: <m%s@t.test>\nNotice-Requested-Upon-Delivery-To: %s\n\nbody\n' \
    "$3" "$3" "$2" | as_user qttb2 "$Q/bin/qmail-inject" "$1" qttb1-receipt@t.test
}
ok send -fqttb2@t.test '"Joe" <QTTB1-Receipt@T.TEST>, other@x.test' 1
ok send -fqttb2@t.test 'someone-else@t.test' 2
ok send -f '<>' 'qttb1-receipt@t.test' 3
ok send -f '#@[]' 'qttb1-receipt@t.test' 4
count1() { [ "$(maildir_count "$H1/Maildir")" -ge $((n1 + 4)) ]; }
ok wait_for 30 count1
count2() { [ "$(maildir_count "$H2/Maildir")" -ge $((n2 + 1)) ]; }
ok wait_for 30 count2
sleep 1
is "$(maildir_count "$H2/Maildir")" $((n2 + 1)) "exactly one notice (not for other addresses, <> or #@[])"
nf=$(grep -l '^Subject: delivery notice' "$H2"/Maildir/new/* 2>/dev/null | head -n 1)
ok test -n "$nf"
is "$(sed -n 's/^Return-Path: //p' "$nf" 2>/dev/null)" "<>" "notice has the empty envelope sender"
like "$(cat "$nf" 2>/dev/null)" 'In-Reply-To: <m1@t\.test>' "notice refers to the message asked about"
like "$(cat "$nf" 2>/dev/null)" 'Auto-Submitted: auto-replied' "notice is marked Auto-Submitted"
# directly: exit codes and limits
qr() { rc=0; out=$(env - PATH=/usr/bin:/bin "$@" 2>&1) || rc=$?; }
qr SENDER=a@b QMAILQUEUE=/bin/false "$Q/bin/qreceipt" </dev/null
is "$rc" 100 "qreceipt: no address: usage, 100"
qr QMAILQUEUE=/bin/false "$Q/bin/qreceipt" x@y </dev/null
is "$rc:$out" "100:qreceipt: fatal: SENDER not set" "qreceipt: SENDER not set: 100"
printf 'Notice-Requested-Upon-Delivery-To: x@y\n\n' >"$T/req"
# a qq that fails temporarily (exit 71 = qmail-queue's temporary refusal)
printf '#!/bin/sh\ncat >/dev/null; exit 71\n' >"$T/qq71"
chmod 0755 "$T/qq71"
qr SENDER=a@b QMAILQUEUE="$T/qq71" "$Q/bin/qreceipt" x@y <"$T/req"
is "$rc" 111 "qreceipt: qmail-queue temporary failure: 111"
qr SENDER= QMAILQUEUE="$T/qq71" "$Q/bin/qreceipt" x@y <"$T/req"
is "$rc" 0 "qreceipt: empty SENDER: 0, nothing queued"
{ printf 'X-Long: '; head -c 100000 /dev/zero | tr '\0' a; printf '\nNotice-Requested-Upon-Delivery-To: x@y\n\n'; } >"$T/long"
qr SENDER=a@b QMAILQUEUE="$T/qq71" "$Q/bin/qreceipt" x@y <"$T/long"
is "$rc" 0 "qreceipt: a field over 64 KiB ends the search (no notice, exit 0)"

# ---- qbiff ---------------------------------------------------------------------------------
# in a mount namespace with a tmpfs on /run: a utmp of our own says qttb1
# is logged in on a fresh pty, whose output is read back raw
cat >"$T/qbiff.py" <<'EOF'
import os, pwd, struct, subprocess, sys, time, tty, select
qbiff, user, mode, msg = sys.argv[1:5]
pw = pwd.getpwnam(user)
m, s = os.openpty()
tty.setraw(s)
name = os.ttyname(s)
os.chown(name, pw.pw_uid, -1)
os.chmod(name, int(mode, 8))
rec = struct.pack('<hhi32s4s32s256shhiii16s20s', 7, 0, os.getpid(), name[5:].encode(),
                  name[-4:].encode(), user.encode(), b'', 0, 0, 0, int(time.time()), 0, b'', b'')
with open('/run/utmp', 'wb') as f:
    f.write(rec)
with open(msg, 'rb') as f:
    subprocess.run(['setpriv', '--reuid=%d' % pw.pw_uid, '--regid=%d' % pw.pw_gid, '--clear-groups',
                    'env', '-i'] + sys.argv[5:] + [qbiff], stdin=f, check=True)
out = b''
while select.select([m], [], [], 0.5)[0]:
    out += os.read(m, 4096)
sys.stdout.write(out.decode('latin1').encode('unicode_escape').decode())
EOF
qbiff() { # mode message-file VAR=value...: what the terminal got, escaped
  unshare -m --propagation private sh -c 'mount -t tmpfs -o mode=0755 tmpfs /run && exec python3 "$@"' \
    qbiff "$T/qbiff.py" "$Q/bin/qbiff" qttb1 "$@"
}
if unshare -m --propagation private true 2>/dev/null; then
  printf 'Received: x\nSubject: hello\n  world\nTo: x\n\nbody line 1\nline\t2\n' >"$T/qb1"
  is "$(qbiff 0720 "$T/qb1" USER=qttb1 LOCAL=qttb1-ext SENDER=a@b.test RECIPIENT=r@t.test)" \
    '\r\n\x07*** TO <qttb1-ext> FROM <a@b.test>\r\n    hello/  world//body line 1/line/2/\r\n' \
    "qbiff: bell, TO <LOCAL> FROM <SENDER>, then subject and body start on one line, line ends as /"
  bs=$(head -c 200 /dev/zero | tr '\0' b)
  printf 'subject : \033[2Jwipe\nX: y\n\n%s\n' "$bs" >"$T/qb2"
  want=$(printf '    /[2Jwipe//%s' "$bs" | head -c 78)
  is "$(qbiff 0700 "$T/qb2" USER=qttb1 LOCAL=l SENDER=$'s\001x@y')" \
    "\\r\\n\\x07*** TO <l> FROM <s_x@y>\\r\\n$want\\r\\n" \
    "qbiff: control bytes as _ and /, the summary cut at 78 characters"
  printf 'no header here\nsecond\n' >"$T/qb3"
  is "$(qbiff 0700 "$T/qb3" USER=qttb1 LOCAL=l SENDER=)" \
    '\r\n\x07*** TO <l> FROM <>\r\n    /no header here/second/\r\n' "qbiff: a message without a header is all body"
  is "$(qbiff 0620 "$T/qb1" USER=qttb1 LOCAL=l SENDER=a@b)" "" "qbiff: biff n (no owner execute bit): nothing written"
  is "$(qbiff 0720 "$T/qb1" USER=qttb1 SENDER=a@b RECIPIENT=r@t.test)" "" "qbiff: LOCAL not set: nothing written"
  is "$(qbiff 0720 "$T/qb1" USER=qttb1 LOCAL=l)" "" "qbiff: SENDER not set: nothing written"
else
  t_skip 6 "cannot make a mount namespace"
fi

# ---- mailsubj ------------------------------------------------------------------------------
# the recipients go into To:, and qmail-inject takes them from there
mkdir -p "$T/ms"
chown qttb1 "$T/ms"
printf '#!/bin/sh\ncat >"$FQ/msg" || exit 54\ncat <&1 >"$FQ/env" || exit 54\n' >"$T/ms/qq"
chmod 0755 "$T/ms/qq"
rc=0
echo hi | as_user qttb1 env FQ="$T/ms" QMAILQUEUE="$T/ms/qq" "$Q/bin/mailsubj" 'a subject' \
  'Carol <carol@y.org>' d@x.org >/dev/null 2>&1 || rc=$?
is "$rc" 0 "mailsubj: a recipient with a display name is taken"
is "$(tr '\0' ' ' <"$T/ms/env")" "Fqttb1@t.test Tcarol@y.org Td@x.org  " "mailsubj: envelope recipients from the To field"
is "$(grep -m 1 '^To:' "$T/ms/msg")" "To: Carol <carol@y.org>, d@x.org" "mailsubj: To joins the arguments with ', '"
is "$(grep -m 1 '^Subject:' "$T/ms/msg")" "Subject: a subject" "mailsubj: the subject"

# ---- splogger ------------------------------------------------------------------------------
# in a mount namespace whose /dev is a tmpfs with a syslog socket of our
# own at /dev/log (the machine's is never touched); each datagram is a line
if unshare -m --propagation private true 2>/dev/null; then
  S=$T/splog
  # a 2000-byte warning line, the second half a while after the first
  half=$(head -c 996 /dev/zero | tr '\0' x)
  in_two() { printf 'warning:%s' "$half"; sleep 0.3; printf '%s\nnext\n' "$half"; }
  in_syslog_ns "$S" bash -c "$(declare -f in_two); half=$half; in_two | '$Q/bin/splogger' qm"
  is "$(grep -c '' "$S" 2>/dev/null)" 4 "splogger: a 2000-byte line in three pieces, then the next line"
  # each piece as: priority stamp [separator] text
  pieces=$(sed -nE 's/^<([0-9]+)>.* qm(\[[0-9]+\])?: ([0-9]+\.[0-9]{6})( \+|[ +])((warning:)?x*)$/\1 \3 [\4] \5/p' "$S")
  is "$(awk '{ print length($NF) }' <<<"$pieces" | tr '\n' ' ')" "799 799 402 " \
    "splogger: pieces of 799 bytes of text, as qmail's"
  is "$(awk '{ print $1 }' <<<"$pieces" | tr '\n' ' ')" "20 20 20 " "splogger: every piece at the first one's priority (warning)"
  is "$(awk '{ print $2 }' <<<"$pieces" | sort -u | wc -l)" 1 "splogger: every piece with the first one's timestamp"
  is "$(grep -oE '\[[ +]+\]' <<<"$pieces" | tr '\n' ' ')" "[ ] [+] [+] " \
    "splogger: STAMP text, then STAMP+text (no space) for the continuations"
  like "$(tail -n 1 "$S")" '^<22>.* [0-9]+\.[0-9]{6} next$' "splogger: the next line gets its own stamp and priority"
else
  t_skip 6 "cannot make a mount namespace"
fi

# ---- qmail-upq ------------------------------------------------------------------------
inst_new u || { echo "Bail out! inst_new u"; exit 1; }
user_new tb3 || { echo "Bail out! user_new"; exit 1; }
H3=$(home_of qttb3)
printf '|exit 111\n' >"$H3/.qmail"
chown qttb3 "$H3/.qmail"
chmod 0644 "$H3/.qmail"
echo "remote.test:127.0.0.1:1" >"$Q/control/smtproutes"
inst_start || { echo "Bail out! inst_start u"; exit 1; }
for i in 1 2 3 4 5; do
  printf 'Subject: upq %s\n\nbody\n' $i | as_user qttb3 "$Q/bin/qmail-inject" qttb3@u.test
done
printf 'Subject: upq remote\n\nbody\n' | as_user qttb3 "$Q/bin/qmail-inject" someone@remote.test
deferred() { [ "$(inst_log | grep -c 'deferral')" -ge 6 ]; }
ok wait_for 60 deferred
inst_stop
# qmail-qread on these deferred messages: qmail ends the sender with a
# space, and " bouncing" follows it (two spaces)
qq_out=$("$Q/bin/qmail-qread")
qid=
for x in $(sed -nE 's/^[^#]*#([0-9]+)  .*/\1/p' <<<"$qq_out"); do
  [ -e "$Q/queue/bounce/$x" ] || { qid=$x; break; }
done
ok test -n "$qid"
qinfo=$(find "$Q/queue/info" -name "$qid" | head -n 1)
qmess=$(find "$Q/queue/mess" -name "$qid" | head -n 1)
qline="$(LC_ALL=C TZ=UTC date -d "@$(stat -c %Y "$qinfo")" '+%-d %b %Y %H:%M:%S') GMT  #$qid  $(stat -c %s "$qmess")  <qttb3@u.test> "
is "$(grep -F "#$qid  " <<<"$qq_out")" "$qline" "qmail-qread: date, #id, size, <sender> and a space"
echo failure >"$Q/queue/bounce/$qid"
is "$("$Q/bin/qmail-qread" | grep -F "#$qid  ")" "$qline bouncing" "qmail-qread: <sender>  bouncing (two spaces)"
rm -f "$Q/queue/bounce/$qid"
# three more while delivery is stopped: todo/intd, not preprocessed
for i in 6 7 8; do
  printf 'Subject: upq %s\n\nbody\n' $i | as_user qttb3 "$Q/bin/qmail-inject" qttb3@u.test
done
qs_before=$("$Q/bin/qmail-qstat")
like "$qs_before" 'messages in queue: (9|10)' "messages queued with split 23 (a bounce may be one)"
qfiles() { (cd "$Q/queue" && find mess intd todo info local remote -type f | sort); }
files_before=$(qfiles | sed "s|/[0-9]*/|/|" | sort)
misplaced() { # files not in id mod $1
  (cd "$Q/queue" && find mess intd todo info local remote -type f) |
    awk -F/ -v n="$1" '($3 % n) != $2 { print }'
}
is "$(misplaced 23)" "" "all in place for 23 before"
export SPLIT=7
ok inst_reinstall
unset SPLIT
m7=$(misplaced 7)
is "$([ -n "$m7" ] && echo yes)" yes "after the rebuild with split 7, files are misplaced"
# qmail-send built for 7 will not start on a queue hashed for 23: it
# would never find those messages
rc=0; out=$(cd / && setpriv --reuid=qtqmails --regid="$(id -g qtqmails)" --clear-groups \
  "$Q/bin/qmail-send" 0>&1 2>&1) || rc=$?
like "$rc:$out" '^111:alert: cannot start: the queue is hashed for another conf-split: run qmail-upq' \
  "qmail-send refuses a queue hashed for another split"

# refuses while qmail-send holds the mutex
# (the subshell becomes sleep, which holds the lock: killing it frees it)
(exec 9>>"$Q/queue/lock/sendmutex" && flock 9 && exec sleep 30) &
holder=$!
held() { ! flock -n "$Q/queue/lock/sendmutex" true; }
wait_for 5 held
rc=0; out=$("$Q/bin/qmail-upq" 2>&1) || rc=$?
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
like "$rc:$out" '^111:qmail-upq: fatal: qmail-send is running' "qmail-upq refuses while sendmutex is held"
is "$(misplaced 7)" "$m7" "nothing moved then"

# a clash (another file under a misplaced file's id in the target) and a
# second hard link of a file, left as by an interrupted copy
first=$(misplaced 7 | grep '^mess/' | head -n 1)
id=${first##*/}
tgt=mess/$((id % 7))/$id
printf 'not the message\n' >"$Q/queue/$tgt"
rc=0; out=$("$Q/bin/qmail-upq" 2>&1) || rc=$?
is "$rc" 111 "qmail-upq: a clash is an error (111)"
like "$out" "warning: mess/[0-9]+/$id stays: $tgt exists" "the clash is named"
ok test -e "$Q/queue/lock/upq"
is "$(misplaced 7)" "mess/${first#mess/}" "only the clashing file is left misplaced"
# qmail-send will not start while lock/upq exists
rc=0; out=$(cd / && setpriv --reuid=qtqmails --regid="$(id -g qtqmails)" --clear-groups \
  "$Q/bin/qmail-send" 0>&1 2>&1) || rc=$?
like "$rc:$out" '^111:alert: cannot start: queue/lock/upq exists' "qmail-send refuses to start over lock/upq"
# the same through qmail-start: the reason is the only line (qmail-lspawn
# and qmail-rspawn find qmail-send gone and leave without a "Broken pipe")
rc=0; out=$(cd "$Q" && timeout 20 "$Q/bin/qmail-start" ./Maildir/ 2>&1) || rc=$?
is "$rc:$out" "111:alert: cannot start: queue/lock/upq exists: qmail-upq has not finished, run it again" \
  "qmail-start over lock/upq: qmail-send's reason, and no other line"
rm -f "$Q/queue/$tgt"
ln "$Q/queue/$first" "$Q/queue/$tgt"
rc=0; out=$("$Q/bin/qmail-upq" 2>&1) || rc=$?
is "$rc:$out" "0:qmail-upq: $(echo "$files_before" | wc -l) queue files in place for split 7" "qmail-upq finishes; extra link dropped"
is "$(misplaced 7)" "" "every file in id mod 7"
ok test ! -e "$Q/queue/lock/upq"
is "$(qfiles | sed "s|/[0-9]*/|/|" | sort)" "$files_before" "the same files as before (nothing lost or added)"
for d in mess intd todo info local remote; do
  is "$(cd "$Q/queue/$d" && ls | sort -n | tr '\n' ' ')" "0 1 2 3 4 5 6 " "$d: subdirectories 0-6 only"
  is "$(stat -c '%U:%G %a' "$Q/queue/$d"/* | sort -u)" "$(stat -c '%U:%G %a' "$Q/queue/$d")" \
    "$d: subdirectories owned like $d"
done
is "$("$Q/bin/qmail-qstat")" "$qs_before" "qmail-qstat sees the same queue with split 7"
placed=$(qfiles)
rc=0; out=$("$Q/bin/qmail-upq" 2>&1) || rc=$?
is "$rc" 0 "qmail-upq again: idempotent"
is "$(qfiles)" "$placed" "nothing changed"

# a queue from qmail-1.03 keeps todo/ and intd/ flat: qmail-send will not
# start over such entries (its sweep would take their messages for stale
# ones), and qmail-upq puts them in their subdirectories
t1=$(cd "$Q/queue" && find todo -type f | head -n 1)
fid=${t1##*/}
mv "$Q/queue/$t1" "$Q/queue/todo/$fid"
mv "$Q/queue/intd/$((fid % 7))/$fid" "$Q/queue/intd/$fid"
rc=0; out=$(cd / && setpriv --reuid=qtqmails --regid="$(id -g qtqmails)" --clear-groups \
  "$Q/bin/qmail-send" 0>&1 2>&1) || rc=$?
like "$rc:$out" "^111:alert: cannot start: queue/todo or queue/intd holds entries of qmail's flat layout" \
  "qmail-send refuses to start over a flat todo/"
rc=0; out=$("$Q/bin/qmail-upq" 2>&1) || rc=$?
is "$rc" 0 "qmail-upq takes qmail-1.03's flat todo/ and intd/"
is "$(qfiles)" "$placed" "the flat entries are back in their subdirectories"

rm -f "$H3/.qmail"
n3=$(maildir_count "$H3/Maildir")
inst_start || { echo "Bail out! inst_start u again"; exit 1; }
svc -a "$Q/supervise/qmail-send"
all8() { [ "$(maildir_count "$H3/Maildir")" -ge $((n3 + 8)) ]; }
ok wait_for 60 all8
is "$(maildir_count "$H3/Maildir")" $((n3 + 8)) "all 8 local messages delivered after the rehash"
is "$(inst_log | grep -c 'is in the wrong directory')" 0 "qmail-send found nothing misplaced"

t_done
