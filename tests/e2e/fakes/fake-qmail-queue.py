#!/usr/bin/env python3
"""Stand-in for bin/qmail-queue that records what it is given: the
message in $HOME_OF_FAKE/injected/N.msg and the envelope in N.env
(directory = ../injected relative to this script's bin/).  Exit code
from the file bin/qmail-queue.exit if present, else 0."""
import os, sys
bindir = os.path.dirname(os.path.abspath(__file__))
d = os.path.join(os.path.dirname(bindir), "injected")
os.makedirs(d, exist_ok=True)
msg = os.fdopen(0, "rb").read()
env = os.fdopen(1, "rb").read()
code = 0
try:
    code = int(open(os.path.join(bindir, "qmail-queue.exit")).read())
except (OSError, ValueError):
    pass
if code:
    sys.exit(code)
n = len([f for f in os.listdir(d) if f.endswith(".msg")]) + 1
open(os.path.join(d, "%d.msg" % n), "wb").write(msg)
open(os.path.join(d, "%d.env" % n), "wb").write(env)
