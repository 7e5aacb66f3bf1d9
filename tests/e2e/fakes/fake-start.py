#!/usr/bin/env python3
"""Runs qmail-send with fake spawners and a fake qmail-clean, as
qmail-start would (fd 0 log, 1/2 lspawn, 3/4 rspawn, 5/6 clean).
usage: fake-start.py QMAILSEND QMAILHOME LOGFILE
The fakes log their commands to LOGFILE.local and LOGFILE.remote.
Exits with qmail-send's exit code."""
import os, sys
send, home, logfile = sys.argv[1:4]
here = os.path.dirname(os.path.abspath(__file__))
queue = os.path.join(home, "queue")

def child(argv, fin, fout, cwd=None):
    pid = os.fork()
    if pid == 0:
        if cwd:
            os.chdir(cwd)
        os.dup2(fin, 0)
        os.dup2(fout, 1)
        os.closerange(3, 256)
        os.execv(argv[0], argv)
    return pid

lcmd = os.pipe(); lres = os.pipe()
rcmd = os.pipe(); rres = os.pipe()
ccmd = os.pipe(); cres = os.pipe()
logf = os.open(logfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
py = sys.executable
child([py, os.path.join(here, "fake-spawn.py"), logfile + ".local", "10"], lcmd[0], lres[1])
child([py, os.path.join(here, "fake-spawn.py"), logfile + ".remote", "20"], rcmd[0], rres[1])
child([py, os.path.join(here, "fake-clean.py")], ccmd[0], cres[1], cwd=queue)
fds = [logf, lcmd[1], lres[0], rcmd[1], rres[0], ccmd[1], cres[0]]
pid = os.fork()
if pid == 0:
    import fcntl
    # copies above 6 first, so that no dup2 clobbers a later source
    hi = [fcntl.fcntl(f, fcntl.F_DUPFD, 20) for f in fds]
    for i, f in enumerate(hi):
        os.dup2(f, i)
    os.closerange(7, 256)
    os.execv(send, [send])
for f in [lcmd[0], lres[1], rcmd[0], rres[1], ccmd[0], cres[1]] + fds:
    try:
        os.close(f)
    except OSError:
        pass
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st))
