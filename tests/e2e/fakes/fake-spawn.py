#!/usr/bin/env python3
"""A stand-in for qmail-lspawn/qmail-rspawn speaking the spawn protocol
(INTERNALS.md) for qmail-send tests without real deliveries.
usage: fake-spawn.py LOGFILE [SLOTS]
The recipient's local part chooses the answer: fail* -> D, defer* -> Z,
mangle* -> a report without K/Z/D, slow* -> K after 2 s, else K.
A file named LOGFILE.defer (if present) makes every answer Z.  Every
command is appended to LOGFILE as "slot mess sender recipient"."""
import os, sys, threading, time

log = sys.argv[1]
slots = int(sys.argv[2]) if len(sys.argv) > 2 else 10
out = os.fdopen(1, "wb", buffering=0)
lock = threading.Lock()
out.write(bytes([slots]))

def answer(slot, rcpt):
    local = rcpt.split(b"@")[0]
    local = local.split(b"-")[-1]  # after a virtualdomain prepend
    if os.path.exists(log + ".defer"):
        rep = b"Zforced deferral\n"
    elif local.startswith(b"fail"):
        rep = b"DSorry, no mailbox here by that name. (#5.1.1)\n"
    elif local.startswith(b"defer"):
        rep = b"Zmailbox busy, try again (#4.2.1)\n"
    elif local.startswith(b"mangle"):
        rep = b"?what"
    else:
        if local.startswith(b"slow"):
            time.sleep(2)
        rep = b"Kdid 1+0+0\n"
    with lock:
        out.write(bytes([slot]) + rep + b"\0")

inp = os.fdopen(0, "rb", buffering=0)
buf = b""
while True:
    d = inp.read(4096)
    if not d:
        break
    buf += d
    while True:
        parts = buf[1:].split(b"\0", 3)
        if len(parts) < 4:
            break
        slot = buf[0]
        mess, sender, rcpt = parts[0], parts[1], parts[2]
        buf = parts[3]
        with open(log, "ab") as f:
            f.write(b"%d %s <%s> %s\n" % (slot, mess, sender, rcpt))
        threading.Thread(target=answer, args=(slot, rcpt)).start()
