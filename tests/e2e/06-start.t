#!/bin/bash
# qmail-start run by hand with a logger, as qmail's documentation has it
# (qmail-start ./Maildir/ splogger qmail): the logger runs as qmaill,
# group nofiles, and reads qmail-send's log; TERM to qmail-send ends them
# all.  splogger's lines are checked at a syslog socket of the test's
# own, /dev/log in a private mount namespace.
. "$(dirname "$0")/lib.sh"
t_init

ok inst_new st || t_done
user_new "st$$"
U=qtst$$
H=$(home_of $U)
mkdir -m 0777 "$T/logs"
L=$T/logs/send.log
env_line=$(_t_env_line)

# qmail-send's pid, among the processes of this instance
send_pid() {
  local p
  for p in $(pgrep -x qmail-send); do
    [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$Q/bin/qmail-send" ] && echo "$p"
  done
}
helpers_gone() { [ -z "$(_t_pids_under "$Q/bin")" ] && ! pgrep -f "cat-logger $L" >/dev/null; }

# ---- a logger of our own: who runs it, what it reads ------------------------------
cat >"$T/logs/cat-logger" <<'EOF'
#!/bin/sh
id -un >"$1.who"
id -gn >>"$1.who"
exec cat >>"$1"
EOF
chmod 0755 "$T/logs/cat-logger"
(cd "$Q" && eval "exec env - PATH='$Q/bin:/usr/bin:/bin' $env_line '$Q/bin/qmail-start' ./Maildir/ '$T/logs/cat-logger' '$L'" \
  </dev/null >"$T/start.out" 2>&1) &
ok wait_for 30 eval 'grep -q "status: local" "$L" 2>/dev/null'
is "$(tr '\n' : <"$L.who")" "qtqmaill:qtnofiles:" "the logger runs as qmaill, group nofiles"
like "$(cat "$L")" "status: local 0/$(cat "$Q/control/concurrencylocal") remote 0/$(cat "$Q/control/concurrencyremote")" "qmail-send's status line reaches the logger"
ok eval 'printf "Subject: started by hand\n\nhi\n" | "$Q/bin/qmail-inject" "$U@$(cat "$Q/control/me")"'
ok wait_for 30 eval '[ "$(maildir_count "$H/Maildir")" -ge 1 ]'
ok wait_for 30 eval 'grep -q "^end msg" "$L"'
log=$(cat "$L")
like "$log" "new msg [0-9]+" "new msg logged"
like "$log" "info msg [0-9]+: bytes [0-9]+ from <[^>]*> qp [0-9]+ uid [0-9]+" "info msg logged"
like "$log" "starting delivery 1: msg [0-9]+ to local $U@" "starting delivery logged"
like "$log" "delivery 1: success: did_1\+0\+0/" "delivery success logged"
# a second qmail-start on the same queue: its qmail-send refuses (one is
# running), and its qmail-queued goes too, without taking the socket from
# the first (before, it stayed for good, and took it)
orphans() { # qmail-queued processes of this instance whose parent is gone
  local p
  for p in $(pgrep -x qmail-queued); do
    [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$Q/bin/qmail-queued" ] &&
      [ "$(ps -o ppid= -p "$p" | tr -d ' ')" = 1 ] && echo "$p"
  done
}
sock=$(stat -c %i "$Q/sock/qmail-queue")
(cd "$Q" && eval "exec env - PATH='$Q/bin:/usr/bin:/bin' $env_line '$Q/bin/qmail-start' ./Maildir/" \
  </dev/null >"$T/start2.out" 2>&1)
like "$(cat "$T/start2.out")" "alert: cannot start: qmail-send is already running" "a second qmail-start: its qmail-send refuses"
ok wait_for 10 eval '[ -z "$(orphans)" ]'
is "$(stat -c %i "$Q/sock/qmail-queue")" "$sock" "the first qmail-queued keeps its socket"
p=$(send_pid)
ok test -n "$p"
ok kill -TERM "$p"
ok wait_for 30 helpers_gone
like "$(cat "$L")" "status: exiting" "TERM: qmail-send logs its exit, and the logger sees the end"
is "$(cat "$T/start.out")" "" "qmail-start itself printed nothing"

# ---- splogger, and qmail-start ./Maildir/ splogger qmail ------------------------------
# (in_syslog_ns: see lib.sh)
if unshare -m --propagation private true 2>/dev/null; then
  S=$T/logs/syslog
  long=$(head -c 2000 /dev/zero | tr '\0' x)
  printf 'status: one\nwarning: two\nalert: three\n\nctl\001here\n%s\n' "$long" >"$T/logs/lines"
  in_syslog_ns "$S" sh -c "'$Q/bin/splogger' qmail <'$T/logs/lines'"
  got=$(sed -E 's/^(<[0-9]+>)[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} /\1/' "$S")
  like "$got" "<22>qmail(\[[0-9]+\])?: [0-9]+\.[0-9]{6} status: one" "splogger: facility mail, priority info, tag, timestamp"
  like "$got" "<20>qmail(\[[0-9]+\])?: [0-9.]+ warning: two" "splogger: warning: at priority warning"
  like "$got" "<17>qmail(\[[0-9]+\])?: [0-9.]+ alert: three" "splogger: alert: at priority alert"
  like "$got" "[0-9.]+ ctl\?here" "splogger: control bytes become ?"
  is "$(grep -c '' "$S")" 7 "splogger: the empty line dropped, the 2000-byte line in three pieces"
  is "$(grep -cE "[0-9]\+x*$" "$S")" 2 "splogger: continuation pieces are STAMP+text, as qmail's"
  is "$(grep -o 'x*$' "$S" | awk '{ print length }' | tr '\n' ' ')" "799 799 402 " "splogger: pieces of 799"
  rm -f "$S" "$S.ready"
  in_syslog_ns "$S" sh -c "echo 'status: facility' | '$Q/bin/splogger' qm 3"
  like "$(cat "$S")" "^<30>" "splogger: facility argument (3: daemon)"
  rm -f "$S" "$S.ready"
  # the documented form, whole: qmail-send's log into syslog through
  # splogger run by qmail-start as qmaill
  in_syslog_ns "$S" bash -c "
    cd '$Q' || exit 1
    env - PATH='$Q/bin:/usr/bin:/bin' $env_line '$Q/bin/qmail-start' ./Maildir/ splogger qmail </dev/null >/dev/null 2>&1 &
    for i in \$(seq 100); do grep -q 'status: local' '$S' 2>/dev/null && break; sleep 0.1; done
    p=\$(for q in \$(pgrep -x qmail-send); do [ \"\$(readlink /proc/\$q/exe)\" = '$Q/bin/qmail-send' ] && echo \$q; done)
    [ -n \"\$p\" ] && kill -TERM \$p
    for i in \$(seq 100); do grep -q 'status: exiting' '$S' 2>/dev/null && break; sleep 0.1; done"
  like "$(cat "$S")" "<22>[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} qmail(\[[0-9]+\])?: [0-9.]+ status: local 0/" "qmail-start ./Maildir/ splogger qmail: the status line in syslog"
  like "$(cat "$S")" "status: exiting" "... and the exit"
  ok wait_for 30 helpers_gone
else
  t_skip 12 "no mount namespaces here (unshare -m)"
fi

t_done
