#!/bin/bash
# qmail-queued: qmail-queue's work without an exec.  The socket protocol
# (pipes passed with SCM_RIGHTS, the answer: exit code, id, pid), the
# caller's uid from the socket, hostile clients, the fall-back to
# bin/qmail-queue when nobody listens, and the daemon's life under
# qmail-start.
. "$(dirname "$0")/lib.sh"
t_init

ok inst_new qd || t_done
user_new qdb
U=qtqdb
UID_U=$(id -u $U)
D=$T/data
mkdir -p "$D"
chmod 0755 "$D"
SOCK=$Q/sock/qmail-queue
files() { find "$Q/queue/mess" "$Q/queue/intd" "$Q/queue/todo" "$Q/queue/pid" -type f | sort; }
wipe() { find "$Q/queue/mess" "$Q/queue/intd" "$Q/queue/todo" "$Q/queue/pid" -type f -delete; }

# client MODE: a qmail-queued client in Python, run as $U.  Prints the
# answer as "code id pid" (or "none" when the socket closed without one).
# MODE: ok (message and envelope), nofds, threefds, silent (connect, say
# nothing, close), short (envelope without its final NUL), slow (the
# envelope only after 3 seconds)
cat >"$D/client.py" <<'EOF'
import os, socket, sys
mode, path = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
msg = b"Subject: via qmail-queued\n\nbody\n"
env = b"Fa@b.test\0Tc@d.test\0\0"
if mode == "short":
    env = b"Fa@b.test\0Tc@d.test"
if mode == "silent":
    s.close()
    print("closed")
    sys.exit(0)
if mode == "nofds":
    s.sendall(b"\0")
else:
    mr, mw = os.pipe()
    er, ew = os.pipe()
    fds = [mr, er] + ([mr] if mode == "threefds" else [])
    socket.send_fds(s, [b"\0"], fds)
    os.close(mr); os.close(er)
    # a worker that refuses (threefds) or is gone may have closed the
    # pipes before we write: its answer is on the socket all the same
    try:
        os.write(mw, msg)
    except BrokenPipeError:
        pass
    os.close(mw)
    if mode == "slow":
        import time
        time.sleep(3)
    try:
        os.write(ew, env)
    except BrokenPipeError:
        pass
    os.close(ew)
ans = b""
while True:
    b = s.recv(100)
    if not b:
        break
    ans += b
# the go-ahead comes first, once the child holds the pipes
if mode in ("ok", "short", "slow") and ans[:1] != b"K":
    print("no go-ahead")
    sys.exit(0)
if ans[:1] == b"K":
    ans = ans[1:]
if not ans:
    print("none")
else:
    rest = ans[1:].split(b"\0")
    print(ans[0], *[r.decode() for r in rest if r])
EOF
client() { as_user $U python3 "$D/client.py" "$1" "$SOCK"; }

# ---- the daemon by hand (qmail-send is not running) ----------------------
# (exec'd from a subshell, so that $! is the daemon, and we its parent)
(cd "$Q" && exec setpriv --reuid=qtqmailq --regid="$(id -g qtqmailq)" --init-groups \
  "$Q/bin/qmail-queued" 2>"$T/qd.err") &
qd=$!
wait_for 10 test -S "$SOCK"
is "$(stat -c '%U %a' "$SOCK")" "qtqmailq 666" "the socket: qmailq's, mode 666"

read -r code id pid <<<"$(client ok)"
is "$code" 0 "a message through the socket: code 0"
m=$Q/queue/mess/$((id % $(head -n 1 "$(dirname "$0")/../../conf-split")))/$id
ok test -f "$m"
is "$(files | wc -l)" 3 "mess, intd and todo exist"
like "$(head -n 1 "$m")" "^Received: \(qmail $pid invoked by uid $UID_U\); " \
  "Received names the caller's uid (from the socket) and the child's pid"
is "$(tail -n +2 "$m")" "$(printf 'Subject: via qmail-queued\n\nbody')" "the message follows byte for byte"
is "$(python3 "$(dirname "$0")/fakes/envcore.py" "$Q/queue/todo/$((id % $(head -n 1 "$(dirname "$0")/../../conf-split")))/$id" "$m" | tr '\0' ' ')" \
  "u$UID_U p$pid Fa@b.test Tc@d.test " "the envelope: uid, pid, sender, recipient"
wipe

is "$(client nofds)" "54" "no descriptors passed: 54, nothing else"
is "$(client threefds)" "54" "three descriptors passed: 54"
is "$(client silent)" "closed" "a client that says nothing"
is "$(client short)" "54" "envelope cut short: 54 (read error)"
is "$(files)" "" "no file left behind by any of them"
ok kill -0 $qd
read -r code id pid <<<"$(client ok)"
is "$code" 0 "the daemon still serves after them"
wipe

# workers: one queues message after message; a failure ends it; a slow
# client holds only its own worker; a worker killed mid-message costs
# only that message
workers() { pgrep -P $qd | sort; }
read -r code id pid1 <<<"$(client ok)"
w1=$(workers)
read -r code id pid2 <<<"$(client ok)"
is "$(workers)" "$w1" "a worker queues one message after another"
is "$(printf '%s\n' "$w1" | wc -l)" 1 "... one worker for messages one after another"
nok test "$pid2" = "$pid1" "... each message with a qp of its own (its thread's id)"
for i in 1 2 3 4 5 6 7 8; do client ok; done | awk '{ print $3 }' >"$D/qps"
is "$(sort -u "$D/qps" | wc -l) $(workers)" "8 $w1" "eight messages by one worker: eight different qps"
is "$(client short)" "54" "a message that fails (54) ..."
read -r code id pid3 <<<"$(client ok)"
is "$code" 0 "... and the next is queued"
nok test "$(workers)" = "$w1" "... by a new worker: a failure ends its worker"
wipe
client slow >"$D/slow.out" &
slow=$!
sleep 1
read -r code id pid4 <<<"$(client ok)"
is "$code" 0 "a message queued while another client is slow"
ok kill -0 $slow
ok test "$(workers | wc -l)" -ge 2
wait $slow
read -r code id pid5 <"$D/slow.out"
is "$code" 0 "the slow client's message is queued too"
is "$(files | wc -l)" 6 "both messages are complete"
wipe
client slow >"$D/slow.out" &
slow=$!
sleep 1
busy=$(for p in $(pgrep -P $qd); do ls -l "/proc/$p/fd" 2>/dev/null | grep -q '/queue/' && echo $p; done)
ok test -n "$busy"
kill -KILL $busy
wait $slow
is "$(cat "$D/slow.out")" "none" "a worker killed mid-message: its client gets no answer"
read -r code id pid6 <<<"$(client ok)"
is "$code" 0 "the daemon serves on"
wipe

# one uid holds at most 20 busy workers: a user who opens more
# connections and sends nothing gets no go-ahead beyond them (at once, so
# the client runs qmail-queue itself), and another user is still served
cat >"$D/hold.py" <<'EOF'
import os, select, socket, sys
path, n, done = sys.argv[1], int(sys.argv[2]), sys.argv[3]
held, answers = [], []
for i in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    mr, mw = os.pipe()
    er, ew = os.pipe()
    # a refusal is a byte other than K, or the daemon's close, which may
    # come before our pipes are sent (EPIPE) or while they are unread
    # (ECONNRESET, or EOF); "none" is no answer within 10 s
    try:
        socket.send_fds(s, [b"\0"], [mr, er])
        r, _, _ = select.select([s], [], [], 10)
        a = (s.recv(1) or b"closed") if r else b""
    except (BrokenPipeError, ConnectionResetError):
        a = b"closed"
    os.close(mr); os.close(er)
    answers.append(a)
    held += [s, mw, ew]
print("K=%d other=%d none=%d" % (answers.count(b"K"), sum(1 for a in answers if a not in (b"K", b"")),
      answers.count(b"")), flush=True)
while not os.path.exists(done):
    select.select([], [], [], 0.05)
EOF
rm -f "$D/hold.done"
as_user $U python3 "$D/hold.py" "$SOCK" 22 "$D/hold.done" >"$D/hold.out" &
holder=$!
ok wait_for 30 test -s "$D/hold.out"
is "$(cat "$D/hold.out")" "K=20 other=2 none=0" "one uid: 20 workers, then an immediate refusal"
user_new qdc
read -r code id pid7 <<<"$(as_user qtqdc python3 "$D/client.py" ok "$SOCK")"
is "$code" 0 "another user is served meanwhile"
wipe
touch "$D/hold.done"
wait $holder
nofiles() { [ -z "$(files)" ]; }
ok wait_for 10 nofiles
read -r code id pid8 <<<"$(client ok)"
is "$code" 0 "the first user is served again once its connections are gone"
wipe

# the qq client of every injector uses the socket first: with
# bin/qmail-queue closed to everyone, injection still works
chmod 0 "$Q/bin/qmail-queue"
printf 'Subject: x\n\nbody\n' >"$D/msg"
ok as_user $U "$Q/bin/qmail-inject" -f a@qd.test c@d.test <"$D/msg"
m=$(find "$Q/queue/mess" -type f | head -n 1)
like "$(head -n 1 "$m")" "invoked by uid $UID_U\)" "qmail-inject went through qmail-queued"
wipe
# ... and without the daemon (an old socket left behind) it falls back
# to bin/qmail-queue, which here cannot run
kill $qd
wait $qd 2>/dev/null
ok test -S "$SOCK"
out=$(as_user $U "$Q/bin/qmail-inject" -f a@qd.test c@d.test <"$D/msg" 2>&1)
is "$?" 111 "no daemon and no qmail-queue: qmail-inject exits 111"
like "$out" "unable to exec qq" "... and says why"
chmod 4711 "$Q/bin/qmail-queue"
ok as_user $U "$Q/bin/qmail-inject" -f a@qd.test c@d.test <"$D/msg"
is "$(files | wc -l)" 3 "no daemon: bin/qmail-queue queued it"
wipe

# a listener that takes the pipes but never gives the go-ahead (a daemon
# going away with connections in its backlog looks the same): the client
# gives up on it and runs bin/qmail-queue, and nothing is queued twice
cat >"$D/mute.py" <<'EOF'
import os, socket, sys
path = sys.argv[1]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
os.chmod(path, 0o666)
s.listen(8)
held = []
while True:
    c, _ = s.accept()
    msg, fds, flags, addr = socket.recv_fds(c, 1, 4)
    for fd in fds:
        os.close(fd)
    if sys.argv[2] == "hold":
        held.append(c)  # never answers, never hangs up
    else:
        c.close()
EOF
for how in close hold; do
  rm -f "$SOCK"
  (exec setpriv --reuid=qtqmailq --regid="$(id -g qtqmailq)" --init-groups \
    /usr/bin/python3 "$D/mute.py" "$SOCK" $how 2>"$D/mute.err") &
  mute=$!
  ok wait_for 10 test -S "$SOCK" || t_diag "$(cat "$D/mute.err")"
  # hold: the client waits 10 s for the go-ahead, then gives up
  ok as_user $U "$Q/bin/qmail-inject" -f a@qd.test c@d.test <"$D/msg"
  is "$(files | wc -l)" 3 "a listener that takes the pipes and does not go ahead ($how): bin/qmail-queue queued it, once"
  kill $mute
  wait $mute 2>/dev/null
  wipe
done

# ---- under qmail-start ---------------------------------------------------
rm -f "$SOCK"
ok inst_start
daemon() { for p in $(_t_pids_under "$Q/bin"); do
  [ "$(readlink "/proc/$p/exe")" = "$Q/bin/qmail-queued" ] && echo "$p"; done; }
ok wait_for 10 test -S "$SOCK"
qd=$(daemon)
ok test -n "$qd"
is "$(stat -c %U "/proc/$qd")" qtqmailq "qmail-start runs qmail-queued as qmailq"
ok inst_stop
nodaemon() { [ -z "$(daemon)" ]; }
ok wait_for 5 nodaemon
is "$(daemon)" "" "qmail-queued stops with the delivery service"
t_done
