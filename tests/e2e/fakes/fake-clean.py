#!/usr/bin/env python3
"""A stand-in for qmail-clean (cwd = the queue): foop/<id> removes intd,
todo and mess; todo/<id> removes intd then todo.  Answers + ! or x.
usage: fake-clean.py [SPLIT]
Environment: CLEAN_LOG=FILE appends every request to FILE, a line each;
while the file CLEAN_HOLD names exists, each answer comes 3 s late (its
removal is done at once); when the file CLEAN_FAILTODO names exists, it
goes and the next todo/ request fails ('!', nothing removed)."""
import os, sys, time
split = int(sys.argv[1]) if len(sys.argv) > 1 else 23
logfn = os.environ.get("CLEAN_LOG")
hold = os.environ.get("CLEAN_HOLD")
failtodo = os.environ.get("CLEAN_FAILTODO")
inp = os.fdopen(0, "rb", buffering=0)
out = os.fdopen(1, "wb", buffering=0)
buf = b""
def rm(p):
    try:
        os.unlink(p)
    except FileNotFoundError:
        pass
while True:
    d = inp.read(4096)
    if not d:
        break
    buf += d
    while b"\0" in buf:
        req, buf = buf.split(b"\0", 1)
        req = req.decode("latin-1")
        if logfn:
            with open(logfn, "a") as f:
                f.write(req + "\n")
        kind, _, id = req.partition("/")
        if not id.isdigit() or kind not in ("foop", "todo"):
            out.write(b"x")
            continue
        n = int(id) % split
        if kind == "todo" and failtodo and os.path.exists(failtodo):
            os.unlink(failtodo)
            out.write(b"!")
            continue
        try:
            rm("intd/%d/%s" % (n, id))
            rm("todo/%d/%s" % (n, id))
            if kind == "foop":
                rm("mess/%d/%s" % (n, id))
            a = b"+"
        except OSError:
            a = b"!"
        if hold and os.path.exists(hold):
            time.sleep(3)
        out.write(a)
