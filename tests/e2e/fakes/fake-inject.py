#!/usr/bin/env python3
"""Queues a message the way qmail-queue does (INTERNALS.md commit
sequence, without the fsyncs), for qmail-send tests.
usage: fake-inject.py QMAILHOME SENDER RCPT... < message
With ID=N in the environment the message gets the id N, not its inode's
number (an id that comes back, as inode numbers do)."""
import os, sys, time
home, sender, rcpts = sys.argv[1], sys.argv[2], sys.argv[3:]
split = int(os.environ.get("SPLIT", "23"))
q = os.path.join(home, "queue")
msg = sys.stdin.buffer.read()
pidfn = os.path.join(q, "pid", "%d.%d.1" % (os.getpid(), time.time()))
fd = os.open(pidfn, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
id = int(os.environ.get("ID") or os.fstat(fd).st_ino)
n = id % split
mess = os.path.join(q, "mess", str(n), str(id))
os.link(pidfn, mess)
os.unlink(pidfn)
os.write(fd, b"Received: (qmail %d invoked by uid %d); now\n" % (os.getpid(), os.getuid()) + msg)
os.close(fd)
intd = os.path.join(q, "intd", str(n), str(id))
env = b"u%d\0p%d\0F%s\0" % (os.getuid(), os.getpid(), sender.encode())
for r in rcpts:
    env += b"T" + r.encode() + b"\0"
with open(intd, "wb") as f:
    f.write(env)
os.link(intd, os.path.join(q, "todo", str(n), str(id)))
try:
    t = os.open(os.path.join(q, "lock", "trigger"), os.O_WRONLY | os.O_NONBLOCK)
    os.write(t, b"\0")
    os.close(t)
except OSError:
    pass
print(id)
