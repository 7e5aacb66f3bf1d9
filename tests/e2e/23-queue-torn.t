#!/bin/bash
# After a system crash: qmail-queue links the envelope into todo/ before
# its syncs end (all end before it answers), so a crash of the whole
# system can leave a todo entry whose files are incomplete, of a message
# that was never accepted.  qmail-send checks the trailer of every entry
# written before the current boot (src/lib/qsum.h): complete ones are
# delivered, incomplete ones discarded with a log line, and an entry
# without a boot id (the old order, or qmail's) is taken as it is.
# The crash is simulated: entries queued now get another boot id, then
# their files are cut the ways a crash can cut them.
. "$(dirname "$0")/lib.sh"
t_init

ok inst_new b || t_done
ok user_new torn || t_done
U=qttorn
D=$T/data
mkdir -p "$D"
queue() { "$Q/bin/qmail-queue" <"$D/$1" 1<"$D/env"; }
for s in intact shortmess zeromess shortenv emptyenv legacy current; do
  printf 'Subject: %s\n\nThe %s message, which is long enough to have some words in it.\n' "$s" "$s" >"$D/$s"
  printf 'Fs@b.test\0T%s@b.test\0\0' "$U" >"$D/env"
  ok queue $s
done

# while qmail-send is down: the crash's work
ok python3 - "$Q/queue" <<'PY'
import os, re, sys
q = sys.argv[1]
ids = {}
for n in os.listdir(q + "/mess"):
    for i in os.listdir(q + "/mess/" + n):
        subj = re.search(rb"\nSubject: (\w+)", open("%s/mess/%s/%s" % (q, n, i), "rb").read()).group(1)
        ids[subj.decode()] = (n, i)
assert len(ids) == 7, ids
other = b"0123abcd-0000-4000-8000-0123456789ab"
for name, (n, i) in ids.items():
    env, mess = "%s/todo/%s/%s" % (q, n, i), "%s/mess/%s/%s" % (q, n, i)
    e = open(env, "rb").read()
    assert e.startswith(b"b") and e[37:38] == b"\0", e[:40]
    if name != "current":
        e = b"b" + other + e[37:]
    if name == "legacy":  # no boot id, no trailer: as qmail writes it
        recs = e.split(b"\0")
        e = b"\0".join(recs[1:-2]) + b"\0"
    elif name == "shortenv":  # cut before the trailer
        e = e[:e.rindex(b"\0c") + 1]
    elif name == "emptyenv":
        e = b""
    with open(env, "r+b") as f:  # in place: intd/ is the same file
        f.write(e)
        f.truncate()
    m = open(mess, "rb").read()
    if name == "shortmess":
        m = m[:-10]
    elif name == "zeromess":
        m = m[:-20] + b"\0" * 20
    with open(mess, "r+b") as f:
        f.write(m)
        f.truncate()
    print(name, i)
PY

ok inst_start ./Maildir/
md=$(home_of $U)/Maildir
three() { [ "$(maildir_count "$md")" -ge 3 ]; }
ok wait_for 20 three
empty() { [ -z "$(find "$Q/queue/mess" "$Q/queue/intd" "$Q/queue/todo" -type f)" ]; }
ok wait_for 20 empty
got=$(cat "$md"/new/* | sed -n 's/^Subject: //p' | sort | tr '\n' ' ')
is "$got" "current intact legacy " "delivered: the complete entry, the one of this boot, the one without a boot id"
n=$(inst_log | grep -c ": discarded: it was never accepted, and a system crash left its queue files incomplete$")
is "$n" 4 "four discarded, each with a warning"
like "$(inst_log)" "warning: msg [0-9]+: discarded: it was never accepted" "the warning names the message"
# discarded ones never appear as new msg, so the log has no message without end
news=$(inst_log | grep -c '^new msg ')
ends=$(inst_log | grep -c '^end msg ')
is "$news $ends" "3 3" "every new msg has its end msg"
is "$(cat "$md"/new/* | grep -c 'long enough to have some words')" 3 "the delivered ones whole"
t_done
