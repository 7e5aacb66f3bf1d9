# driver for 76-checkpassword.t: qmail-popup + checkpassword + qmail-pop3d
# through tcpserver with poplib; prints "PASS name" / "FAIL name :: detail"
import hashlib, os, poplib, re, sys
from qtest import check
HOST = '127.0.0.1'
PORT = int(sys.argv[1])
U, PW, MD = sys.argv[2], sys.argv[3], sys.argv[4]

def files():
    return sorted(os.path.join(MD, d, f) for d in ('new', 'cur') for f in os.listdir(os.path.join(MD, d)))

def refused(name, user, pw, apop=False):
    p = poplib.POP3(HOST, PORT, timeout=30)
    try:
        if apop:
            p.apop(user, pw)
        else:
            p.user(user)
            p.pass_(pw)
        check(name, False, 'logged in')
    except poplib.error_proto as e:
        check(name, str(e).startswith("b'-ERR authorization failed"), e)
    try:
        p.quit()
    except Exception:
        pass

refused('wrong password refused', U, 'not the password')
refused('unknown user refused', 'qtnosuchuser', PW)
refused('root refused', 'root', PW)
# APOP with the right password: the digest cannot be checked, so no login
refused('APOP with the right password refused', U, PW, apop=True)

# a failure ends its connection (one try each, as qmail's); the next
# connection logs in
p = poplib.POP3(HOST, PORT, timeout=30)
try:
    p.user(U); p.pass_('nope')
except poplib.error_proto:
    pass
try:
    p.user(U)
    check('no second try on the connection of a failure', False, 'USER answered')
except (poplib.error_proto, OSError, EOFError) as e:
    check('no second try on the connection of a failure', True, e)
p = poplib.POP3(HOST, PORT, timeout=30)
p.user(U)
r = p.pass_(PW)
check('USER/PASS logs in after a failure, on a new connection', r.startswith(b'+OK'), r)

fs = files()
n, size = p.stat()
check('STAT counts the Maildir', n == len(fs) == 3, (n, fs))
lst = p.list()[1]
sizes = sorted(int(l.split()[1]) for l in lst)
check('LIST gives the file sizes', sizes == sorted(os.path.getsize(f) for f in fs), (lst, fs))
contents = {}
for f in fs:
    with open(f, 'rb') as fh:
        contents[fh.read()] = f
got = []
for i in range(1, n + 1):
    lines = p.retr(i)[1]
    got.append(b''.join(l + b'\n' for l in lines))
check('RETR gives every message intact', sorted(got) == sorted(contents), got)
check('a dot line arrives unstuffed', all(b'\n.dot line\n' in g for g in got), got)
uidl = p.uidl()[1]
check('UIDL lists 3', len(uidl) == 3, uidl)
p.dele(1)
p.dele(2)
r = p.quit()
check('QUIT after DELE', r.startswith(b'+OK'), r)
left = files()
check('two messages deleted, one left (in cur/)', len(left) == 1 and '/cur/' in left[0], left)

p = poplib.POP3(HOST, PORT, timeout=30)
p.user(U); p.pass_(PW)
check('a new session sees the one left', p.stat()[0] == 1)
p.dele(1)
p.quit()
check('Maildir empty', files() == [], files())
