# driver for 80-qmtp.t: prints "PASS name" / "FAIL name :: detail"
#   80-qmtp.py qmtp PORT USER Q MAILDIR QMQPIP
#   80-qmtp.py fakeqmqp REPLY      (a QMQP server under tcpserver: reads one
#                                   package, answers REPLY as a netstring)
import os, socket, sys, time
from qtest import check, maildir_msgs, wait_count, wait_queue_empty

def ns(b):
    return str(len(b)).encode() + b':' + b + b','

def readns(f):
    """one netstring from a binary file object, or None at EOF/garbage"""
    n = b''
    while True:
        c = f.read(1)
        if not c:
            return None
        if c == b':':
            break
        n += c
        if not c.isdigit():
            return None
    body = f.read(int(n))
    if f.read(1) != b',':
        return None
    return body

if sys.argv[1] == 'fakeqmqp':
    f = os.fdopen(0, 'rb')
    n = b''
    while True:
        c = f.read(1)
        if c in (b':', b''):
            break
        n += c
    f.read(int(n or b'0') + 1)
    os.write(1, ns(sys.argv[2].encode()))
    sys.exit(0)

PORT = int(sys.argv[2]); U = sys.argv[3]; Q = sys.argv[4]; MD = sys.argv[5]; QMQPIP = sys.argv[6]
R = U + '@a.test'

class C:
    def __init__(self, src='127.0.0.1', host='127.0.0.1', port=None):
        self.s = socket.create_connection((host, port or PORT), timeout=30, source_address=(src, 0))
        self.f = self.s.makefile('rb')
    def send(self, b):
        self.s.sendall(b)
    def replies(self, n):
        return [readns(self.f) for _ in range(n)]
    def pkg(self, msg, sender, rcpts):
        self.send(ns(msg) + ns(sender) + ns(b''.join(ns(r) for r in rcpts)))
        return self.replies(len(rcpts))
    def closed(self):
        """the server closed without sending anything"""
        try:
            return self.s.recv(100) == b''
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
    def close(self):
        try: self.s.shutdown(socket.SHUT_RDWR)
        except Exception: pass
        self.f.close(); self.s.close()

def find(subject):
    for m in maildir_msgs(MD):
        b = open(m, 'rb').read()
        if b'\nSubject: ' + subject + b'\n' in b or b'\nSubject: ' + subject + b'\r' in b:
            return b
    return None


def after_received(b, proto):
    """the bytes after our Received line (which must be the second one)"""
    i = b.find(b'Received: (qmail ')
    j = b.find(b'Received: from unknown (127.0.0.1)\n  by a.test with ' + proto + b'; ', i)
    if i < 0 or j < 0 or b.find(b'Received:', i + 1) != j:
        return None
    return b[b.index(b'\n', b.index(b'with ' + proto, j)) + 1:]

# ---- two messages in one connection, LF and CR mode ----
n0 = len(maildir_msgs(MD))
c = C()
lf = b'Subject: lf-mode\n\nline 1\nbare \r stays\n'
r1 = c.pkg(b'\n' + lf, b'a@b.test', [R.encode()])
cr = b'Subject: cr-mode\r\n\r\nline 1\r\nbare \r cr\r\nlast\r'
r2 = c.pkg(b'\r' + cr, b'a@b.test', [R.encode()])
check('LF-mode package: K', r1[0] is not None and r1[0].startswith(b'Kok '), r1)
check('K names the queue id', r1[0] is not None and b' id ' in r1[0], r1)
check('CR-mode package in the same connection: K', r2[0] is not None and r2[0][:1] == b'K', r2)
c.send(b'')
c.close()
wait_count(MD, n0 + 2)
b = find(b'lf-mode')
check('LF message delivered byte for byte after Received ... with QMTP', b is not None and after_received(b, b'QMTP') == lf, b)
b = find(b'cr-mode')
check('CR message: CR LF became LF, other CRs kept', b is not None and
      after_received(b, b'QMTP') == b'Subject: cr-mode\n\nline 1\nbare \r cr\nlast\r', b)

# ---- relaying ----
c = C()
r = c.pkg(b'\nSubject: relay-mixed\n\nx\n', b'a@b.test', [R.encode(), b'u@elsewhere.test', (U + '@relayonly.test').encode()])
check('mixed package: K for the local recipient', r[0] is not None and r[0][:1] == b'K', r)
check('no RELAYCLIENT: D for a domain not in rcpthosts', r[1] is not None and r[1][:1] == b'D' and b'rcpthosts' in r[1], r)
check('no RELAYCLIENT: D for a local but not rcpthosts domain', r[2] is not None and r[2][:1] == b'D', r)
c.close()
c = C(src='127.0.0.2')
r = c.pkg(b'\nSubject: relay-ok\n\nx\n', b'a@b.test', [(U + '@relayonly.test').encode()])
check('RELAYCLIENT: a domain outside rcpthosts is accepted', r[0] is not None and r[0][:1] == b'K', r)
c.close()
os.rename(Q + '/control/rcpthosts', Q + '/control/rcpthosts.off')
try:
    c = C()
    r = c.pkg(b'\nSubject: no-rcpthosts\n\nx\n', b'a@b.test', [R.encode()])
    check('no rcpthosts file: nobody relays, not even to a.test', r[0] is not None and r[0][:1] == b'D', r)
    c.close()
finally:
    os.rename(Q + '/control/rcpthosts.off', Q + '/control/rcpthosts')
c = C()
r = c.pkg(b'\nSubject: tricks\n\nx\n', b'a@b.test',
          [b'u%x@a.test', b'u@[10.0.0.1]', b'nosuchuser@a.test', b'', b'u\x01@a.test'])
check('percent hack refused', r[0] is not None and r[0][:1] == b'D', r)
check('address literal refused', r[1] is not None and r[1][:1] == b'D' and b'literal' in r[1], r)
check('unknown local user: D no mailbox (rcptcheck.cdb)', r[2] is not None and r[2][:1] == b'D' and b'mailbox' in r[2], r)
check('empty recipient refused', r[3] is not None and r[3][:1] == b'D', r)
check('control character refused', r[4] is not None and r[4][:1] == b'D', r)
r = c.pkg(b'\nSubject: badmf\n\nx\n', b'bad@evil.test', [R.encode(), R.encode()])
check('badmailfrom sender: D for every recipient', r == [r[0], r[0]] and r[0] is not None and b'badmailfrom' in r[0], r)
r = c.pkg(b'\nSubject: badsyntax\n\nx\n', b'a b@c.test', [R.encode()])
check('bad sender syntax: D', r[0] is not None and r[0][:1] == b'D', r)
r = c.pkg(b'\nSubject: nul\n\nx\n', b'a@b.test', [b'q\x00m@a.test', b'x' * 1000 + b'@a.test', b'y' * 990 + b'@b.test'])
check('NUL in recipient: D', r[0] is not None and r[0][:1] == b'D', r)
check('recipient of 1000+ bytes: D', r[1] is not None and r[1][:1] == b'D', r)
check('recipient of 997 bytes: passes the length check (refused as a relay)', r[2] is not None and b'rcpthosts' in r[2], r)
r = c.pkg(b'\nSubject: nulsender\n\nx\n', b'a\x00@b.test', [R.encode()])
check('NUL in sender: D', r[0] is not None and r[0][:1] == b'D', r)
r = c.pkg(b'\nSubject: longsender\n\nx\n', b's' * 1000 + b'@b.test', [R.encode()])
check('sender of 1000+ bytes: D', r[0] is not None and r[0][:1] == b'D', r)
r = c.pkg(b'\nSubject: after-refusals\n\nx\n', b'', [R.encode()])
check('the connection goes on after refusals (empty sender: K)', r[0] is not None and r[0][:1] == b'K', r)
c.close()

# ---- databytes ----
wait_count(MD, n0 + 5)
check('nothing left in the queue before the databytes test', wait_queue_empty(Q))
c = C(src='127.0.0.3')   # DATABYTES="300"
r = c.pkg(b'\nSubject: toobig\n\n' + b'z' * 400 + b'\n', b'a@b.test', [R.encode(), R.encode()])
check('over databytes: D for each recipient', r[0] is not None and r[0][:1] == b'D' and b'databytes' in r[0] and r[1] == r[0], r)
r = c.pkg(b'\nSubject: small\n\nok\n', b'a@b.test', [R.encode()])
check('a small message after it in the same connection: K', r[0] is not None and r[0][:1] == b'K', r)
c.close()

# ---- no recipients: no reply, nothing queued, the connection goes on ----
c = C()
c.send(ns(b'\nSubject: norcpt\n\nx\n') + ns(b'a@b.test') + ns(b''))
r = c.pkg(b'\nSubject: after-norcpt\n\nx\n', b'a@b.test', [R.encode()])
check('no recipients: no reply (as qmail), and the next package gets its K', r[0] is not None and r[0][:1] == b'K', r)
c.close()

# ---- malformed input: connection closed, nothing queued ----
bad = [
    ('non-digit length', b'1x:\nabc,'),
    ('leading zero', b'05:\nabcd,'),
    ('huge length', b'99999999999999999999999999:\n'),
    ('missing comma after the message', b'5:\nabcdX1:a,'),
    ('wrong first byte', b'5:Xabcd,8:a@b.test,5:1:x,,'),
    ('empty message netstring', b'0:,'),
    ('bad recipient netstring inside the list', ns(b'\nSubject: badlist\n\nx\n') + ns(b'a@b.test') + ns(b'3:abc')),
    ('truncated: EOF in the message', b'100:\nSubject: trunc\n\nabc'),
    ('truncated: EOF before the recipients', ns(b'\nSubject: trunc2\n\nx\n') + ns(b'a@b.test')),
]
for name, data in bad:
    c = C()
    c.send(data)
    c.s.shutdown(socket.SHUT_WR)
    check('malformed (%s): closed without a reply' % name, c.closed())
    c.close()
c = C()
c.send(b'1000000000:\nSubject: huge-declared\n\n')
time.sleep(0.2)
c.close()
time.sleep(0.5)
check('nothing queued by any malformed package', wait_queue_empty(Q))
n1 = wait_count(MD, n0 + 7)
time.sleep(1)
check('exactly the accepted messages were delivered', len(maildir_msgs(MD)) == n0 + 7, (len(maildir_msgs(MD)), n0))
for s in (b'badlist', b'norcpt', b'trunc', b'trunc2', b'toobig', b'huge-declared', b'badmf', b'nul'):
    check('not delivered: ' + s.decode(), find(s) is None)

# ---- QMQP ----
def qmqp(msg, sender, rcpts, src='127.0.0.1'):
    s = socket.create_connection((QMQPIP, 628), timeout=30, source_address=(src, 0))
    s.sendall(ns(ns(msg) + ns(sender) + b''.join(ns(r) for r in rcpts)))
    f = s.makefile('rb')
    r = readns(f)
    f.close(); s.close()
    return r
n2 = len(maildir_msgs(MD))
body = b'Subject: via-qmqp\n\nhello\r\nthere\n'
r = qmqp(body, b'a@b.test', [R.encode()])
check('qmqpd: K', r is not None and r[:1] == b'K', r)
wait_count(MD, n2 + 1)
b = find(b'via-qmqp')
i = b.find(b'Received: from unknown (127.0.0.1)\n  by a.test with QMQP; ') if b else -1
check('qmqpd: delivered with Received ... with QMQP, body unchanged', i > 0 and b.endswith(b'\n' + body), b)
r = qmqp(b'Subject: qmqp-nul\n\nx\n', b'a@b.test', [b'u\x00v@a.test'])
check('qmqpd: NUL in a recipient: D', r is not None and r[:1] == b'D', r)
r = qmqp(b'Subject: qmqp-long\n\nx\n', b'a@b.test', [b'u' * 1000 + b'@a.test'])
check('qmqpd: 1000-byte recipient: D', r is not None and r[:1] == b'D', r)
r = qmqp(b'Subject: qmqp-relay\n\nx\n', b'a@b.test', [(U + '@relayonly.test').encode()])
check('qmqpd relays for its clients (no rcpthosts check)', r is not None and r[:1] == b'K', r)
# control/databytes is the SMTP limit: qmail-qmqpd does not read it (a
# null client's big mail would bounce); $DATABYTES from tcprules counts
with open(Q + '/control/databytes', 'w') as f:
    f.write('200\n')
try:
    r = qmqp(b'Subject: qmqp-big\n\n' + b'y' * 2000 + b'\n', b'a@b.test', [R.encode()])
    check('qmqpd: control/databytes is not read (K for 2000 bytes over a limit of 200)',
          r is not None and r[:1] == b'K', r)
finally:
    os.unlink(Q + '/control/databytes')
r = qmqp(b'Subject: qmqp-toobig\n\n' + b'z' * 400 + b'\n', b'a@b.test', [R.encode()], src='127.0.0.3')
check('qmqpd: DATABYTES="300" from tcprules: D', r is not None and r[:1] == b'D' and b'databytes' in r, r)
r = qmqp(b'Subject: qmqp-norcpt\n\nx\n', b'a@b.test', [])
check('qmqpd: no recipient: K, as qmail (queued for nobody)', r is not None and r[:1] == b'K', r)
s = socket.create_connection((QMQPIP, 628), timeout=30)
s.sendall(b'20:5:\nabc')
s.shutdown(socket.SHUT_WR)
check('qmqpd: truncated package: closed without a reply', s.recv(100) == b'')
s.close()
check('qmqpd: nothing queued by the refused ones', wait_queue_empty(Q))
