# driver for 75-pop3.t: prints "PASS name" / "FAIL name :: detail"
import hashlib, os, poplib, re, socket, sys, time
from qtest import check
HOST = '127.0.0.1'
PORT = int(sys.argv[1])
U, PW, MD, FD3 = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]

class Raw:
    """a POP3 session on a plain socket, for the exact bytes"""
    def __init__(self):
        self.s = socket.create_connection((HOST, PORT), timeout=30)
        self.f = self.s.makefile('rb')
        self.greet = self.f.readline()
    def cmd(self, c):
        self.s.sendall(c if isinstance(c, bytes) else c.encode() + b'\r\n')
        return self.f.readline()
    def multi(self):
        out = b''
        while True:
            l = self.f.readline()
            if not l:
                return out + b'EOF'
            out += l
            if l == b'.\r\n':
                return out
    def close(self):
        try: self.s.shutdown(socket.SHUT_RDWR)
        except Exception: pass
        self.f.close(); self.s.close()

def hung_up(r):
    # a close with our unread bytes in its buffer is a reset: also a hang-up
    try:
        return r.f.readline() == b''
    except ConnectionError:
        return True

def files():
    return sorted(os.path.join(d, f) for d in ('new', 'cur') for f in os.listdir(os.path.join(MD, d)))

def login():
    p = poplib.POP3(HOST, PORT, timeout=30)
    p.user(U)
    p.pass_(PW)
    return p

# ---- greeting and AUTHORIZATION state ----
r = Raw()
check('greeting carries an APOP timestamp', re.match(rb'^\+OK <\d+\.\d+@p\.test>\r\n$', r.greet), r.greet)
check('STAT before login refused', r.cmd('STAT').startswith(b'-ERR'))
check('PASS before USER refused', r.cmd('PASS x').startswith(b'-ERR'))
check('USER without a name refused', r.cmd('USER').startswith(b'-ERR'))
check('unknown command refused', r.cmd('XYZZY').startswith(b'-ERR'))
check('NOOP', r.cmd('noop').startswith(b'+OK'))
r.s.sendall(b'CAPA\r\n')
capa = r.f.readline() + r.multi()
check('CAPA lists TOP, USER, UIDL', all(w in capa for w in (b'\r\nTOP\r\n', b'USER\r\n', b'UIDL\r\n')), capa)
check('USER with a NUL refused', r.cmd(b'USER a\0b\r\n').startswith(b'-ERR'))
check('USER accepted', r.cmd('USER ' + U).startswith(b'+OK'))
bad = r.cmd('PASS wrongpass')
check('wrong password: -ERR authorization failed, in qmail-popup\'s words', bad == b'-ERR authorization failed\r\n', bad)
# one try per connection, as qmail's: the refusal ends it
try:
    rest = r.f.read()
except ConnectionError:
    rest = b'RESET'
check('a failed login ends the connection', rest == b'', rest)
r.close()
r = Raw()
r.cmd('USER ' + U)
good = r.cmd('PASS ' + PW)
check('right password on a new connection', good.startswith(b'+OK'), good)
check('STAT after login', re.match(rb'^\+OK 4 \d+\r\n$', r.cmd('STAT')))
r.close()  # no QUIT: the messages stay in new/ for the tests below

# hostile input
r = Raw()
r.s.sendall(b'USER ' + b'x' * 100000 + b'\r\n')
l = r.f.readline()
check('100 KB command line: -ERR and hang up', l.startswith(b'-ERR') and hung_up(r), l)
r.close()
r = Raw()
check('server still answers after that', r.greet.startswith(b'+OK'))
check('a 300-byte user name refused', r.cmd('USER ' + 'u' * 300).startswith(b'-ERR'))
check('QUIT before login', r.cmd('QUIT').startswith(b'+OK') and hung_up(r))
r.close()

# APOP: the digest goes to the checkpassword as the password
r = Raw()
ts = re.search(rb'<[^>]*>', r.greet).group(0)
digest = hashlib.md5(ts + PW.encode()).hexdigest()
ap = r.cmd('APOP %s %s' % (U, digest))
check('APOP login', ap.startswith(b'+OK'), ap)
with open(FD3, 'rb') as f:
    got = f.read()
check('APOP: fd 3 holds name, digest, timestamp', got == U.encode() + b'\0' + digest.encode() + b'\0' + ts + b'\0', got)
r.close()
r = Raw()
check('APOP without a digest refused', r.cmd('APOP ' + U).startswith(b'-ERR'))
r.close()

# ---- TRANSACTION state ----
before = files()
p = login()
n, size = p.stat()
check('STAT counts all four messages', n == 4, (n, size))
lst = p.list()[1]
sizes = [int(x.split()[1]) for x in lst]
check('LIST sizes add up to STAT', sum(sizes) == size, (lst, size))
uidl1 = {int(x.split()[0]): x.split()[1].decode() for x in p.uidl()[1]}
check('UIDLs are the unique names', uidl1[1] == '1000000000.M0P0.p.test' and uidl1[3] == '2000000000.M1P1.p.test'
      and uidl1[4] == '2000000001.M2P2.p.test', uidl1)
check('UIDL n', p.uidl(3).split()[2].decode() == uidl1[3])
check('oldest first: 1 is the old cur/ message', p.top(1, 0)[1][0] == b'Subject: old')
check('TOP 1 0: header and nothing more', p.top(1, 0)[1] == [b'Subject: old', b'X-A: 1', b''], p.top(1, 0))
check('TOP 1 2: two body lines', p.top(1, 2)[1] == [b'Subject: old', b'X-A: 1', b'', b'b1', b'b2'])
check('RETR (poplib undoes the dot-stuffing)', p.retr(3)[1] == [b'Subject: dots', b'', b'.', b'.dot', b'..two', b'end'], p.retr(3))
check('LAST is the highest message retrieved', p._shortcmd('LAST') == b'+OK 3')
check('DELE', p.dele(2).startswith(b'+OK'))
check('LAST stays: DELE 2 is below it', p._shortcmd('LAST') == b'+OK 3')
check('DELE 4 (never retrieved)', p.dele(4).startswith(b'+OK'))
check('LAST counts DELE as qmail-pop3d does', p._shortcmd('LAST') == b'+OK 4')
check('RSET puts LAST back to 0', p.rset().startswith(b'+OK') and p._shortcmd('LAST') == b'+OK 0')
check('DELE 2 again after RSET', p.dele(2).startswith(b'+OK'))
try:
    p.retr(2); check('RETR of a deleted message refused', False)
except poplib.error_proto as e:
    check('RETR of a deleted message refused', b'deleted' in e.args[0], e)
try:
    p.retr(9); check('RETR of a message that is not there refused', False)
except poplib.error_proto:
    check('RETR of a message that is not there refused', True)
check('STAT leaves deleted messages out', p.stat()[0] == 3)
p.rset()
check('RSET brings them back', p.stat()[0] == 4)
p.dele(2)
check('nothing changes on disk before QUIT', files() == before, files())
p.quit()
after = files()
delivered = [f for f in before if '.p.test' not in f]
check('QUIT removed the deleted message (2, the delivered one)', len(delivered) == 1 and len(after) == 3
      and not any(os.path.basename(delivered[0]) in f for f in after), (before, after))
check('QUIT moved new/ to cur/, retrieved ones flagged S',
      os.path.exists(os.path.join(MD, 'cur', '2000000000.M1P1.p.test:2,S')) and
      os.path.exists(os.path.join(MD, 'cur', '2000000001.M2P2.p.test:2,')) and not os.listdir(os.path.join(MD, 'new')), after)

# the exact bytes on the wire
r = Raw()
r.cmd('USER ' + U); r.cmd('PASS ' + PW)
uidl2 = {}
r.s.sendall(b'UIDL\r\n')
r.f.readline()
for l in r.multi().split(b'\r\n'):
    if l and l != b'.':
        k, v = l.split()
        uidl2[v.decode()] = int(k)
check('UIDLs survive the move to cur/', set(uidl2) == {uidl1[1], uidl1[3], uidl1[4]}, (uidl1, uidl2))
first = r.cmd('RETR %d' % uidl2[uidl1[3]])
check('RETR says +OK and the size', re.match(rb'^\+OK \d+ octets\r\n$', first), first)
body = r.multi()
check('RETR: CR LF, dots doubled, a line end added before the final dot',
      body == b'Subject: dots\r\n\r\n..\r\n..dot\r\n...two\r\nend\r\n.\r\n', body)
r.cmd('RETR %d' % uidl2[uidl1[4]])
body = r.multi()
check('RETR: CR LF in the file stays CR LF', body == b'Subject: crlf\r\n\r\nbody\r\n.\r\n', body)
r.cmd('DELE 1')
r.close()  # hung up without QUIT
time.sleep(0.5)
check('a session that hangs up changes nothing', files() == after, files())

# delete everything, then an empty mailbox
p = login()
for i in range(1, p.stat()[0] + 1):
    p.dele(i)
p.quit()
p = login()
check('empty mailbox: STAT 0 0', p.stat() == (0, 0))
check('empty mailbox: LIST is empty', p.list()[1] == [])
p.quit()
