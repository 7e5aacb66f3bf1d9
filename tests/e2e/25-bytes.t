#!/bin/bash
# Byte-exact delivery through a running instance: sendmail and qmail-inject
# run as an ordinary user, delivered to ./Maildir/ and then (after a
# restart) to ./Mailbox; every delivered file is compared with cmp against
# bytes built here (Return-Path, Delivered-To, qmail-queue's Received line
# with the pid the log reports as qp, the header as qmail-inject completes
# it, the body).  Bad input is delivered byte-identical or refused with
# a clear message and exit 100, leaving nothing in the queue.
. "$(dirname "$0")/lib.sh"
t_init

ok inst_new b || t_done
ME=b.test
user_new "by$$a"
user_new "by$$b"
A=qtby$$a
B=qtby$$b
D=$T/data
mkdir -p "$D"
chmod 0755 "$D"
SM=$Q/bin/sendmail
INJ=$Q/bin/qmail-inject

DATE_RE='[A-Z][a-z]{2}, [0-9]{1,2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} [-+][0-9]{4}'
MID_RE='<[0-9]{14}\.[0-9]{6}\.[0-9]+\.qmail@b\.test>'
# the fields qmail-inject adds first when they are missing
COMPLETED=("Date: $DATE_RE" "Message-ID: $MID_RE")
FROM_A="From: \"qmail test user\" <$A@$ME>"

# nothing of any message left in the queue (lock/ holds only locks)
queue_files() {
  find "$Q/queue" -type f ! -path "$Q/queue/lock/*"
}
queue_empty() { [ -z "$(queue_files)" ]; }
new_count() { find "$(home_of "$1")/Maildir/new" -type f | wc -l; }

# run USER CMD... <input: exit code in $rc, stderr in $err
run() {
  rc=0
  err=$(as_user "$@" 2>&1 >/dev/null) || rc=$?
}

# the log's "bytes" for the message queued by pid QP
logged_bytes() {
  inst_log | sed -n "s/^info msg [0-9]*: bytes \\([0-9]*\\) from <.*> qp $1 uid [0-9]*\$/\\1/p"
}

# expect_head FILE FIRSTLINE NAME [DYN-REGEX...]: checks the Received line
# at line FIRSTLINE of FILE and the DYN lines after it (fields qmail-inject
# filled in), and writes them to $D/head; sets $qp
expect_head() {
  local f=$1 n=$2 name=$3 line re
  shift 3
  line=$(sed -n "${n}p" "$f")
  like "$line" "^Received: \\(qmail ([0-9]+) invoked by uid $(id -u "$A")\\); $DATE_RE\$" \
    "$name: qmail-queue's Received line" || return 1
  qp=${BASH_REMATCH[1]}
  printf '%s\n' "$line" >"$D/head"
  for re in "$@"; do
    n=$((n + 1))
    line=$(sed -n "${n}p" "$f")
    if ! [[ $line =~ ^$re$ ]]; then
      _t_result 1 "$name: line $n added by qmail-inject"
      t_diag "'$line' does not match '$re'"
      return 1
    fi
    printf '%s\n' "$line" >>"$D/head"
  done
}

# check_bytes NAME FILE EXPECTED REST: byte comparison, and the size the
# log reports (the queued message: $D/head and REST)
check_bytes() {
  local name=$1 f=$2 exp=$3 rest=$4 bytes
  if cmp -s "$exp" "$f"; then
    _t_result 0 "$name: delivered bytes as expected"
  else
    _t_result 1 "$name: delivered bytes as expected"
    t_diag "$(cmp "$exp" "$f" 2>&1)"
    t_diag "$(diff <(head -c 2000 "$exp" | cat -A) <(head -c 2000 "$f" | cat -A) | head -n 20)"
    cp "$f" "$D/got.$name" 2>/dev/null
  fi
  bytes=$(logged_bytes "$qp")
  is "$bytes" "$(($(wc -c <"$D/head") + $(wc -c <"$rest")))" \
    "$name: info msg bytes = the queued message"
}

# check_md NAME USER SENDER BASE [DYN...]: the one file in USER's
# Maildir/new is Return-Path, Delivered-To, Received, DYN lines, then
# rest.BASE; inj.BASE is what was injected
check_md() {
  local name=$1 u=$2 s=$3 rest=$D/rest.$4 h f
  shift 4
  h=$(home_of "$u")
  if ! wait_for 60 eval '[ "$(new_count '"$u"')" = 1 ]'; then
    _t_result 1 "$name: one new message for $u"
    t_diag "$(new_count "$u") files in $h/Maildir/new"
    return 1
  fi
  f=$(find "$h/Maildir/new" -type f)
  expect_head "$f" 3 "$name" "$@" || return 1
  {
    printf 'Return-Path: <%s>\nDelivered-To: %s@%s\n' "$s" "$u" "$ME"
    cat "$D/head" "$rest"
  } >"$D/expect"
  check_bytes "$name" "$f" "$D/expect" "$rest"
  rm -f "$f"
}

# check_mbox NAME USER SENDER BASE [DYN...]: USER's ~/Mailbox holds one
# message: From_ line, Return-Path, Delivered-To, Received, DYN lines,
# rest.BASE with >From quoting, then an empty line
ends_done() { [ "$(inst_log | grep -c '^end msg')" -ge "$1" ]; }
check_mbox() {
  local name=$1 u=$2 s=$3 rest=$D/rest.$4 mb line
  shift 4
  mb=$(home_of "$u")/Mailbox
  if ! wait_for 60 ends_done "$ends" || [ ! -s "$mb" ]; then
    _t_result 1 "$name: delivered to $mb"
    return 1
  fi
  line=$(head -n 1 "$mb")
  like "$line" "^From $s [A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}\$" \
    "$name: From_ line"
  expect_head "$mb" 4 "$name" "$@" || return 1
  {
    printf '%s\nReturn-Path: <%s>\nDelivered-To: %s@%s\n' "$line" "$s" "$u" "$ME"
    cat "$D/head"
    perl -pe 's/^(>*From )/>$1/' "$rest"
    printf '\n'
  } >"$D/expect"
  check_bytes "$name" "$mb" "$D/expect" "$rest"
  rm -f "$mb"
}

# refused NAME CMD... <input: exit 100, a qmail-inject message, no queue files
refused() {
  local name=$1 re=$2 before_a before_b
  shift 2
  before_a=$(new_count "$A")
  before_b=$(new_count "$B")
  run "$@"
  is "$rc" 100 "$name: exit 100"
  like "$err" "^qmail-inject: fatal: $re" "$name: clear message"
  ok queue_empty
  sleep 0.2
  is "$(new_count "$A") $(new_count "$B")" "$before_a $before_b" "$name: nothing delivered"
}

# ---- the messages (inj.NAME is what the injector gets; the expected rest
# of the delivered file is written to rest.NAME) ----------------------------
hdr() { # SUBJECT: a complete header that qmail-inject leaves alone
  printf 'Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <%s@b.test>\nFrom: %s@%s\nTo: %s@%s\nSubject: %s\n' \
    "$1" "$A" "$ME" "$A" "$ME" "$1"
}
{ hdr plain; printf '\nFrom the start of a line\n>From quoted once\n body\n\n  \ttabs\t\nend\n'; } >"$D/inj.plain"
# an empty header: Date, Message-ID, From and Cc are added
printf 'Subject: two\n\nhello\n' >"$D/inj.complete"
printf '%s\nCc: recipient list not shown: ;\nSubject: two\n\nhello\n' "$FROM_A" >"$D/rest.complete"
# -t: recipients from To/Cc/Bcc, Bcc removed
printf 'From: %s@%s\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <t@b.test>\nTo: %s@%s\nBcc: %s@%s\nSubject: t\n\nbcc\n' \
  "$A" "$ME" "$B" "$ME" "$A" "$ME" >"$D/inj.bcc"
grep -v '^Bcc:' "$D/inj.bcc" >"$D/rest.bcc"
# -f: envelope sender, also the From address (without a name)
printf 'Subject: f\n\nsender\n' >"$D/inj.sender"
printf 'From: list@%s\nCc: recipient list not shown: ;\nSubject: f\n\nsender\n' "$ME" >"$D/rest.sender"
# an empty message gets a header and no body
: >"$D/inj.empty"
printf '%s\nCc: recipient list not shown: ;\n' "$FROM_A" >"$D/rest.empty"
# a header without a body, an empty line or a final newline
hdr headonly | head -c -1 >"$D/inj.headonly"
hdr headonly >"$D/rest.headonly"
# NUL bytes and CRs in the body
{ hdr nul; printf '\nbefore\0after\n\0\0\0\r\nmid\0\r\n\0'; printf '\n'; } >"$D/inj.nul"
# a NUL in a header field that is no address field is kept too
{ hdr $'nul\001in\033header' | sed 's/\x01/\x00/'; printf '\nbody\n'; } >"$D/inj.hdrnul"
cp "$D/inj.hdrnul" "$D/rest.hdrnul"
# CR LF line ends: the header's CRs are dropped, the body is kept as is
{ hdr crlf | sed 's/$/\r/'; printf '\r\nbody\r\nline\r\n'; } >"$D/inj.crlf"
{ hdr crlf; printf '\nbody\r\nline\r\n'; } >"$D/rest.crlf"
# a 1 MB line
{ hdr longline; printf '\n'; head -c 1048576 /dev/zero | tr '\0' x; printf '\nshort\n'; } >"$D/inj.longline"
cp "$D/inj.plain" "$D/rest.plain"
cp "$D/inj.nul" "$D/rest.nul"
cp "$D/inj.longline" "$D/rest.longline"
chmod 0644 "$D"/*

ok inst_start ./Maildir/

# ---- Maildir ---------------------------------------------------------------
run $A "$SM" "$A@$ME" <"$D/inj.plain"
is "$rc.$err" "0." "sendmail: exit 0, silent"
check_md plain $A "$A@$ME" plain

run $A "$INJ" "$B" <"$D/inj.complete"
is "$rc.$err" "0." "qmail-inject: exit 0, silent"
check_md complete $B "$A@$ME" complete "${COMPLETED[@]}"

run $A "$SM" -t -i <"$D/inj.bcc"
is "$rc" 0 "sendmail -t: exit 0"
check_md bcc $B "$A@$ME" bcc
check_md bcc-copy $A "$A@$ME" bcc

run $A "$SM" -f "list@$ME" "$B@$ME" <"$D/inj.sender"
is "$rc" 0 "sendmail -f: exit 0"
check_md sender $B "list@$ME" sender "${COMPLETED[@]}"

run $A "$SM" $A <"$D/inj.empty"
is "$rc.$err" "0." "empty message: exit 0"
check_md empty $A "$A@$ME" empty "${COMPLETED[@]}"

run $A "$INJ" -a "$B@$ME" <"$D/inj.headonly"
is "$rc" 0 "headers only: exit 0"
check_md headonly $B "$A@$ME" headonly

run $A "$SM" "$A@$ME" <"$D/inj.nul"
is "$rc" 0 "NUL bytes: exit 0"
check_md nul $A "$A@$ME" nul

run $A "$SM" -t <"$D/inj.hdrnul"
is "$rc" 0 "NUL byte in Subject: exit 0"
check_md hdrnul $A "$A@$ME" hdrnul

run $A "$INJ" <"$D/inj.crlf"
is "$rc" 0 "CR LF line ends: exit 0"
check_md crlf $A "$A@$ME" crlf

run $A "$INJ" "$B@$ME" <"$D/inj.longline"
is "$rc" 0 "1 MB line: exit 0"
check_md longline $B "$A@$ME" longline

# 20 MB, cut in the middle of a line: qmail-inject adds the final newline
{ hdr big; printf '\n'; yes 'twenty megabytes of text, line after line, 0123456789' | head -c 20971520; } >"$D/inj.big"
{ cat "$D/inj.big"; printf '\n'; } >"$D/rest.big"
chmod 0644 "$D/inj.big"
t0=$EPOCHREALTIME
run $A "$SM" "$A@$ME" <"$D/inj.big"
is "$rc" 0 "20 MB message: exit 0"
check_md big $A "$A@$ME" big
t_diag "20 MB message: injected and delivered in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.2f", b-a}') s"
rm -f "$D/inj.big" "$D/rest.big"

# ---- refused input ----------------------------------------------------------
printf 'Subject: bad\n\nbad\n' >"$D/inj.bad"
chmod 0644 "$D/inj.bad"
refused "unbalanced <" 'unbalanced <> in recipient address' $A "$SM" "<$A@$ME" <"$D/inj.bad"
refused "unbalanced >" 'unbalanced <> in recipient address' $A "$INJ" "$A@$ME>" <"$D/inj.bad"
refused "unbalanced < in -f" 'unbalanced <> in sender address' $A "$SM" -f "<x@$ME" "$A@$ME" <"$D/inj.bad"
printf 'To: <%s@%s\nSubject: u\n\nb\n' "$A" "$ME" >"$D/inj.unbal"
chmod 0644 "$D/inj.unbal"
refused "unbalanced < in To with -t" 'unable to parse header field To' $A "$SM" -t <"$D/inj.unbal"
printf 'To: %s\0x@%s\nSubject: u\n\nb\n' "$A" "$ME" >"$D/inj.nulto"
chmod 0644 "$D/inj.nulto"
refused "NUL byte in To with -t" 'unable to parse header field To' $A "$SM" -t <"$D/inj.nulto"
refused "control character" 'recipient address contains control characters' $A "$SM" $'x\001y@b.test' <"$D/inj.bad"
refused "newline" 'recipient address contains control characters' $A "$INJ" $'x\nnew msg 1@b.test' <"$D/inj.bad"
long=$(head -c 1001 /dev/zero | tr '\0' a)
refused "address over 1000 bytes" 'address longer than 1000 bytes' $A "$SM" "$long@$ME" <"$D/inj.bad"
refused "address over 1000 bytes in To" 'address longer than 1000 bytes' $A "$SM" -t < <(printf 'To: %s@%s\n\nx\n' "$long" "$ME")
refused "no recipients (sendmail)" 'no recipients' $A "$SM" <"$D/inj.bad"
refused "no recipients (sendmail -t)" 'no recipients' $A "$SM" -t <"$D/inj.bad"
refused "no recipients (qmail-inject)" 'no recipients' $A "$INJ" <"$D/inj.bad"
refused "header field over 1 MB" 'header field longer than 1048576 bytes' $A "$SM" "$A@$ME" \
  < <(printf 'Subject: '; head -c 1100000 /dev/zero | tr '\0' a; printf '\n\nbody\n')

ok wait_for 30 queue_empty
is "$(find "$(home_of $A)/Maildir/tmp" "$(home_of $B)/Maildir/tmp" -type f | wc -l)" 0 "no files left in Maildir/tmp"
is "$("$Q/bin/qmail-qstat")" $'messages in queue: 0\nmessages in queue but not yet preprocessed: 0' "qmail-qstat: 0/0"

# ---- mbox -------------------------------------------------------------------
ok inst_stop
ok inst_start ./Mailbox
ends=$(inst_log | grep -c '^end msg')
mbox() { # NAME USER SENDER [DYN...] -- CMD...
  local name=$1 u=$2 s=$3 dyn=()
  shift 3
  while [ "$1" != -- ]; do dyn+=("$1"); shift; done
  shift
  run $A "$@" <"$D/inj.$name"
  is "$rc.$err" "0." "mbox $name: injected"
  ends=$((ends + 1))
  check_mbox "mbox-$name" "$u" "$s" "$name" "${dyn[@]}"
}
mbox plain $A "$A@$ME" -- "$SM" "$A@$ME"
mbox complete $B "$A@$ME" "${COMPLETED[@]}" -- "$INJ" "$B@$ME"
mbox headonly $B "$A@$ME" -- "$INJ" -a "$B@$ME"
mbox nul $A "$A@$ME" -- "$SM" "$A@$ME"
mbox longline $B "$A@$ME" -- "$SM" "$B@$ME"
mbox empty $A "$A@$ME" "${COMPLETED[@]}" -- "$SM" "$A"

ok wait_for 30 queue_empty
is "$("$Q/bin/qmail-qstat")" $'messages in queue: 0\nmessages in queue but not yet preprocessed: 0' "qmail-qstat: 0/0 after mbox"
ok inst_stop
is "$(inst_log | grep -E 'ERROR: AddressSanitizer|runtime error|^alert:' | head -n 3)" "" "no sanitizer errors or alerts in the log"
t_done
