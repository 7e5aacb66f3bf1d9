#!/usr/bin/python3
# envcore.py TODO MESS: the records of a todo file between its boot id
# ('b', first: must be this system's) and its trailer ('c', last: must
# give MESS's length; the sums are the unit test's business), written to
# stdout as they are in the file.  Exit 1 with the reason if either is
# missing or wrong.
import re, sys

env, mess = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
boot = open("/proc/sys/kernel/random/boot_id", "rb").read().strip()
recs = env.split(b"\0")
if len(recs) < 3 or recs[-1] != b"":
    sys.exit("envcore: %s: too short or no final NUL" % sys.argv[1])
if recs[0] != b"b" + boot:
    sys.exit("envcore: first record %r is not b<boot id>" % recs[0][:60])
m = re.fullmatch(rb"c(\d+)\.[0-9a-f]{16}\.[0-9a-f]{16}", recs[-2])
if not m:
    sys.exit("envcore: last record %r is not the trailer" % recs[-2][:80])
if int(m.group(1)) != len(mess):
    sys.exit("envcore: trailer gives %s bytes, the message has %d" % (m.group(1).decode(), len(mess)))
sys.stdout.buffer.write(b"\0".join(recs[1:-2]) + b"\0")
