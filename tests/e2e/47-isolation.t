#!/bin/bash
# Isolation: one message to 2000 local recipients, 30 of whom run a
# program that sleeps 60 s and 10 with a broken .qmail.  The other 1960
# must all be delivered within seconds; the slow ones are killed at
# control/timeoutlocal with a clear deferral; the broken ones defer or
# bounce with a reason.  The recipients are users/assign entries (one
# real account, 2000 homes), so that the test needs no 2000 useradds.
# Also: maildir2mbox.
. "$(dirname "$0")/lib.sh"
t_init

ok inst_new i || t_done
ME=i.test
user_new "ia$$"
U=qtia$$
UID_=$(id -u $U) GID_=$(id -g $U)
R=$T/r
mkdir -p "$R"
chmod 0755 "$R"
N=2000
{
  for ((i = 0; i < N; i++)); do
    h=$R/u$i
    mkdir -p "$h/Maildir/new" "$h/Maildir/cur" "$h/Maildir/tmp"
    if ((i % 50 == 7 && i < 1500)); then
      printf '|sleep 60\n' >"$h/.qmail"          # 30 slow ones
    elif ((i % 100 == 3)); then
      case $((i / 100 % 3)) in                  # 20 broken ones: half bounce
        0) printf '\t \n./Maildir/\n' >"$h/.qmail" ;;
        1) printf './Maildir/\n' >"$h/.qmail"; chmod 0666 "$h/.qmail" ;;
        2) printf '|exit 100\n' >"$h/.qmail" ;;
      esac
    fi
    echo "=iso$i-$$:$U:$UID_:$GID_:$h:::"
  done
  echo .
} >"$Q/users/assign"
chown -R $U:$GID_ "$R"
chmod 0755 "$R"/u*
# world-writable .qmail must stay so after chown
for ((i = 103; i < N; i += 100)); do
  ((i / 100 % 3 == 1)) && chmod 0666 "$R/u$i/.qmail"
done
ok "$Q/bin/qmail-newu"
echo 20 >"$Q/control/timeoutlocal"

inst_count() { find "$R"/u*/Maildir/new -type f | wc -l; }
want_good=0
for ((i = 0; i < N; i++)); do [ -e "$R/u$i/.qmail" ] || want_good=$((want_good + 1)); done
enough() { [ "$(inst_count)" -ge "$want_good" ]; }
ok inst_start ./Maildir/

{
  printf 'F%s\0' "$U@$ME"
  for ((i = 0; i < N; i++)); do printf 'T%s\0' "iso$i-$$@$ME"; done
  printf '\0'
} >"$T/env"
printf 'Subject: to %d\n\nhello all\n' $N >"$T/m"
s=$EPOCHREALTIME
queue() { "$Q/bin/qmail-queue" <"$T/m" 1<"$T/env"; }
ok queue
ok wait_for 50 enough
e=$EPOCHREALTIME
t_diag "$want_good deliveries in $(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.1f", b - a }') s (SAN build) while 30 programs sleep"
is "$(inst_count)" "$want_good" "every good recipient delivered, no more"
ok test "$(awk -v a="$s" -v b="$e" 'BEGIN { print int(b - a) }')" -lt 45
logcount() { inst_log | grep -c -- "$1"; }
is "$(logcount 'deferral: Uh-oh:_first_line_of_.qmail_file_is_blank')" 7 "blank first line: deferred with reason"
is "$(logcount 'deferral: Uh-oh:_.qmail_is_writable_by_others')" 7 "world-writable .qmail: deferred with reason"
is "$(logcount 'failure: Program_failed_permanently')" 6 "|exit 100: bounced"
killed_all() { [ "$(logcount 'deferral: Program_did_not_finish_within_20_seconds')" -ge 30 ]; }
ok wait_for 60 killed_all
is "$(logcount 'deferral: Program_did_not_finish_within_20_seconds')" 30 "the 30 sleepers: killed at timeoutlocal, deferred"
ok inst_stop

# ---- maildir2mbox -------------------------------------------------------------
H=$R/u0
M=$H/Maildir
mv "$M"/new/* "$M/cur/"
t1=$(($(date +%s) + 100)) t2=$(($(date +%s) + 200))
printf 'Return-Path: <a@b>\nSubject: one\n\nFrom here\n' >"$M/new/$t1.x"
printf 'Return-Path: <>\nSubject: two\n\nbody' >"$M/cur/$t2.y:2,S"
chown $U:$GID_ "$M"/new/* "$M"/cur/*
printf 'old content\n\n' >"$H/mbox"
chown $U:$GID_ "$H/mbox"
chmod 600 "$H/mbox"
ok as_user $U env MAILDIR="$M" MAIL="$H/mbox" MAILTMP="$H/mbox.tmp" "$Q/bin/maildir2mbox"
got=$(sed -E 's/^(From [^ ]+) .*/\1/' "$H/mbox")
like "$got" "^old content

From $U@$ME
Return-Path: <$U@$ME>
Delivered-To: iso0-$$@$ME
Received: .*
Subject: to 2000

hello all

From a@b
Return-Path: <a@b>
Subject: one

>From here

From MAILER-DAEMON
Return-Path: <>
Subject: two

body\$" "maildir2mbox: old content, messages in time order, From_ lines, quoting"
is "$(find "$M/new" "$M/cur" -type f | wc -l)" 0 "maildir2mbox: the Maildir is empty afterwards"
ok test ! -e "$H/mbox.lock"
ok test ! -e "$H/mbox.tmp"
# a failure (file size limit) leaves the mbox and the Maildir as they were
cp "$H/mbox" "$T/mbox.before"
{ printf 'Subject: big\n\n'; head -c 200000 /dev/zero | tr '\0' z; echo; } >"$M/new/$t2.z"
chown $U:$GID_ "$M/new/$t2.z"
rc=0
out=$(cd "$H" && prlimit --fsize=$(($(stat -c %s "$H/mbox") + 1000)) setpriv --reuid=$U --regid=$GID_ --init-groups \
  env MAILDIR="$M" MAIL="$H/mbox" "$Q/bin/maildir2mbox" 2>&1) || rc=$?
like "$rc:$out" "^111:maildir2mbox: fatal: Unable to write to mailbox .*File too large" "maildir2mbox: full: temporary failure"
ok cmp "$H/mbox" "$T/mbox.before"
ok test -f "$M/new/$t2.z"
nok as_user $U env MAIL="$H/mbox" "$Q/bin/maildir2mbox"

t_done
