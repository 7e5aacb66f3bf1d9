#!/bin/bash
# Crash test: 200 messages injected by parallel injectors while qmail-send
# (the supervised process: supervise restarts it) and qmail-local
# processes are killed with SIGKILL at random moments.  Afterwards the
# instance runs (with svc -a to retry deferred deliveries at once) until
# the queue is empty; then every accepted message must have been
# delivered.  Duplicates are allowed and reported: a qmail-local killed
# after its link into new/ but before its report is retried.  Files a
# killed qmail-local left in Maildir/tmp stay there (nobody removes them:
# by the Maildir convention readers delete tmp files older than 36 h);
# any other file in tmp/ is an error.
. "$(dirname "$0")/lib.sh"
t_init

ok inst_new c || t_done
user_new "cr$$a"
user_new "cr$$b"
A=qtcr$$a
B=qtcr$$b
HA=$(home_of $A)
HB=$(home_of $B)
D=$T/data
mkdir -p "$D"
chmod 0755 "$D"
N=${CRASH_N:-200}
INJECTORS=4
SV=$Q/supervise/qmail-send

ok inst_start ./Maildir/
# a program delivery that takes a while, so that the killer catches
# qmail-locals at work: before the Maildir (a kill there delivers
# nothing; the retry does) and after it (a kill there is a duplicate)
printf '|sleep 0.05\n./Maildir/\n' >"$HA/.qmail"
printf './Maildir/\n|sleep 0.05\n' >"$HB/.qmail"
chown "$A" "$HA/.qmail"
chown "$B" "$HB/.qmail"
chmod 0644 "$HA/.qmail" "$HB/.qmail"

# the pid of our qmail-send (supervise's child after qmail-start's exec)
send_pid() {
  local p
  p=$(svstat "$SV" 2>/dev/null | sed -n 's/.*: up (pid \([0-9]*\)).*/\1/p')
  [ -n "$p" ] && [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$Q/bin/qmail-send" ] && echo "$p"
}
# local deliveries of this instance: qmail-lspawn's children, named
# qmail-local (pgrep only proposes candidates; each is checked by its
# executable before it is killed, by pid)
local_pids() {
  local p
  for p in $(pgrep -x qmail-local); do
    [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$Q/bin/qmail-lspawn" ] && echo "$p"
  done
}

# message i; every tenth is 2 MB, so that some qmail-locals live long
# enough to be caught
msg() {
  printf 'Subject: crash-%d\n\nmessage %d of the crash test\n' "$1" "$1"
  (($1 % 10)) || head -c 2097152 "$D/filler"
}
yes 'filler line of the crash test, 0123456789 abcdefghijklmnopqrstuvwxyz' | head -c 2097152 >"$D/filler"

# injector J: messages J, J+INJECTORS, ...; message i goes to A or B, via
# qmail-inject or sendmail; a failed injection is retried (and counted)
injector() {
  local j=$1 i rc tries u prog
  for ((i = j; i <= N; i += INJECTORS)); do
    if ((i % 2)); then u=$A; else u=$B; fi
    if ((i % 3)); then prog=$Q/bin/qmail-inject; else prog=$Q/bin/sendmail; fi
    for ((tries = 1; tries <= 3; tries++)); do
      rc=0
      msg "$i" | as_user $A "$prog" "$u" 2>>"$D/inject.err" || rc=$?
      [ "$rc" = 0 ] && break
      echo "$i $rc" >>"$D/inject.fail.$j"
    done
    [ "$rc" = 0 ] && echo "$i" >>"$D/accepted.$j"
    # spread the injections so the kills land at many different moments
    sleep "0.$((RANDOM % 250))"
  done
}

# killer: until $D/stop exists, hunts qmail-local processes for a random
# 0.3-1.8 s (killing about half of those it sees), then kills qmail-send
killer() {
  local p end
  while [ ! -e "$D/stop" ]; do
    end=$(($(_t_now) + 300000 + RANDOM % 1500 * 1000))
    while [ "$(_t_now)" -lt "$end" ] && [ ! -e "$D/stop" ]; do
      for p in $(local_pids); do
        ((RANDOM % 2 == 0)) || continue
        kill -KILL "$p" 2>/dev/null && echo "$p" >>"$D/killed.local"
      done
      sleep 0.005
    done
    [ -e "$D/stop" ] && break
    p=$(send_pid) && kill -KILL "$p" 2>/dev/null && echo "$p" >>"$D/killed.send"
    # supervise restarts it (after at least a second)
    wait_for 20 send_pid
  done
}

start=$(date +%s)
touch -d @$((start - 1)) "$D/start"
killer &
kpid=$!
ipids=()
for ((j = 1; j <= INJECTORS; j++)); do
  injector "$j" &
  ipids+=($!)
done
for p in "${ipids[@]}"; do wait "$p"; done
touch "$D/stop"
wait "$kpid"
t_diag "storm took $(($(date +%s) - start)) s"

nsend=$(cat "$D/killed.send" 2>/dev/null | wc -l)
nlocal=$(cat "$D/killed.local" 2>/dev/null | wc -l)
t_diag "killed qmail-send $nsend times, qmail-local $nlocal times"
ok test "$nsend" -ge 3
ok test "$nlocal" -ge 1
nfail=$(cat "$D"/inject.fail.* 2>/dev/null | wc -l)
[ "$nfail" != 0 ] && t_diag "$nfail injections failed and were retried: $(cat "$D"/inject.fail.* | tr '\n' ' ')" &&
  t_diag "$(sort -u "$D/inject.err" | head -n 5)"
sort "$D"/accepted.* >"$D/accepted"
is "$(wc -l <"$D/accepted")" "$N" "all $N messages accepted by the injectors"

# let the instance work the queue off; SIGALRM retries what the killed
# qmail-locals deferred
ok wait_for 20 send_pid
queue_files() { find "$Q/queue" -type f ! -path "$Q/queue/lock/*"; }
# A qmail-send killed after it logged "end msg" and removed info/, before
# qmail-clean removed the message file, leaves that file behind: as in
# qmail, nothing names it any more, and qmail-send's sweep removes it
# after 36 hours.  Such files are counted and reported; any other file
# left in the queue is an error.
ended() { inst_log | grep -qx "end msg $1"; }
unexpected() {
  local f
  queue_files | while IFS= read -r f; do
    case $f in "$Q"/queue/mess/*) ended "${f##*/}" && continue ;; esac
    echo "$f"
  done
}
drained() {
  [ -z "$(unexpected)" ] && return 0
  svc -a "$SV"
  sleep 1
  return 1
}
t0=$(date +%s)
ok wait_for 150 drained
t_diag "queue drained $(($(date +%s) - t0)) s after the storm"
orphans=$(queue_files | wc -l)
[ "$orphans" != 0 ] && t_diag "$orphans message file(s) of ended messages left by a qmail-send killed between end msg and qmail-clean's work (the 36 h sweep removes them)"
is "$("$Q/bin/qmail-qstat")" "messages in queue: $orphans"$'\nmessages in queue but not yet preprocessed: 0' "qmail-qstat: only those, 0 not preprocessed"
is "$(unexpected)" "" "no other files left in the queue"

# every accepted message delivered, to the right user; duplicates reported
for h in "$HA" "$HB"; do
  find "$h/Maildir/new" "$h/Maildir/cur" -type f -exec grep -h -m 1 '^Subject: crash-' {} + |
    sed 's/^Subject: crash-//' | sort >"$D/got.$(basename "$h")"
done
# (comm wants the default collation, so no numeric sorts)
sort "$D/got.$A" "$D/got.$B" >"$D/got"
lost=$(comm -23 "$D/accepted" <(sort -u "$D/got") | tr '\n' ' ')
is "$lost" "" "no accepted message lost"
wrong=$( (grep -x '[0-9]*[02468]' "$D/got.$A"; grep -x '[0-9]*[13579]' "$D/got.$B") | tr '\n' ' ')
is "$wrong" "" "each message delivered to its own recipient"
dups=$(uniq -d "$D/got" | tr '\n' ' ')
t_diag "$(wc -l <"$D/got") files for $(sort -u "$D/got" | wc -l) messages; duplicates: ${dups:-none}"
# a duplicate one of whose copies was written by a qmail-local we killed:
# killed after its link into new/, before its report
bylocal=0
for i in $dups; do
  for f in $(grep -l -m 1 -x "Subject: crash-$i" "$HA"/Maildir/new/* "$HB"/Maildir/new/*); do
    p=$(basename "$f" | sed -n 's/^[0-9]*\.M[0-9]*P\([0-9]*\)Q.*/\1/p')
    if grep -qx "$p" "$D/killed.local" 2>/dev/null; then bylocal=$((bylocal + 1)); break; fi
  done
done
[ -n "$dups" ] && t_diag "of these, $bylocal from a qmail-local killed after its link into new/; the rest from deliveries in flight when qmail-send was killed (their reports were lost)"
extra=$(comm -13 "$D/accepted" <(sort -u "$D/got") | tr '\n' ' ')
is "$extra" "" "nothing delivered that was not injected"

# Maildir/tmp: only files of qmail-locals we killed (named ...P<pid>...)
bad=
ntmp=0
for f in "$HA"/Maildir/tmp/* "$HB"/Maildir/tmp/*; do
  [ -e "$f" ] || continue
  ntmp=$((ntmp + 1))
  p=$(basename "$f" | sed -n 's/^[0-9]*\.M[0-9]*P\([0-9]*\)Q.*/\1/p')
  grep -qx "$p" "$D/killed.local" 2>/dev/null || bad="$bad $(basename "$f")"
done
t_diag "$ntmp files left in Maildir/tmp by killed qmail-locals (nobody removes them; readers delete tmp files older than 36 h)"
is "$bad" "" "no other files in Maildir/tmp"
is "$(find "$HA/Maildir" "$HB/Maildir" -type f ! -newer "$D/start" | wc -l)" 0 "no Maildir files older than the run"

ok inst_stop
log=$(inst_log)
t_diag "log: $(grep -c '^starting delivery' <<<"$log") deliveries started, $(grep -c 'deferral' <<<"$log") deferrals, $(grep -c '^end msg' <<<"$log") end msg"
# deliveries whose result no log line reports: in flight when their
# qmail-send was killed (delivery numbers restart at 1 with each process)
inflight=$(awk '
  /^starting delivery [0-9]+: / { k = $3; sub(/:$/, "", k); if (k == 1) { lost += n; n = 0; split("", p) } p[k] = 1; n++ }
  /^delivery [0-9]+: / { k = $2; sub(/:$/, "", k); if (k in p) { delete p[k]; n-- } }
  END { print lost + n }' <<<"$log")
t_diag "$inflight deliveries were in flight when qmail-send was killed; $(($(wc -l <"$D/got") - $(sort -u "$D/got" | wc -l))) extra copies delivered"
# qmail-send writes end msg out before it removes info/: never lost
ok test "$(grep -c '^end msg' <<<"$log")" -ge "$N"
is "$(grep -E 'ERROR: AddressSanitizer|runtime error' <<<"$log" | head -n 3)" "" "no sanitizer errors in the log"
t_done
