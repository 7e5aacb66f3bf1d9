#!/bin/bash
# Local delivery through the whole chain: qmail-queue -> qmail-send ->
# qmail-lspawn -> qmail-getpw -> qmail-local, into a Maildir and an mbox,
# byte for byte; loops, deferrals, extensions, qmail-getpw and maildirmake.
. "$(dirname "$0")/lib.sh"
t_init

ok inst_new l || t_done
# names of our own (with the pid: the same script may run concurrently
# from another checkout), so that no other script moves our users' homes
user_new "la$$"
user_new "lb$$"
A=qtla$$
B=qtlb$$
HA=$(home_of $A)
HB=$(home_of $B)
D=$T/data
mkdir -p "$D"
chmod 0755 "$D"
ME=l.test

# inject SENDER RCPT FILE: hands FILE to qmail-queue with that envelope
inject() {
  printf 'F%s\0T%s\0\0' "$1" "$2" >"$D/env.$$"
  "$Q/bin/qmail-queue" <"$3" 1<"$D/env.$$"
}
# the one file in a maildir's new/ (newest)
newest() { ls -t "$1"/new/* 2>/dev/null | head -n 1; }
logged() { inst_log | grep -q -- "$1"; }
# (functions, so that wait_for re-evaluates them each time)
count_is() { [ "$(maildir_count "$1")" = "$2" ]; }
bigger() { [ "$(stat -c %s "$1")" -gt "$2" ]; }

# ---- qmail-getpw, directly ------------------------------------------------
out=$("$Q/bin/qmail-getpw" $A-foo-bar | tr '\0' '|')
is "$out" "$A|$(id -u $A)|$(id -g $A)|$HA|-|foo-bar|" "getpw: user with extension"
out=$("$Q/bin/qmail-getpw" QTLA$$ | tr '\0' '|')
is "$out" "$A|$(id -u $A)|$(id -g $A)|$HA|||" "getpw: case folded"
out=$("$Q/bin/qmail-getpw" nosuchuser-x | tr '\0' '|')
is "$out" "qtalias|$(id -u qtalias)|$(id -g qtalias)|$Q/alias|-|nosuchuser-x|" "getpw: unknown goes to alias"
out=$("$Q/bin/qmail-getpw" root | tr '\0' '|')
like "$out" '^qtalias\|.*\|-\|root\|$' "getpw: root is never a mail user"

# server mode (qmail-lspawn's co-process): answers in order until EOF
out=$(printf '%s\0' "$A-foo-bar" nosuchuser-x "$(head -c 5000 /dev/zero | tr '\0' x)" QTLA$$ |
  "$Q/bin/qmail-getpw" -s | tr '\0' '|')
is "$out" "+$A|$(id -u $A)|$(id -g $A)|$HA|-|foo-bar|+qtalias|$(id -u qtalias)|$(id -g qtalias)|$Q/alias|-|nosuchuser-x|!request too long|+$A|$(id -u $A)|$(id -g $A)|$HA|||" \
  "getpw -s: found, alias, too long, found"
# an alias directory not owned by the alias account is a temporary error
chown root "$Q/alias"
out=$(printf '%s\0' nosuchuser "$A" | "$Q/bin/qmail-getpw" -s | tr '\0' '|')
is "$out" "!$Q/alias is not owned by qtalias|+$A|$(id -u $A)|$(id -g $A)|$HA|||" "getpw -s: temporary error, then on"
"$Q/bin/qmail-getpw" nosuchuser 2>/dev/null
is "$?" 111 "getpw: the same as exit 111"
chown qtalias "$Q/alias"
is "$(printf '' | "$Q/bin/qmail-getpw" -s | wc -c)" 0 "getpw -s: nothing asked, nothing said"
# no alias account at all (a password file without it, in a private mount
# namespace): the mail waits, as with qmail's "Unable to find alias user!"
grep -v '^qtalias:' /etc/passwd >"$T/passwd.noalias"
out=$(unshare -m sh -c 'mount --bind "$1" /etc/passwd && "$2" nosuchuser' sh \
  "$T/passwd.noalias" "$Q/bin/qmail-getpw" 2>&1)
is "$?:$out" "111:qmail-getpw: fatal: unable to find alias user qtalias" "getpw: no alias account defers (111), never bounces"
out=$(printf '%s\0' nosuchuser | unshare -m sh -c 'mount --bind "$1" /etc/passwd && "$2" -s' sh \
  "$T/passwd.noalias" "$Q/bin/qmail-getpw" | tr '\0' '|')
is "$out" "!unable to find alias user qtalias|" "getpw -s: no alias account is a temporary answer"

# ---- qmail-lspawn alone, qmail-send played by a script ----------------------
# spawn CMD...: runs CMD with the commands "slot|mess|sender|rcpt" from
# stdin, closes the pipe, prints the limit byte and "slot:report" lines
spawn() {
  python3 -c '
import subprocess, sys
p = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
for line in sys.stdin.read().splitlines():
    s, m, f, t = line.split("|")
    p.stdin.write(bytes([int(s)]) + m.encode() + b"\0" + f.encode() + b"\0" + t.encode() + b"\0")
p.stdin.close()
out = p.stdout.read()
print("limit", out[0])
res, i = [], 1
while i < len(out):
    j = out.index(b"\0", i + 1)
    res.append((out[i], out[i + 1:j].decode(errors="replace").replace("\n", "/")))
    i = j + 1
for slot, text in sorted(res):
    print("%d:%s" % (slot, text))
sys.exit(p.wait())
' "$@"
}
printf 'Subject: direct\n\nhi\n' >"$D/m0"
ok inject s@x "$A@$ME" "$D/m0"
M=$(cd "$Q/queue" && find mess -type f | head -n 1)
# the message as qmail's qmail-send names it ("N/id" below queue/mess), and
# as "mess/N/id"; names that are not two numbers are refused
out=$(printf '%s\n' "3|$M|s@x|$A@$ME" "0|$M||nohost" "1|$M||@$ME" "2|mess/../x||a@b" \
  "4|mess/0/1||a@b" "5|$M||nosuchuser@$ME" "6|${M#mess/}|s@x|$A@$ME" "7|0/../1||a@b" "8|/etc/passwd||a@b" |
  spawn "$Q/bin/qmail-lspawn" ./Maildir/)
is "$out" "limit $(head -n 1 "$(dirname "$0")/../../conf-spawn")
0:DSorry, address must include host name. (#5.1.3)
1:Kdid 0+0+0: empty local part, message discarded
2:Zqmail-send named an impossible message file. (#4.3.0)
3:Kdid 1+0+0/
4:Zmessage file has disappeared. (#4.3.0)
5:DSorry, no mailbox here by that name. (#5.1.1)/
6:Kdid 1+0+0/
7:Zqmail-send named an impossible message file. (#4.3.0)
8:Zqmail-send named an impossible message file. (#4.3.0)" "lspawn: limit byte, checks, deliveries, reports by slot"
is "$(maildir_count "$HA/Maildir")" 2 "lspawn delivered directly"
like "$(cat "$(newest "$HA/Maildir")" | head -n 3 | tr '\n' '|')" "^Return-Path: <s@x>\|Delivered-To: $A@$ME\|Received: " "lspawn: the delivered message"
rm -f "$HA"/Maildir/new/* "$Q/alias/Maildir/new/"* 2>/dev/null
find "$Q/queue" -type f -path '*/mess/*' -delete
find "$Q/queue" -type f \( -path '*/intd/*' -o -path '*/todo/*' \) -delete

# ---- Maildir ---------------------------------------------------------------
ok inst_start ./Maildir/

printf 'Subject: one\n\nFrom the start\nbody\n' >"$D/m1"
ok inject sender@example.org "$A@$ME" "$D/m1"
ok wait_for 30 count_is "$HA/Maildir" 1
f=$(newest "$HA/Maildir")
is "$(head -n 2 "$f")" "Return-Path: <sender@example.org>
Delivered-To: $A@$ME" "maildir: Return-Path and Delivered-To first"
like "$(sed -n 3p "$f")" '^Received: \(qmail [0-9]+ invoked by uid [0-9]+\); ' "maildir: then the Received line"
ok cmp <(tail -n +4 "$f") "$D/m1"
is "$(stat -c '%U %a' "$f")" "$A 600" "maildir file owned by the user, mode 600"
like "${f##*/}" '^[0-9]+\.M[0-9]+P[0-9]+Q[0-9]+\.' "maildir: unique name time.MusecPpidQn.host"
is "$(ls -A "$HA/Maildir/tmp" | wc -l)" 0 "maildir: nothing left in tmp/"
ok wait_for 10 logged "success: did_1+0+0"

# qmail-lspawn's "qmail-getpw -s" co-process answers the lookups; after a
# kill -9, deliveries fall back to running qmail-getpw, and a new one starts
copid() {
  local p
  for p in $(pgrep -x qmail-getpw); do
    [ "$(readlink /proc/$p/exe 2>/dev/null)" = "$Q/bin/qmail-getpw" ] &&
      tr '\0' ' ' </proc/$p/cmdline | grep -q -- ' -s ' && echo $p
  done
}
rchar() { sed -n 's/^rchar: //p' /proc/$1/io; }
P1=$(copid)
like "$P1" '^[0-9]+$' "co-process: one qmail-getpw -s runs"
is "$(stat -c %U /proc/$P1)" qtqmailp "co-process: as qmailp"
user_new "ld$$"
E=qtld$$
HE=$(home_of $E)
r0=$(rchar "$P1")
ok inject '' "$E@$ME" "$D/m1"
ok wait_for 30 count_is "$HE/Maildir" 1
ok test "$(rchar "$P1")" -gt "$r0"
kill -9 "$P1"
ok inject '' "$E@$ME" "$D/m1"
ok wait_for 30 count_is "$HE/Maildir" 2
# (a new one is started with the next delivery, at most once a second)
sleep 1.1
ok inject '' "$E@$ME" "$D/m1"
ok wait_for 30 count_is "$HE/Maildir" 3
newco() { P2=$(copid); [ -n "$P2" ] && [ "$P2" != "$P1" ]; }
ok wait_for 10 newco
r0=$(rchar "$P2")
ok inject '' "$E@$ME" "$D/m1"
ok wait_for 30 count_is "$HE/Maildir" 4
ok test "$(rchar "$P2")" -gt "$r0"
# one that does not answer (stopped) is killed after 10 s, and the
# delivery goes on without it
kill -STOP "$P2"
ok inject '' "$E@$ME" "$D/m1"
ok wait_for 30 count_is "$HE/Maildir" 5
gone() { ! kill -0 "$P2" 2>/dev/null; }
ok wait_for 10 gone

# a message that already carries our Delivered-To line is a loop
printf 'Delivered-To: %s@%s\nSubject: loop\n\nx\n' "$A" "$ME" >"$D/m2"
ok inject '' "$A@$ME" "$D/m2"
ok wait_for 30 logged "failure: .*looping"
is "$(maildir_count "$HA/Maildir")" 1 "looping message not delivered"

# a Delivered-To line for someone else is not a loop, nor is ours in the body
printf 'Delivered-To: other@%s\nSubject: fine\n\nDelivered-To: %s@%s\n' "$ME" "$A" "$ME" >"$D/m3"
ok inject '' "$A@$ME" "$D/m3"
ok wait_for 30 count_is "$HA/Maildir" 2

# a header line far longer than any buffer does not hurt the loop check
{ printf 'X-Long: '; head -c 3000000 /dev/zero | tr '\0' a; printf '\n\nbody\n'; } >"$D/m4"
ok inject '' "$A@$ME" "$D/m4"
ok wait_for 30 count_is "$HA/Maildir" 3

# a broken maildir is a temporary failure: the message stays queued
rmdir "$HB/Maildir/tmp"
ok inject '' "$B@$ME" "$D/m1"
ok wait_for 30 logged "deferral: .*maildir"
is "$(maildir_count "$HB/Maildir")" 0 "no delivery into a maildir without tmp/"

# the default delivery makes a Maildir that does not exist at all
user_new "lc$$"
C=qtlc$$
HC=$(home_of $C)
rm -rf "$HC/Maildir"
ok inject '' "$C@$ME" "$D/m1"
ok wait_for 30 count_is "$HC/Maildir" 1
is "$(stat -c '%U %a' "$HC/Maildir" "$HC/Maildir/tmp" "$HC/Maildir/new" "$HC/Maildir/cur" | sort -u)" "$C 700" "made Maildir: the user's, mode 700"

# extensions: .qmail-ext, -default, and no file at all
mkdir -p "$HA/Maildir2/new" "$HA/Maildir2/cur" "$HA/Maildir2/tmp"
echo ./Maildir2/ >"$HA/.qmail-list"
echo ./Maildir2/ >"$HA/.qmail-x-default"
chown -R "$A:$(id -g $A)" "$HA/Maildir2" "$HA/.qmail-list" "$HA/.qmail-x-default"
ok inject '' "$A-list@$ME" "$D/m1"
ok wait_for 30 count_is "$HA/Maildir2" 1
is "$(sed -n 2p "$(newest "$HA/Maildir2")")" "Delivered-To: $A-list@$ME" "extension: Delivered-To has the whole address"
ok inject '' "$A-x-Y.z@$ME" "$D/m1"
ok wait_for 30 count_is "$HA/Maildir2" 2
ok inject '' "$A-none@$ME" "$D/m1"
ok wait_for 30 logged "failure: Sorry,_no_mailbox"

# an empty local part is the trash
ok inject '' "@$ME" "$D/m1"
ok wait_for 30 logged "success: did_0+0+0"

# ---- mbox ----------------------------------------------------------------
ok inst_stop
ok inst_start ./Mailbox
printf 'Subject: two\n\nFrom here\n>From there\n>>From far\nFrom\nno newline at end' >"$D/m5"
ok inject 'a b@example.org' "$A@$ME" "$D/m5"
ok wait_for 30 test -s "$HA/Mailbox"
ok wait_for 10 logged "success: did_1+0+0"
like "$(head -n 1 "$HA/Mailbox")" '^From a-b@example.org (Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [0-3][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}$' "mbox: From_ line"
is "$(sed -n '2,3p' "$HA/Mailbox")" "Return-Path: <\"a b\"@example.org>
Delivered-To: $A@$ME" "mbox: Return-Path and Delivered-To"
printf 'Subject: two\n\n>From here\n>>From there\n>>>From far\nFrom\nno newline at end\n\n' >"$D/m5.want"
ok cmp <(tail -n +5 "$HA/Mailbox") "$D/m5.want"
is "$(stat -c '%U %a' "$HA/Mailbox")" "$A 600" "mbox owned by the user, mode 600"
ok test ! -e "$HA/Mailbox.lock"

# a second message is appended after the first
size=$(stat -c %s "$HA/Mailbox")
ok inject '' "$A@$ME" "$D/m1"
ok wait_for 30 bigger "$HA/Mailbox" "$size"
like "$(tail -c +$((size + 1)) "$HA/Mailbox" | head -n 1)" '^From MAILER-DAEMON ' "mbox: second message starts with its From_ line"

# ---- maildirmake -----------------------------------------------------------
ok as_user $A "$Q/bin/maildirmake" "$HA/md"
is "$(stat -c %a "$HA/md" "$HA/md/new" "$HA/md/cur" "$HA/md/tmp" | tr '\n' ' ')" "700 700 700 700 " "maildirmake: four directories, mode 700"
nok as_user $A "$Q/bin/maildirmake" "$HA/md"

# ---- maildir2mbox: relative MAIL, a message without Return-Path -------------
printf 'Subject: norp\n\nbody\n' >"$HA/md/new/1698940800.a.host"
printf 'Return-Path: <"a b"@x.org>\nSubject: rp\n\nbody\n' >"$HA/md/cur/1698940801.b.host:2,S"
chown $A: "$HA"/md/new/* "$HA"/md/cur/*
rc=0
(cd "$HA" && as_user $A env MAILDIR=md MAIL=m2.mbox "$Q/bin/maildir2mbox") || rc=$?
is "$rc" 0 "maildir2mbox with a relative MAIL: exit 0"
is "$(grep '^From ' "$HA/m2.mbox" | tr '\n' '|')" 'From XXX Thu Nov 02 16:00:00 2023|From "a-b"@x.org Thu Nov 02 16:00:01 2023|' \
  "maildir2mbox: From XXX without a Return-Path, the time of the name, as qmail writes them"
ok test ! -e "$HA/m2.mbox.lock"
ok test ! -e "$HA/md/m2.mbox.lock"
# with nothing to move, MAIL is not even created, as qmail's
rc=0
(cd "$HA" && as_user $A env MAILDIR=md MAIL=m3.mbox "$Q/bin/maildir2mbox") || rc=$?
is "$rc" 0 "maildir2mbox with nothing to move: exit 0"
ok test ! -e "$HA/m3.mbox"
rc=0
out=$(env -u MAIL MAILDIR="$HA/md" "$Q/bin/maildir2mbox" 2>&1) || rc=$?
is "$rc:$out" "111:maildir2mbox: fatal: MAIL not set" "maildir2mbox: MAIL not set is temporary (111), as in qmail"

t_done
