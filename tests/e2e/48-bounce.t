#!/bin/bash
# Bounces of local failures, byte for byte (QSBMF): a program's permanent
# failure text, a missing extension; VERP through -owner-default; an
# archive copy that fails neither bounces nor loops.
. "$(dirname "$0")/lib.sh"
t_init

ok inst_new b || t_done
ME=b.test
user_new "ba$$"; user_new "bb$$"
A=qtba$$ B=qtbb$$
HA=$(home_of $A) HB=$(home_of $B)
D=$T/data
mkdir -p "$D"; chmod 0755 "$D"
inject() { printf 'F%s\0T%s\0\0' "$1" "$2" >"$D/env"; "$Q/bin/qmail-queue" <"$3" 1<"$D/env"; }
count_is() { [ "$(maildir_count "$1")" = "$2" ]; }
newest() { ls -t "$1"/new/* 2>/dev/null | head -n 1; }
owned() { printf '%s' "$3" >"$2"; chown "$1:$(id -g "$1")" "$2"; chmod 0644 "$2"; }
# the variable lines of a message made uniform
norm() { sed -E -e 's/^(Received: ).*/\1X/' -e 's/^(Date: ).*/\1X/' -e 's/^(Message-ID: ).*/\1X/' "$1"; }
ok inst_start ./Maildir/

owned $B "$HB/.qmail-fail" '|echo "no such project here"; exit 100
'
printf 'Subject: please\n\nbody line\n' >"$D/m"
ok inject "$A@$ME" "$B-fail@$ME" "$D/m"
ok wait_for 30 count_is "$HA/Maildir" 1
norm "$(newest "$HA/Maildir")" >"$D/got"
cat >"$D/want" <<EOF2
Return-Path: <>
Delivered-To: $A@$ME
Received: X
Date: X
From: MAILER-DAEMON@$ME
To: $A@$ME
Subject: failure notice

Hi. This is the qmail-send program at $ME.
Your message could not be delivered to the addresses listed
below. This is a permanent failure: no further attempts
will be made.

<$B-fail@$ME>:
no such project here
Program failed permanently. (#5.2.0)

--- Below this line is a copy of the message.

Return-Path: <$A@$ME>
Received: X
Subject: please

body line
EOF2
ok diff "$D/want" "$D/got"

# a big message comes back whole, as qmail returns it (no bouncemaxbytes)
{ printf 'Subject: big\n\n'; for i in $(seq 1 3000); do printf 'line %05d of a long body .........................................\n' "$i"; done; } >"$D/big"
n=$(maildir_count "$HA/Maildir")
ok inject "$A@$ME" "$B-fail@$ME" "$D/big"
ok wait_for 30 count_is "$HA/Maildir" $((n + 1))
f=$(newest "$HA/Maildir")
is "$(tail -n 1 "$f")" "$(tail -n 1 "$D/big")" "a 200 KB message bounces whole: its last line is there"
is "$(grep -c '^line ' "$f")" 3000 "... and every line of its body"

# VERP: a list whose owner has -owner-default gets one sender per recipient
owned $A "$HA/.qmail-list" "&$B@$ME
&$B-fail@$ME
"
owned $A "$HA/.qmail-list-owner" "./Maildir/
"
owned $A "$HA/.qmail-list-owner-default" "./Maildir/
"
nb=$(maildir_count "$HB/Maildir")
na=$(maildir_count "$HA/Maildir")
ok inject "x$$@$ME" "$A-list@$ME" "$D/m"
ok wait_for 30 count_is "$HB/Maildir" $((nb + 1))
is "$(head -n 1 "$(newest "$HB/Maildir")")" "Return-Path: <$A-list-owner-$B=$ME@$ME>" "VERP: recipient encoded in the sender"
ok wait_for 30 count_is "$HA/Maildir" $((na + 1))
f=$(newest "$HA/Maildir")
# a failure inside this host bounces to the sender reduced to pre@host,
# as qmail does: list-owner-@host, which .qmail-list-owner-default takes
is "$(sed -n 2p "$f")" "Delivered-To: $A-list-owner-@$ME" "local VERP failure: bounce to list-owner-@host"
ok grep -q "^<$B-fail@$ME>:" "$f"

# archive copy: to a working address, and to a failing one (no bounce, no loop)
echo "$B@$ME" >"$Q/control/archiveaddress"
ok svc -h "$Q/supervise/qmail-send"
sleep 1
nb=$(maildir_count "$HB/Maildir")
ok inject "$A@$ME" "$A@$ME" "$D/m"
ok wait_for 30 count_is "$HB/Maildir" $((nb + 1))
echo "$B-fail@$ME" >"$Q/control/archiveaddress"
ok svc -h "$Q/supervise/qmail-send"
sleep 1
na=$(maildir_count "$HA/Maildir")
ok inject "$A@$ME" "$A@$ME" "$D/m"
ok wait_for 30 count_is "$HA/Maildir" $((na + 1))
sleep 3
is "$(maildir_count "$HA/Maildir")" $((na + 1)) "a failing archive copy never bounces to the sender"
rm -f "$Q/control/archiveaddress"

# a bounce that would outgrow what qmail-send loads (16 MB): 5800 failures
# with reports of about 3000 bytes (qmail-local keeps that much); the reports past the limit are left out with a
# note, and the bounce goes out (before, the message stayed queued for good)
owned $B "$HB/.qmail-big" '|head -c 8000 /dev/zero | tr "\\0" x; exit 100
'
python3 - "$D/env" "$A@$ME" "$B-big@$ME" <<'PY'
import sys
with open(sys.argv[1], "wb") as f:
    f.write(b"F" + sys.argv[2].encode() + b"\0")
    f.write((b"T" + sys.argv[3].encode() + b"\0") * 5800)
    f.write(b"\0")
PY
na=$(maildir_count "$HA/Maildir")
queue_env() { "$Q/bin/qmail-queue" <"$D/m" 1<"$D/env"; }
ok queue_env
ok wait_for 300 count_is "$HA/Maildir" $((na + 1))
f=$(newest "$HA/Maildir")
ok test "$(stat -c %s "$f")" -lt $((16 << 20))
is "$(grep -c "^<$B-big@$ME>:" "$f")" "$(grep -c '^xxxxxxxx' "$f" | awk '{ print $1 + 1 }')" \
  "every paragraph but the note carries its report"
is "$(grep -c '^The failure reports of this address and of the addresses that failed after it are left out: the bounce would be too long. (#5.3.4)$' "$f")" 1 \
  "one note says the rest are left out"
unreadable() { inst_log | grep -q "unable to read .*bounce"; }
nok unreadable

# a bounce file already over 16 MB, as only a queue taken over from
# elsewhere holds one: the reports that fit go out, cut after a whole
# paragraph, with the note naming the first address left out (before, the
# message stayed queued for good with "unable to read" every two minutes)
ok inst_stop
na=$(maildir_count "$HA/Maildir")
ok inject "$A@$ME" "$B-fail@$ME" "$D/m"
id=$(basename "$(ls "$Q"/queue/todo/*/* | head -n 1)")
python3 - "$Q/queue/bounce/$id" "$D/cut" <<'PY'
import sys
para = lambda i: b"<x%07d@elsewhere.test>:\nan old failure report\n\n" % i
n, lim = (17 << 20) // len(para(0)), (16 << 20) - (64 << 10)
with open(sys.argv[1], "wb") as f:
    f.write(b"".join(para(i) for i in range(n)))
with open(sys.argv[2], "w") as f:
    print(lim // len(para(0)), file=f)
PY
chown qtqmails "$Q/queue/bounce/$id"
chmod 0600 "$Q/queue/bounce/$id"
read -r k <"$D/cut"
lines=$(inst_log | wc -l)
ok inst_start ./Maildir/
ok wait_for 60 count_is "$HA/Maildir" $((na + 1))
f=$(newest "$HA/Maildir")
is "$(grep -c '^<x[0-9]*@elsewhere.test>:$' "$f")" $((k + 1)) "the whole paragraphs that fit, and the note"
x=$(printf 'x%07d@elsewhere.test' "$k")
is "$(grep -A1 "^<$x>:" "$f" | tail -n 1)" \
  'The failure reports of this address and of the addresses that failed after it are left out: the bounce would be too long. (#5.3.4)' \
  "the note names the first address left out"
nok grep -q "^<$B-fail@$ME>:" "$f"
like "$(inst_log | tail -n +$((lines + 1)))" "warning: msg $id: bounce/$id is too big: the reports after its first $((k * 50)) bytes are left out" \
  "the log says the bounce was cut"
ok wait_for 30 test ! -e "$Q/queue/bounce/$id"
nok unreadable
t_done
