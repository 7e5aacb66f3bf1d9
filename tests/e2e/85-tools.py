"""tcp-env, run by 85-tools.t inside a private network namespace (so the
ident port 113 and every name lookup stay inside it): the tcp-environ
variables over IPv4, IPv6 and IPv4-mapped sockets, host name
confirmation (with dnsmasq, if DNS=1), ident answers good and hostile,
an ident server that never answers, PROTO already set, and qmail-smtpd
behind tcp-env putting the right Received line into a queued message.

usage: 85-tools.py TCPENV PORT DNS SMTPD UID GID RCPT
Prints PASS/FAIL lines for t_driver."""
import os
import socket
import subprocess
import sys
import threading
import time

TCPENV, PORT, DNS, SMTPD, UID, GID, RCPT = sys.argv[1:8]
PORT = int(PORT)
DNS = DNS == "1"
UID, GID = int(UID), int(GID)


def check(name, cond, detail=""):
    print(("PASS " if cond else "FAIL ") + name + ("" if cond else " :: " + str(detail)), flush=True)


# ---- a scriptable ident server on port 113 (IPv4 and IPv6) ----

ident = {"mode": "good", "queries": []}


def ident_conn(c, peer):
    try:
        c.settimeout(10)
        q = b""
        while b"\n" not in q and len(q) < 200:
            d = c.recv(200)
            if not d:
                break
            q += d
        # (the address asked, the address asking, the query)
        ident["queries"].append((c.getsockname()[0], peer[0], q))
        ports = q.decode(errors="replace").strip()
        mode = ident["mode"]
        if mode == "good":
            c.sendall(ports.encode() + b" : USERID : UNIX : alice\r\n")
        elif mode == "spaces":
            c.sendall(ports.encode() + b" :USERID: UNIX,US-ASCII :   bob smith  \r\n")
        elif mode == "hostile":
            c.sendall(ports.encode() + b" : USERID : UNIX : e\x01v\x1b[1mil<>;$(x)" + b"y" * 300 + b"\r\n")
        elif mode == "long":
            c.sendall(ports.encode() + b" : USERID : UNIX : " + b"z" * 5000 + b"\r\n")
        elif mode == "wrongport":
            c.sendall(b"1 , 2 : USERID : UNIX : mallory\r\n")
        elif mode == "error":
            c.sendall(ports.encode() + b" : ERROR : NO-USER\r\n")
        elif mode == "silent":
            time.sleep(8)
    except OSError:
        pass
    finally:
        c.close()


def ident_server(fam, addr):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, 113))
    s.listen(20)

    def loop():
        while True:
            c, peer = s.accept()
            threading.Thread(target=ident_conn, args=(c, peer), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()


ident_server(socket.AF_INET, "0.0.0.0")
ident_server(socket.AF_INET6, "::")

STALE = {"TCPREMOTEHOST": "stale", "TCPREMOTEINFO": "stale", "TCPLOCALHOST": "stale"}


def run(args, fam=socket.AF_INET, listen="127.0.0.1", connect="127.0.0.1", src=None, env=None,
        prog=("env",), v6only=True):
    """tcp-env ARGS PROG with an accepted socket as stdin: (exit code,
    environment dict, stderr, client port, seconds)"""
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if v6only else 0)
    ls.bind((listen, PORT))
    ls.listen(1)
    cfam = socket.AF_INET6 if ":" in connect else socket.AF_INET
    cl = socket.socket(cfam, socket.SOCK_STREAM)
    if src:
        cl.bind((src, 0))
    cl.connect((connect, PORT))
    conn, _ = ls.accept()
    ls.close()
    e = {"PATH": "/usr/bin:/bin"}
    e.update(STALE if env is None else env)
    t0 = time.time()
    p = subprocess.run([TCPENV] + args + list(prog), stdin=conn, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=e, timeout=60)
    dt = time.time() - t0
    cport = cl.getsockname()[1]
    conn.close()
    cl.close()
    out = {}
    for line in p.stdout.decode(errors="replace").splitlines():
        k, _, v = line.partition("=")
        out[k] = v
    return p.returncode, out, p.stderr.decode(errors="replace"), cport, dt


def tcpvars(e):
    return {k: v for k, v in e.items() if k.startswith("TCP") or k == "PROTO"}


# ---- IPv4, no ident ----
rc, e, err, cport, _ = run(["-R"])
want = {"PROTO": "TCP", "TCPLOCALIP": "127.0.0.1", "TCPLOCALPORT": str(PORT), "TCPLOCALHOST": "localhost",
        "TCPREMOTEIP": "127.0.0.1", "TCPREMOTEPORT": str(cport), "TCPREMOTEHOST": "localhost"}
check("IPv4 -R: exit 0", rc == 0, err)
check("IPv4 -R: the variables (stale TCPREMOTEINFO removed)", tcpvars(e) == want, tcpvars(e))
check("-R: no ident query", ident["queries"] == [], ident["queries"])

# ---- ident ----
ident["mode"] = "good"
rc, e, err, cport, _ = run([])
check("ident: TCPREMOTEINFO from the ident server", e.get("TCPREMOTEINFO") == "alice", tcpvars(e))
q = ident["queries"][-1] if ident["queries"] else ("", "", b"")
check("ident: query names the client's port, then ours, CRLF",
      q[2] == ("%d , %d\r\n" % (cport, PORT)).encode(), q)

rc, e, err, cport, _ = run([], listen="127.0.0.2", connect="127.0.0.2", src="127.0.0.3")
q = ident["queries"][-1]
check("ident: asks the client's address (127.0.0.3) from the local one (127.0.0.2)",
      q[0] == "127.0.0.3" and q[1] == "127.0.0.2" and e.get("TCPREMOTEIP") == "127.0.0.3" and
      e.get("TCPREMOTEINFO") == "alice", (q, tcpvars(e)))

ident["mode"] = "spaces"
rc, e, err, cport, _ = run([])
check("ident: blanks around the user id dropped, inner blank made '?'",
      e.get("TCPREMOTEINFO") == "bob?smith", tcpvars(e))

ident["mode"] = "hostile"
rc, e, err, cport, _ = run([])
v = e.get("TCPREMOTEINFO", "")
safe = all(c.isalnum() or c in "._+=-?" for c in v)
check("hostile ident: sanitised, at most 64 bytes",
      rc == 0 and safe and len(v) == 64 and v.startswith("e?v??1mil?????x?y"), repr(v))

ident["mode"] = "long"
rc, e, err, cport, _ = run([])
check("ident answer over 1000 bytes without line end: ignored", rc == 0 and "TCPREMOTEINFO" not in e,
      tcpvars(e))

for mode in ("wrongport", "error"):
    ident["mode"] = mode
    rc, e, err, cport, _ = run([])
    check("ident %s answer: no TCPREMOTEINFO" % mode, rc == 0 and "TCPREMOTEINFO" not in e, tcpvars(e))

ident["mode"] = "silent"
rc, e, err, cport, dt = run(["-t", "2"])
check("silent ident server: gives up after -t 2", rc == 0 and "TCPREMOTEINFO" not in e and 1.5 < dt < 6,
      (dt, tcpvars(e)))
ident["mode"] = "good"

rc, e, err, cport, _ = run(["-t", "0"])
check("-t 0 is a usage error (111, as qmail's failures)", rc == 111 and "usage" in err, (rc, err))

# ---- IPv6 ----
rc, e, err, cport, _ = run([], fam=socket.AF_INET6, listen="::1", connect="::1")
want = {"PROTO": "TCP", "TCPLOCALIP": "::1", "TCPLOCALPORT": str(PORT), "TCPLOCALHOST": "localhost6.test",
        "TCPREMOTEIP": "::1", "TCPREMOTEPORT": str(cport), "TCPREMOTEHOST": "localhost6.test",
        "TCPREMOTEINFO": "alice"}
check("IPv6: the variables, ident over IPv6", rc == 0 and tcpvars(e) == want, (tcpvars(e), err))
check("IPv6: ident query went to ::1 from ::1", ident["queries"][-1][:2] == ("::1", "::1"), ident["queries"][-1])

rc, e, err, cport, _ = run([], fam=socket.AF_INET6, listen="::", connect="127.0.0.1", v6only=False)
check("IPv4-mapped peer shown as plain IPv4",
      e.get("TCPREMOTEIP") == "127.0.0.1" and e.get("TCPLOCALIP") == "127.0.0.1" and
      e.get("TCPREMOTEHOST") == "localhost", tcpvars(e))
check("IPv4-mapped: ident asked over IPv4", e.get("TCPREMOTEINFO") == "alice" and
      ident["queries"][-1][0] == "127.0.0.1", (tcpvars(e), ident["queries"][-1]))

# ---- host names through DNS (dnsmasq in the namespace) ----
if DNS:
    rc, e, err, cport, _ = run(["-R"], src="127.0.0.5")
    check("PTR name whose A record is another address: no TCPREMOTEHOST",
          e.get("TCPREMOTEIP") == "127.0.0.5" and "TCPREMOTEHOST" not in e, tcpvars(e))
    rc, e, err, cport, _ = run(["-R"], src="127.0.0.7")
    check("confirmed name, lowercased", e.get("TCPREMOTEHOST") == "good.test", tcpvars(e))
    rc, e, err, cport, _ = run(["-R"], src="127.0.0.8")
    check("PTR name that reads as an address: ignored", "TCPREMOTEHOST" not in e, tcpvars(e))
else:
    print("SKIP no dnsmasq", flush=True)

# ---- PROTO already TCP: nothing changes ----
pre = {"PROTO": "TCP", "TCPREMOTEIP": "192.0.2.9", "TCPREMOTEHOST": "kept.example"}
qn = len(ident["queries"])
rc, e, err, cport, _ = run([], env=pre)
check("PROTO=TCP already: environment untouched, no ident",
      rc == 0 and tcpvars(e) == pre and len(ident["queries"]) == qn, tcpvars(e))

# ---- qmail-smtpd behind tcp-env ----
def smtpd_session():
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", PORT))
    ls.listen(1)
    cl = socket.create_connection(("127.0.0.1", PORT), 10)
    conn, _ = ls.accept()
    ls.close()

    def drop():
        os.setgroups([])
        os.setgid(GID)
        os.setuid(UID)

    p = subprocess.Popen([TCPENV, SMTPD], stdin=conn, stdout=conn, stderr=subprocess.PIPE,
                         env={"PATH": "/usr/bin:/bin"}, preexec_fn=drop)
    conn.close()
    f = cl.makefile("rb")

    def reply():
        lines = []
        while True:
            line = f.readline()
            lines.append(line)
            if len(line) < 4 or line[3:4] != b"-":
                return b"".join(lines)

    got = [reply()]
    for cmd in (b"HELO client.test", b"MAIL FROM:<sender@client.test>", b"RCPT TO:<" + RCPT.encode() + b">",
                b"DATA"):
        cl.sendall(cmd + b"\r\n")
        got.append(reply())
    cl.sendall(b"Subject: through tcp-env\r\n\r\nhello\r\n.\r\n")
    got.append(reply())
    cl.sendall(b"QUIT\r\n")
    got.append(reply())
    p.wait(30)
    cl.close()
    return got, p.stderr.read().decode(errors="replace")


ident["mode"] = "good"
got, err = smtpd_session()
check("qmail-smtpd via tcp-env: message accepted", got[-2].startswith(b"250"), (got, err))
