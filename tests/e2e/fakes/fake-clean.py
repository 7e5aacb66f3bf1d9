#!/usr/bin/env python3
"""A stand-in for qmail-clean (cwd = the queue): foop/<id> removes intd,
todo and mess; todo/<id> removes intd then todo.  Answers + ! or x.
usage: fake-clean.py [SPLIT]"""
import os, sys
split = int(sys.argv[1]) if len(sys.argv) > 1 else 23
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
        kind, _, id = req.partition("/")
        if not id.isdigit() or kind not in ("foop", "todo"):
            out.write(b"x")
            continue
        n = int(id) % split
        try:
            rm("intd/%d/%s" % (n, id))
            rm("todo/%d/%s" % (n, id))
            if kind == "foop":
                rm("mess/%d/%s" % (n, id))
            out.write(b"+")
        except OSError:
            out.write(b"!")
