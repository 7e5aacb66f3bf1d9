#!/bin/bash
# qmail-queue killed at random moments: 200 injections, SIGKILL to a random
# half of them after a random delay.  Afterwards
#  - every run that exited 0 is fully queued: todo with the exact envelope,
#    mess with the exact message;
#  - every killed run is either fully queued the same way or absent from
#    todo (a message or envelope without todo is allowed: it is a leftover
#    for qmail-clean, which must then be able to remove it);
#  - nothing else failed.
. "$(dirname "$0")/lib.sh"
t_init

ok inst_new crash || t_done
user_new qq
D=$T/data
mkdir -p "$D"
chmod 0755 "$D"
RUNS=${CRASH_RUNS:-200}

cat >"$D/crash.py" <<'EOF'
import os, pwd, random, signal, subprocess, sys, time

qq, data, user, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
pw = pwd.getpwnam(user)
rnd = random.Random(int(os.environ.get("SEED", time.time())))
WAVE = 5
MAXDELAY = float(os.environ.get("MAXDELAY", "0.03"))
results = {}

def files(i):
    return os.path.join(data, "m%d" % i), os.path.join(data, "e%d" % i)

for i in range(runs):
    m, e = files(i)
    # sizes from empty to 2 MB, so kills land in every phase of the copy
    size = rnd.choice([0, rnd.randrange(1, 5000), rnd.randrange(5000, 300000),
                       rnd.randrange(300000, 2000000)])
    with open(m, "wb") as f:
        f.write(os.urandom(size))
    # enough recipients that the envelope copy takes a moment too
    with open(e, "wb") as f:
        f.write(b"Fs%d@x\0" % i)
        for k in range(rnd.randrange(1, 300)):
            f.write(b"Tr%d.%d@x\0" % (i, k))
        f.write(b"\0")
    os.chmod(m, 0o644)
    os.chmod(e, 0o644)

for start in range(0, runs, WAVE):
    procs, born = {}, {}
    for i in range(start, min(start + WAVE, runs)):
        m, e = files(i)
        procs[i] = subprocess.Popen([qq], stdin=open(m, "rb"), stdout=open(e, "rb"),
                                    user=pw.pw_uid, group=pw.pw_gid, extra_groups=[],
                                    env={})
        born[i] = time.monotonic()
    # a run takes a few milliseconds: kill within that window
    kills = sorted((born[i] + rnd.uniform(0, MAXDELAY), i) for i in procs if rnd.random() < 0.5)
    for at, i in kills:
        delay = at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        procs[i].send_signal(signal.SIGKILL)
    for i, p in procs.items():
        results[i] = p.wait()

with open(os.path.join(data, "results"), "w") as f:
    for i in sorted(results):
        f.write("%d %d\n" % (i, results[i]))
EOF

cat >"$D/check.py" <<'EOF'
import os, re, sys

queue, data = sys.argv[1], sys.argv[2]
results = {}
for line in open(os.path.join(data, "results")):
    i, rc = line.split()
    results[int(i)] = int(rc)
errors = []
queued = {}
split = len([d for d in os.listdir(os.path.join(queue, "mess")) if d.isdigit()])

for n in os.listdir(os.path.join(queue, "todo")):
    for name in os.listdir(os.path.join(queue, "todo", n)):
        todo = open(os.path.join(queue, "todo", n, name), "rb").read()
        recs = todo.split(b"\0")
        if recs[-1] != b"":
            errors.append("todo %s: last record has no NUL" % name)
            continue
        recs = recs[:-1]
        # this boot's id first and the trailer last (qsum.h); the trailer's
        # sums are checked by qmail-send (tests/e2e/23-queue-torn.t)
        if not recs[0].startswith(b"b") or not re.fullmatch(rb"c\d+\.[0-9a-f]{16}\.[0-9a-f]{16}", recs[-1]):
            errors.append("todo %s: no boot id or no trailer" % name)
            continue
        recs = recs[1:-1]
        if len(recs) < 3 or not recs[0].startswith(b"u") or not recs[1].startswith(b"p"):
            errors.append("todo %s: no u/p records" % name)
            continue
        mo = re.match(rb"Fs(\d+)@x$", recs[2])
        if not mo:
            errors.append("todo %s: bad sender record %r" % (name, recs[2][:40]))
            continue
        i = int(mo.group(1))
        want = open(os.path.join(data, "e%d" % i), "rb").read()
        if b"\0".join(recs[2:]) + b"\0\0" != want:
            errors.append("todo %s: envelope of run %d incomplete" % (name, i))
        try:
            mess = open(os.path.join(queue, "mess", n, name), "rb").read()
        except OSError as e:
            errors.append("todo %s: no message: %s" % (name, e))
            continue
        body = mess[mess.index(b"\n") + 1:] if mess.startswith(b"Received: ") else None
        if body != open(os.path.join(data, "m%d" % i), "rb").read():
            errors.append("todo %s: message of run %d incomplete" % (name, i))
        if int(name) % split != int(n) or os.stat(os.path.join(queue, "mess", n, name)).st_ino != int(name):
            errors.append("todo %s: id is not the inode of mess/%s/%s" % (name, n, name))
        if i in queued:
            errors.append("run %d queued twice" % i)
        queued[i] = name

ok = killed_in = killed_out = 0
for i, rc in sorted(results.items()):
    if rc == 0:
        ok += 1
        if i not in queued:
            errors.append("run %d exited 0 but is not in todo" % i)
    elif rc == -9:
        if i in queued:
            killed_in += 1
        else:
            killed_out += 1
    else:
        errors.append("run %d exited %d" % (i, rc))

for e in errors:
    print("error:", e)
print("exit0=%d killed_queued=%d killed_absent=%d" % (ok, killed_in, killed_out))
EOF

ok as_user qtqq true
ok python3 "$D/crash.py" "$Q/bin/qmail-queue" "$D" qtqq "$RUNS"
out=$(python3 "$D/check.py" "$Q/queue" "$D")
t_diag "$out"
is "$(grep -c '^error:' <<<"$out")" 0 "no run is partially queued, none failed otherwise"
set -- $(tail -n 1 <<<"$out" | sed -E 's/[a-z_0]+=//g')
exit0=$1 killed_in=$2 killed_out=$3
is "$((exit0 + killed_in + killed_out))" "$RUNS" "every run accounted for"
ok test "$killed_out" -gt 0
ok test "$exit0" -gt 0

# the leftovers of killed runs: whatever is in mess/intd/pid without a todo
todo_ids=$(find "$Q/queue/todo" -type f -printf '%f\n' | sort -u)
left_ids=$(find "$Q/queue/mess" "$Q/queue/intd" -type f -printf '%f\n' | sort -u | comm -23 - <(printf '%s\n' "$todo_ids"))
t_diag "leftovers without todo: $(printf '%s' "$left_ids" | grep -c .) ids, pid/ files: $(find "$Q/queue/pid" -type f | wc -l)"
# qmail-clean removes them when asked (qmail-send asks after 36 h)
: >"$D/req"
for id in $left_ids; do printf 'foop/%s\0' "$id" >>"$D/req"; done
ans=$(as_user qtqmailq sh -c '"$1" <"$2"' sh "$Q/bin/qmail-clean" "$D/req")
is "$(printf '%s' "$ans" | tr -d +)" "" "qmail-clean removed every leftover"
is "$(find "$Q/queue/mess" -type f -printf '%f\n' | sort)" "$(printf '%s\n' "$todo_ids" | grep . | sort)" \
  "what remains in mess is exactly what is in todo"
n=$(printf '%s\n' "$todo_ids" | grep -c .)
is "$("$Q/bin/qmail-qstat")" "messages in queue: $n
messages in queue but not yet preprocessed: $n" "qmail-qstat counts the committed messages"
is "$("$Q/bin/qmail-qread" | grep -c '  not preprocessed$')" "$n" "qmail-qread lists them"

t_done
