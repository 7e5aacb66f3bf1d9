#!/bin/bash
# Latency: `echo hi | sendmail user` run by an ordinary user lands in the
# user's ~/Maildir/new at once, 20 times in a row (the issue asks for
# under a second; the bound here is 3 s for a loaded machine and the
# sanitizer build, and the measured figures are printed), and qmail-send
# logs new msg, info msg, starting delivery, delivery N: success and end
# msg for each message, with matching ids.
. "$(dirname "$0")/lib.sh"
t_init

ok inst_new l || t_done
user_new "la$$a"
user_new "la$$b"
A=qtla$$a
B=qtla$$b
HB=$(home_of $B)
ROUNDS=20
BOUND_MS=3000

ok inst_start ./Maildir/

# the queue id's pid (Received line) of each message, in order
qps=()
lat=()
slow=0
# a pipe nobody writes to: read -t on it sleeps without a fork
exec {SLP}<> <(:)
for ((i = 1; i <= ROUNDS; i++)); do
  t0=$(_t_now)
  printf 'Subject: lat-%d\n\nhi\n' "$i" | as_user $A "$Q/bin/sendmail" $B
  rc=$?
  # poll with builtins only, so the measurement is not dominated by forks
  f=
  while :; do
    for f in "$HB"/Maildir/new/*; do :; done
    [ -e "$f" ] && break
    [ $(($(_t_now) - t0)) -gt 30000000 ] && break
    read -r -t 0.002 -u "$SLP" || :
  done
  t1=$(_t_now)
  ms=$(((t1 - t0) / 1000))
  if [ "$rc" != 0 ] || [ ! -e "$f" ]; then
    _t_result 1 "message $i: sendmail exit $rc, delivered: $([ -e "$f" ] && echo yes || echo no)"
    continue
  fi
  lat+=("$ms")
  [ "$ms" -gt "$BOUND_MS" ] && slow=$((slow + 1))
  # file name appears at link time; the content is complete by then
  s=$(sed -n 's/^Subject: //p' "$f")
  q=$(sed -n 's/^Received: (qmail \([0-9]*\) invoked by uid [0-9]*); .*/\1/p' "$f")
  if [ "$s" != "lat-$i" ] || [ -z "$q" ]; then
    _t_result 1 "message $i: delivered file has Subject '$s', qp '$q'"
  fi
  qps+=("$q")
  mv "$f" "$HB/Maildir/cur/"
done
is "${#lat[@]}" "$ROUNDS" "$ROUNDS messages delivered one after the other"
is "$slow" 0 "every delivery within ${BOUND_MS} ms"
sorted=$(printf '%s\n' "${lat[@]}" | sort -n)
t_diag "latency ms (sendmail start to file in new/): $(printf '%s ' "${lat[@]}")"
t_diag "latency ms: min $(head -n 1 <<<"$sorted") median $(sed -n "$(((${#lat[@]} + 1) / 2))p" <<<"$sorted") max $(tail -n 1 <<<"$sorted")"
under1=$(awk '$1 < 1000' <<<"$sorted" | wc -l)
t_diag "$under1 of ${#lat[@]} under one second"

# the log: for every qp, in order, the five lines with the same id and slot
ends() { [ "$(inst_log | grep -c '^end msg ')" -ge "$ROUNDS" ]; }
ok wait_for 20 ends
seq=$(inst_log | awk -v rcpt="$B@l.test" '
  /^new msg [0-9]+$/ { fresh[$3] = 1 }
  /^info msg [0-9]+: bytes / {
    id = $3; sub(/:$/, "", id); qp = $9
    cur[id] = qp; st[qp] = (fresh[id] ? "n" : "?") "i"; delete fresh[id]
    order[++n] = qp
  }
  /^starting delivery [0-9]+: msg [0-9]+ to local / {
    k = $3; sub(/:$/, "", k); id = $5
    slot[k] = id; st[cur[id]] = st[cur[id]] ($8 == rcpt ? "s" : "?")
  }
  /^delivery [0-9]+: success: did_1\+0\+0\/$/ {
    k = $2; sub(/:$/, "", k); st[cur[slot[k]]] = st[cur[slot[k]]] "d"; delete slot[k]
  }
  /^delivery [0-9]+: (deferral|failure)/ { k = $2; sub(/:$/, "", k); st[cur[slot[k]]] = st[cur[slot[k]]] "!" }
  /^end msg [0-9]+$/ { st[cur[$3]] = st[cur[$3]] "e"; delete cur[$3] }
  END { for (i = 1; i <= n; i++) print order[i], st[order[i]] }')
want=$(for q in "${qps[@]}"; do echo "$q nisde"; done)
is "$seq" "$want" "log: new msg, info msg, starting delivery, success, end msg for each, ids matching"
is "$("$Q/bin/qmail-qstat")" $'messages in queue: 0\nmessages in queue but not yet preprocessed: 0' "queue empty"
ok inst_stop
is "$(inst_log | grep -E 'ERROR: AddressSanitizer|runtime error|^alert:' | head -n 3)" "" "no sanitizer errors or alerts in the log"
t_done
