#!/bin/bash
# qmail-send: preprocessing, local deliveries, log lines, retries on
# SIGALRM, control rereads on SIGHUP, bounces (normal, double, triple),
# queuelifetime, VERP, archiveaddress, the single-instance lock, SIGTERM;
# then report handling that real spawners cannot produce, against the
# fake spawners in tests/e2e/fakes.
. "$(dirname "$0")/lib.sh"
t_init

ok inst_new s || t_done
if [ ! -x "$Q/bin/qmail-start" ] || [ ! -x "$Q/bin/qmail-local" ]; then
  t_skip 1 "the delivery programs are not built yet"
  t_done
fi
user_new alice
user_new bob
user_new carol
A=qtalice
HA=$(home_of $A)
HB=$(home_of qtbob)
HC=$(home_of qtcarol)
D=$T/data
mkdir -p "$D"
chmod 0755 "$D"
ME=s.test

# qq USER SENDER RCPT...: the message on stdin goes to qmail-queue as USER
# with exactly this envelope (qmail-inject would rewrite it)
qq() {
  local u=$1 s=$2 e=$D/env.$RANDOM
  shift 2
  { printf 'F%s\0' "$s"; printf 'T%s\0' "$@"; printf '\0'; } >"$e"
  chmod 0644 "$e"
  as_user "$u" "$Q/bin/qmail-queue" 1<"$e"
}
logged() { inst_log | grep -q -- "$1"; }
# the id qmail-send logged for the message whose sender line matches
newest_file() { ls -t "$1"/new/* 2>/dev/null | head -n 1; }
all_new() { cat "$1"/new/* 2>/dev/null; }

ok inst_start ./Maildir/

# ---- a plain local delivery and its log lines ------------------------------
printf 'Subject: one\n\nfirst message\n' | qq $A "$A@$ME" "$A@$ME"
ok wait_for 20 eval '[ "$(maildir_count "$HA/Maildir")" = 1 ]'
ok wait_for 10 logged "end msg"
log=$(inst_log)
id=$(sed -n 's/^new msg \([0-9]*\)$/\1/p' <<<"$log" | head -n 1)
like "$id" '^[0-9]+$' "new msg <id>"
like "$log" "info msg $id: bytes [0-9]+ from <$A@$ME> qp [0-9]+ uid $(id -u $A)" "info msg line"
like "$log" "starting delivery 1: msg $id to local $A@$ME" "starting delivery line"
like "$log" "delivery 1: success: did_[0-9]\\+[0-9]\\+[0-9]/" "delivery success line, sanitised"
like "$log" "status: local 1/50 remote 0/20" "status after the start"
like "$log" "end msg $id" "end msg"
ok wait_for 10 eval '[ -z "$(find "$Q/queue/mess" "$Q/queue/info" "$Q/queue/local" "$Q/queue/todo" -type f)" ]'

# ---- unknown user: a bounce goes back to the sender -------------------------
printf 'Subject: to nobody\n\nbounce me\n' | qq $A "$A@$ME" "nosuchuser@$ME"
ok wait_for 20 eval '[ "$(maildir_count "$HA/Maildir")" = 2 ]'
b=$(newest_file "$HA/Maildir")
m=$(cat "$b")
like "$m" "From: MAILER-DAEMON@$ME" "bounce: From"
like "$m" "Subject: failure notice" "bounce: Subject"
like "$m" "Return-Path: <>" "bounce: empty envelope sender"
like "$m" "Hi. This is the qmail-send program at $ME\\." "bounce: QSBMF opening"
like "$m" "<nosuchuser@$ME>:"$'\n' "bounce: recipient paragraph"
like "$m" "--- Below this line is a copy of the message."$'\n\n'"Return-Path: <$A@$ME>" "bounce: separator and Return-Path"
like "$m" "bounce me" "bounce: original body included"
like "$(inst_log)" "delivery [0-9]+: failure: " "failure logged"
like "$(inst_log)" "bounce msg [0-9]+ qp [0-9]+" "bounce msg logged"

# ---- double bounce to the postmaster, triple bounce dropped ----------------
PM=$Q/alias/Maildir
n0=$(maildir_count "$PM")
printf 'Subject: bounce of a bounce\n\nnobody wants me\n' | qq $A "" "nosuchuser@$ME"
ok wait_for 20 eval '[ "$(maildir_count "$PM")" -gt '"$n0"' ]'
m=$(all_new "$PM")
like "$m" "To: postmaster@$ME" "double bounce: To postmaster"
like "$m" "Return-Path: <#@\\[\\]>" "double bounce: sender #@[]"
like "$m" "--- Below this line is the original bounce." "double bounce: separator"
printf 'Subject: triple\n\nx\n' | qq $A "#@[]" "nosuchuser@$ME"
ok wait_for 20 logged "triple bounce: discarding bounce/"

# ---- SIGALRM: a deferred delivery is retried at once ------------------------
rm -rf "$HB/Maildir/tmp"
printf 'Subject: later\n\ndeferred\n' | qq $A "$A@$ME" "qtbob@$ME"
ok wait_for 20 logged "deferral: "
is "$(maildir_count "$HB/Maildir")" 0 "nothing delivered while tmp/ is missing"
ok test -n "$(find "$Q/queue/local" -type f)"
# the next attempt is written as the local file's mtime, in the future
f=$(find "$Q/queue/local" -type f | head -n 1)
ok test "$(stat -c %Y "$f")" -gt "$(date +%s)"
mkdir -m 0700 "$HB/Maildir/tmp" && chown qtbob: "$HB/Maildir/tmp"
ok svc -a "$Q/supervise/qmail-send"
ok wait_for 20 eval '[ "$(maildir_count "$HB/Maildir")" = 1 ]'

# ---- VERP ---------------------------------------------------------------------
printf 'Subject: verp\n\nv\n' | qq $A "list-@$ME-@[]" "qtbob@$ME"
ok wait_for 20 eval '[ "$(maildir_count "$HB/Maildir")" = 2 ]'
like "$(cat "$(newest_file "$HB/Maildir")")" "Return-Path: <list-qtbob=$ME@$ME>" "VERP sender expanded"

# ---- SIGHUP rereads control files ---------------------------------------------
echo other.test >>"$Q/control/locals"
ok svc -h "$Q/supervise/qmail-send"
ok wait_for 10 logged "status: control files reread"
printf 'Subject: other\n\no\n' | qq $A "$A@$ME" "qtcarol@other.test"
ok wait_for 20 eval '[ "$(maildir_count "$HC/Maildir")" = 1 ]'
like "$(inst_log)" "to local qtcarol@other.test" "new locals entry used after HUP"

# ---- archiveaddress: a copy of everything, failures never bounce ---------------
echo "qtcarol@$ME" >"$Q/control/archiveaddress"
ok svc -h "$Q/supervise/qmail-send"
ok wait_for 10 eval '[ "$(inst_log | grep -c "control files reread")" = 2 ]'
printf 'Subject: archived\n\na\n' | qq $A "$A@$ME" "qtbob@$ME"
ok wait_for 20 eval '[ "$(maildir_count "$HC/Maildir")" = 2 ]'
ok wait_for 20 eval '[ "$(maildir_count "$HB/Maildir")" = 3 ]'
echo "nosucharchive@$ME" >"$Q/control/archiveaddress"
ok svc -h "$Q/supervise/qmail-send"
ok wait_for 10 eval '[ "$(inst_log | grep -c "control files reread")" = 3 ]'
na=$(maildir_count "$HA/Maildir")
printf 'Subject: archived badly\n\nb\n' | qq $A "$A@$ME" "qtbob@$ME"
ok wait_for 20 eval '[ "$(maildir_count "$HB/Maildir")" = 4 ]'
ok wait_for 20 logged "to local nosucharchive@$ME"
ok wait_for 20 eval '[ "$(inst_log | grep -c "^end msg")" -ge 9 ]'
sleep 1
is "$(maildir_count "$HA/Maildir")" "$na" "a failing archive copy does not bounce"
rm -f "$Q/control/archiveaddress"

# ---- queuelifetime: deferral past the lifetime becomes a bounce ----------------
echo 1 >"$Q/control/queuelifetime"
ok svc -h "$Q/supervise/qmail-send"
ok wait_for 10 eval '[ "$(inst_log | grep -c "control files reread")" = 4 ]'
rm -rf "$HB/Maildir/tmp"
na=$(maildir_count "$HA/Maildir")
nd=$(inst_log | grep -c "deferral: ")
printf 'Subject: too old\n\nold\n' | qq $A "$A@$ME" "qtbob@$ME"
ok wait_for 20 eval '[ "$(inst_log | grep -c "deferral: ")" -gt '"$nd"' ]'
sleep 2.2
ok svc -a "$Q/supervise/qmail-send"
ok wait_for 20 eval '[ "$(maildir_count "$HA/Maildir")" -gt '"$na"' ]'
m=$(cat "$(newest_file "$HA/Maildir")")
like "$m" "<qtbob@$ME>:" "lifetime bounce names the recipient"
like "$m" "in the queue longer than queuelifetime" "lifetime sentence"
mkdir -m 0700 "$HB/Maildir/tmp" && chown qtbob: "$HB/Maildir/tmp"
rm -f "$Q/control/queuelifetime"

# ---- preprocessed messages wait for one sync before their todo entries go ----
# (qmail-send(8): deliveries start at once; the todo entry, the durable
# record, goes after a syncfs within about 0.2 s)
idof() { inst_log | sed -n "s/^info msg \([0-9]*\): .* from <$1> .*/\1/p" | tail -n 1; }
# "new msg" lines for id $1 after log line $2 (inode numbers, and so ids, come back)
newmsgs() { inst_log | tail -n +"$(($2 + 1))" | grep -c "^new msg $1\$"; }
rm -rf "$HB/Maildir/tmp"
l0=$(inst_log | wc -l)
nb=$(maildir_count "$HB/Maildir") na=$(maildir_count "$HA/Maildir")
nd=$(inst_log | grep -c "deferral: ")
printf 'Subject: waits\n\nw\n' | qq $A "w1@$ME" "qtbob@$ME"
ok wait_for 20 eval '[ "$(inst_log | grep -c "deferral: ")" -gt '"$nd"' ]'
# another message pulls the trigger: the todo pass skips the first one
printf 'Subject: next\n\nn\n' | qq $A "w2@$ME" "$A@$ME"
ok wait_for 20 eval '[ "$(maildir_count "$HA/Maildir")" -gt '"$na"' ]'
w1=$(idof "w1@$ME")
is "$(newmsgs "$w1" "$l0")" 1 "a message waiting for its sync is preprocessed once"
ok wait_for 10 eval '[ -z "$(find "$Q/queue/todo" -type f)" ]'
ok test -f "$Q/queue/info/$((w1 % 23))/$w1"
ok test -f "$Q/queue/local/$((w1 % 23))/$w1"
# svc -d at once: the last sync happens before qmail-send exits, and the
# next start does not preprocess the message again
l3=$(inst_log | wc -l)
printf 'Subject: term\n\nt\n' | qq $A "w3@$ME" "qtbob@$ME"
ok wait_for 20 eval '[ -n "$(idof "w3@$ME")" ]'
svc -d "$Q/supervise/qmail-send"
ok wait_for 20 _t_svc_down "$Q/supervise/qmail-send"
w3=$(idof "w3@$ME")
is "$(find "$Q/queue/todo" -type f | wc -l)" 0 "stopped: no todo entry left"
ok test -f "$Q/queue/info/$((w3 % 23))/$w3"
ok test -f "$Q/queue/local/$((w3 % 23))/$w3"
lines=$(inst_log | wc -l)
ok svc -u "$Q/supervise/qmail-send"
ok wait_for 10 eval 'inst_log | tail -n +'"$((lines + 1))"' | grep -q "^status: local"'
# a crash while a message waits: its todo entry is preprocessed again, and
# nothing is lost (a repeated delivery is allowed)
printf 'Subject: crash\n\nc\n' | qq $A "w4@$ME" "qtbob@$ME"
ok wait_for 20 eval '[ -n "$(idof "w4@$ME")" ]'
p=$(svstat "$Q/supervise/qmail-send" | sed -n 's/.*: up (pid \([0-9]*\)).*/\1/p')
ok kill -KILL "$p"
ok wait_for 20 eval 'svstat "$Q/supervise/qmail-send" | grep -q "up (pid" && ! svstat "$Q/supervise/qmail-send" | grep -q "(pid $p)"'
sleep 1
mkdir -m 0700 "$HB/Maildir/tmp" && chown qtbob: "$HB/Maildir/tmp"
ok svc -a "$Q/supervise/qmail-send"
ok wait_for 20 eval '[ "$(maildir_count "$HB/Maildir")" -ge '"$((nb + 3))"' ]'
ok wait_for 20 eval '[ -z "$(find "$Q/queue/mess" "$Q/queue/info" "$Q/queue/local" "$Q/queue/todo" -type f)" ]'
is "$(newmsgs "$w3" "$l3")" 1 "the stopped one was not preprocessed again"
got=$(cat "$HB"/Maildir/new/* | grep -c '^Subject: \(waits\|term\|crash\)$')
ok test "$got" -ge 3

# ---- the trigger names the todo subdirectory to read --------------------------
# (a hint: two bytes; anything else, qmail's single byte among them, and
# every todo/N is read)
TR=$Q/queue/lock/trigger
pull() { printf "$1" >"$TR"; }
na=$(maildir_count "$HA/Maildir")
mv "$TR" "$TR.off"
printf 'Subject: untold\n\nu\n' | qq $A "$A@$ME" "$A@$ME"
mv "$TR.off" "$TR"
t=$(find "$Q/queue/todo" -type f | head -n 1)
n=$(basename "$(dirname "$t")")
o=$(( (n + 1) % 23 ))
pull "$(printf '\\%03o\\%03o' $((0xc0 | (o >> 6))) $((0x80 | (o & 63))))"
sleep 2
is "$(maildir_count "$HA/Maildir")" "$na" "a hint for todo/$o leaves todo/$n unread"
pull '\0'
ok wait_for 10 eval '[ "$(maildir_count "$HA/Maildir")" -gt '"$na"' ]'
# a todo entry that could not be read is read again in the next pass,
# whatever that pass's hints
na=$(maildir_count "$HA/Maildir")
mv "$TR" "$TR.off"
printf 'Subject: unreadable\n\nr\n' | qq $A "$A@$ME" "$A@$ME"
mv "$TR.off" "$TR"
t=$(find "$Q/queue/todo" -type f | head -n 1)
chmod 0 "$t"
pull '\0'
ok wait_for 10 eval 'inst_log | grep -q "unable to open todo/.*/${t##*/}"'
chmod 0644 "$t"
printf 'Subject: after\n\na\n' | qq $A "w5@$ME" "$A@$ME"
ok wait_for 10 eval '[ "$(maildir_count "$HA/Maildir")" -ge '"$((na + 2))"' ]'

# ---- a second qmail-send refuses to start ---------------------------------------
rc=0
(cd / && "$Q/bin/qmail-send" 0>"$D/second.log" 1>/dev/null 2>/dev/null) || rc=$?
is "$rc" 111 "second qmail-send exits 111"
like "$(cat "$D/second.log")" "alert: cannot start: qmail-send is already running" "second qmail-send alert"

# ---- SIGTERM -------------------------------------------------------------------
ok inst_stop
# (other programs' sanitizer reports may follow in the log)
like "$(inst_log | grep -E '^(status|alert):' | tail -n 1)" "^status: exiting$" "status: exiting on svc -d"
# idle, qmail-send logs only that, as qmail's does
nok eval 'inst_log | grep -E "^status:" | tail -n 2 | grep -q exitasap'
is "$(inst_log | grep -E 'ERROR: AddressSanitizer|runtime error' | head -n 3)" "" "no sanitizer errors"

# ---- mail queued while qmail-send was down goes out as soon as it starts ------
na=$(maildir_count "$HA/Maildir")
printf 'Subject: while down\n\nqueued with qmail-send stopped\n' | "$Q/bin/qmail-inject" "$A@$ME"
ok test -n "$(find "$Q/queue/todo" -type f)"
ok svc -u "$Q/supervise/qmail-send"
# well within the 25 minutes of the todo timer, and without any trigger
ok wait_for 15 eval '[ "$(maildir_count "$HA/Maildir")" -gt '"$na"' ]'
ok inst_stop

# ---- a preprocessing pass that a crash cut short ------------------------------
# it left info, local, remote and bounce files of the message, naming other
# recipients: they go, and the message goes to its own recipient only
na=$(maildir_count "$HA/Maildir") nb=$(maildir_count "$HB/Maildir")
printf 'Subject: cut short\n\nleftovers\n' | qq $A "$A@$ME" "$A@$ME"
t=$(find "$Q/queue/todo" -type f | head -n 1)
id=${t##*/} n=$((${t##*/} % 23))
printf 'Fstale@elsewhere.test\0' >"$Q/queue/info/$n/$id"
printf 'Tqtbob@%s\0' "$ME" >"$Q/queue/local/$n/$id"
printf 'Tsomeone@elsewhere.test\0' >"$Q/queue/remote/$n/$id"
printf '<someone@elsewhere.test>:\nstale\n\n' >"$Q/queue/bounce/$id"
chown "$(stat -c %U:%G "$Q/queue/info/$n")" "$Q/queue/info/$n/$id" "$Q/queue/local/$n/$id" \
  "$Q/queue/remote/$n/$id" "$Q/queue/bounce/$id"
lines=$(inst_log | wc -l)
ok svc -u "$Q/supervise/qmail-send"
ok wait_for 15 eval '[ "$(maildir_count "$HA/Maildir")" -gt '"$na"' ]'
ok wait_for 10 eval 'inst_log | tail -n +'"$((lines + 1))"' | grep -q "end msg $id"'
log=$(inst_log | tail -n +$((lines + 1)))
like "$log" "starting delivery [0-9]+: msg $id to local $A@$ME" "after a cut-short pass: delivered to its recipient"
nok grep -q "msg $id to remote\|msg $id to local qtbob\|bounce msg $id" <<<"$log"
is "$(maildir_count "$HB/Maildir")" "$nb" "the leftover local file's recipient got nothing"
is "$(maildir_count "$HA/Maildir")" "$((na + 1))" "and the sender no bounce"
is "$(find "$Q/queue" -path '*/'"$id" -type f | wc -l)" 0 "no file of the message is left"
ok inst_stop

# ---- fake spawners: mangled reports, restart keeps the schedule, bounce retry ---
F=$(dirname "$0")/fakes
FH=$T/fh
ok "$F/mkqueue.sh" "$FH"
if ok make -s -C "$_T_REPO" SAN=1 BUILD="$_T_BUILD" O="$T/fbin" QMAILHOME="$FH" \
  PROGS=qmail-send SCRIPTS= progs; then
  cp "$F/fake-qmail-queue.py" "$FH/bin/qmail-queue"
  echo fake.test >"$FH/control/me"
  echo fake.test >"$FH/control/locals"
  echo "virt.test:v1" >"$FH/control/virtualdomains"
  FL=$T/fake.log
  # the fake qmail-clean: its requests logged, its answers held back or a
  # todo removal failed on demand (fakes/fake-clean.py)
  export CLEAN_LOG=$T/clean.log CLEAN_HOLD=$T/clean.hold CLEAN_FAILTODO=$T/clean.failtodo
  fstart() { python3 "$F/fake-start.py" "$T/fbin/qmail-send" "$FH" "$FL" & }
  # signals go to our own qmail-send by pid
  fsend() { kill -"$1" "$(pgrep -xf "$T/fbin/qmail-send")"; }
  flogged() { grep -q -- "$1" "$FL"; }
  fsince() { tail -n +"$(($1 + 1))" "$FL" | grep -q -- "$2"; }
  fq() { python3 "$F/fake-inject.py" "$FH" "$@" </dev/null >/dev/null; }
  fstart
  ok wait_for 10 flogged "status: local 0/10 remote 0/20"
  fq s@x.test mangle@fake.test ok@remote.test x@virt.test defer@fake.test fail@fake.test
  ok wait_for 10 flogged "report mangled, will defer"
  ok wait_for 10 flogged "to remote ok@remote.test"
  ok wait_for 10 flogged "to local v1-x@virt.test"
  ok wait_for 10 flogged "failure: Sorry,_no_mailbox"
  ok wait_for 10 eval '[ "$(grep -c "deferral: " "$FL")" = 1 ]'
  ok wait_for 10 eval '[ "$(grep -c "^status: local 0/10 remote 0/20" "$FL")" -ge 2 ]'
  lf=$(find "$FH/queue/local" -type f)
  id=$(basename "$lf")
  sched=$(stat -c %Y "$lf")
  ok test "$sched" -gt "$(date +%s)"
  # a restart keeps the schedule: nothing is retried before its time
  fsend TERM
  ok wait_for 10 flogged "status: exiting"
  n=$(wc -l <"$FL")
  fstart
  ok wait_for 10 fsince "$n" "status: local 0/10 remote 0/20"
  sleep 1
  is "$(grep -c 'to local mangle@fake.test' "$FL")" 1 "restart: no early retry"
  is "$(stat -c %Y "$lf")" "$sched" "restart: schedule kept in the mtime"
  # past queuelifetime both end; the bounce cannot be queued at first:
  # bounce/<id> stays and is retried, never lost
  echo 53 >"$FH/bin/qmail-queue.exit"
  echo 0 >"$FH/control/queuelifetime"
  fsend HUP
  ok wait_for 10 flogged "control files reread"
  fsend ALRM
  ok wait_for 10 flogged "trouble injecting bounce message, will try later"
  ok test -f "$FH/queue/bounce/$id"
  ok test -f "$FH/queue/info/$((id % 23))/$id"
  rm -f "$FH/bin/qmail-queue.exit"
  fsend ALRM
  ok wait_for 10 flogged "bounce msg $id"
  ok wait_for 10 flogged "end msg $id"
  m=$(cat "$FH/injected/1.msg")
  like "$m" "<mangle@fake.test>:"$'\n'"The delivery report was unreadable." "fake bounce: mangled report"
  like "$m" "<defer@fake.test>:" "fake bounce: deferred past lifetime"
  like "$m" "<fail@fake.test>:"$'\n'"Sorry, no mailbox" "fake bounce: permanent failure"
  is "$(tr '\0' '|' <"$FH/injected/1.env")" "F|Ts@x.test||" "fake bounce envelope"
  ok wait_for 10 eval '[ -z "$(find "$FH/queue" -type f ! -name sendmutex)" ]'
  # Ids are inode numbers.  Once qmail-clean has removed a finished
  # message's files, a new message may get its id before qmail-send reads
  # the answer; the todo pass skips it as the old one's, and must read it
  # again when the answer comes, not at the 25-minute pass (a run of
  # bench/inject-local met it: one message sat in todo/)
  # (ids come back: every wait looks only past the lines logged before)
  : >"$CLEAN_HOLD"
  n=$(wc -l <"$FL")
  x=$(python3 "$F/fake-inject.py" "$FH" s@x.test reuse1@fake.test </dev/null)
  ok wait_for 10 fsince "$n" "end msg $x"
  ok wait_for 10 eval '[ ! -e "$FH/queue/mess/$((x % 23))/$x" ]'
  ID=$x fq s@x.test reuse2@fake.test
  sleep 1
  rm -f "$CLEAN_HOLD"
  ok wait_for 15 fsince "$n" "to local reuse2@fake.test"
  ok wait_for 10 eval '[ "$(tail -n +'"$((n + 1))"' "$FL" | grep -c "^end msg $x\$")" = 2 ]'
  # nor may a todo removal that failed and waits for its retry follow the
  # message's foop: by then the id may be a new message's
  : >"$CLEAN_FAILTODO"
  n=$(wc -l <"$FL") c=$(wc -l <"$CLEAN_LOG")
  x=$(python3 "$F/fake-inject.py" "$FH" s@x.test slow1@fake.test </dev/null)
  ok wait_for 10 fsince "$n" "qmail-clean unable to clean up todo/$x, will retry"
  ok wait_for 10 fsince "$n" "end msg $x"
  ok wait_for 10 eval 'tail -n +'"$((c + 1))"' "$CLEAN_LOG" | grep -qx "foop/$x"'
  fsend ALRM
  sleep 1
  is "$(tail -n +"$((c + 1))" "$CLEAN_LOG" | sed -n "/^foop\/$x\$/,\$p" | grep -c "^todo/$x\$")" 0 \
    "no todo/ request for an id after its foop/"
  ok wait_for 10 eval '[ -z "$(find "$FH/queue" -type f ! -name sendmutex)" ]'
  fsend TERM
  ok wait_for 10 eval '[ "$(grep -c "status: exiting" "$FL")" = 2 ]'
  is "$(grep -E 'ERROR: AddressSanitizer|runtime error' "$FL" | head -n 3)" "" "fake run: no sanitizer errors"
fi

t_done
