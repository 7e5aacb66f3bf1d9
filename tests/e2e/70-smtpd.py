# driver for 70-smtpd.t: prints "PASS name" / "FAIL name :: detail"
import os, socket, smtplib, subprocess, sys, threading, time
from qtest import check, maildir_msgs, wait_count, wait_queue_empty
HOST = '127.0.0.1'
PORT = int(sys.argv[1])
U = sys.argv[2]          # test user's login (local part)
D = 's.test'
Q = sys.argv[3]
MD = sys.argv[4]         # the user's Maildir

class S:
    def __init__(self, src='127.0.0.1', port=None):
        self.s = socket.create_connection((HOST, port or PORT), timeout=30, source_address=(src, 0))
        self.f = self.s.makefile('rb')
        self.greet = self.reply()
    def reply(self):
        lines = []
        while True:
            l = self.f.readline()
            if not l:
                return (0, b''.join(lines) + b'EOF')
            lines.append(l)
            if l[3:4] != b'-':
                break
        return (int(lines[-1][:3]), b''.join(lines))
    def send(self, b):
        self.s.sendall(b)
    def cmd(self, c):
        self.send(c if isinstance(c, bytes) else c.encode() + b'\r\n')
        return self.reply()
    def close(self):
        # the makefile() object keeps the socket open: shut it down
        try: self.s.shutdown(socket.SHUT_RDWR)
        except Exception: pass
        try: self.f.close(); self.s.close()
        except Exception: pass

rcpt = '%s@%s' % (U, D)

# ---- protocol ----
s = S()
check('greeting 220 ESMTP', s.greet[0] == 220 and b'ESMTP' in s.greet[1], s.greet)
check('MAIL before HELO: 250 (as qmail)', s.cmd('MAIL FROM:<a@b.test>')[0] == 250)
check('RSET 250', s.cmd('RSET')[0] == 250)
check('HELO without name: 501', s.cmd('HELO')[0] == 501)
c, t = s.cmd('EHLO client.test')
check('EHLO 250', c == 250, t)
for kw in (b'PIPELINING', b'8BITMIME', b'SIZE 100000', b'ENHANCEDSTATUSCODES'):
    check('EHLO advertises ' + kw.decode(), kw in t, t)
check('RCPT before MAIL: 503', s.cmd('RCPT TO:<%s>' % rcpt)[0] == 503)
check('DATA before MAIL: 503', s.cmd('DATA')[0] == 503)
check('unknown command: 502', s.cmd('EXPN root')[0] == 502)
check('VRFY: 252', s.cmd('VRFY root')[0] == 252)
check('NOOP: 250', s.cmd('NOOP')[0] == 250)
check('HELP: 214', s.cmd('HELP')[0] == 214)
check('RSET: 250', s.cmd('RSET')[0] == 250)
check('MAIL without FROM: 555', s.cmd('MAIL <a@b.test>')[0] == 555)
check('MAIL unknown parameter: 555', s.cmd('MAIL FROM:<a@b.test> FOO=bar')[0] == 555)
check('shellshock sender refused', s.cmd('MAIL FROM:<() { :; }; /bin/touch /tmp/pwned@x.test>')[0] == 553)
check('quoted shellshock sender refused', s.cmd('MAIL FROM:<"() { :; }; id"@x.test>')[0] == 553)
check('sender without domain refused', s.cmd('MAIL FROM:<joe>')[0] == 553)
check('sender with control char refused', s.cmd(b'MAIL FROM:<a\x01b@x.test>\r\n')[0] >= 500)
check('sender with ; refused', s.cmd('MAIL FROM:<a;id@x.test>')[0] == 553)
# senders qmail accepts and real mail uses: dots anywhere in the local part
# (Japanese mobile carriers), long VERP/SRS local parts, long labels
for a in ('first.last.@docomo.ne.jp', 'a..b@x.test', '.a@x.test',
          'SRS0=' + 'h' * 120 + '=x.test=' + 'u' * 60 + '@srs.test',
          'u@' + 'l' * 70 + '.test'):
    c, t = s.cmd('MAIL FROM:<%s>' % a)
    check('sender accepted: ' + a[:40], c == 250, t)
    s.cmd('RSET')
check('SIZE over databytes: 552', s.cmd('MAIL FROM:<a@b.test> SIZE=200000')[0] == 552)
check('MAIL with SIZE and BODY: 250', s.cmd('MAIL FROM:<a@b.test> SIZE=100 BODY=8BITMIME')[0] == 250)
check('nested MAIL: 503', s.cmd('MAIL FROM:<a@b.test>')[0] == 503)
check('DATA before RCPT: 503', s.cmd('DATA')[0] == 503)
check('RCPT without brackets accepted', s.cmd('RCPT TO:%s' % rcpt)[0] == 250)
check('RCPT with source route stripped', s.cmd('RCPT TO:<@relay.test,@b.test:%s>' % rcpt)[0] == 250)
check('NUL in command: 501', s.cmd(b'NOOP \x00x\r\n')[0] == 501)
big = b'NOOP ' + b'x' * (1 << 20) + b'\r\n'
check('1 MB command line: 500', s.cmd(big)[0] == 500)
check('session usable after the long line', s.cmd('NOOP')[0] == 250)
check('empty sender <> accepted', s.cmd('RSET')[0] == 250 and s.cmd('MAIL FROM:<>')[0] == 250)
check('QUIT: 221', s.cmd('QUIT')[0] == 221)
s.close()

# ---- relay tricks from a client without RELAYCLIENT ----
s = S()
s.cmd('HELO client.test')
s.cmd('MAIL FROM:<a@b.test>')
tricks = ['u@evil.test', 'u%%evil.test@%s' % D, 'evil.test!u@%s' % D, '"u@evil.test"@%s' % D,
          '@%s:u@evil.test' % D, 'u@evil.test@%s' % D, '%s@evil.test@%s' % (U, D), 'u@[10.1.2.3]',
          'u@%s.' % D, 'u@%s..' % D, 'U@EVIL.TEST', 'u@s.test.evil.test', 'u@evil.test.',
          'u\\@evil.test@%s' % D, 'nodomain', '"u%%evil"@%s' % D, 'u@[127.0.0.2]']
for a in tricks:
    c, t = s.cmd('RCPT TO:<%s>' % a)
    check('relay trick refused: ' + a, c >= 500, t)
c, t = s.cmd('RCPT TO:<%s@S.TEST>' % U.upper())
check('local user in other case accepted', c == 250, t)
c, t = s.cmd('RCPT TO:<%s@[127.0.0.1]>' % U)
check('local IP literal accepted', c == 250, t)
c, t = s.cmd('RCPT TO:<postmaster>')
check('bare postmaster accepted', c == 250, t)
s.close()

# ---- relay client ----
s = S('127.0.0.2')
s.cmd('HELO client.test')
s.cmd('MAIL FROM:<a@b.test>')
c, t = s.cmd('RCPT TO:<u@evil.test>')
check('RELAYCLIENT may relay', c == 250, t)
s.cmd('RSET')
c, t = s.cmd('MAIL FROM:<root>')
check('RELAYCLIENT: unqualified sender accepted (as qmail)', c == 250, t)
c, t = s.cmd('RCPT TO:<%s>' % rcpt)
check('RELAYCLIENT: RCPT after unqualified sender', c == 250, t)
s.cmd('RSET')
c, t = s.cmd('MAIL FROM:<() { :; }; id>')
check('RELAYCLIENT: unqualified shellshock sender refused', c == 553, t)
s.close()

# ---- recipient validation ----
s = S()
s.cmd('HELO client.test')
s.cmd('MAIL FROM:<a@b.test>')
for a, want in [('nosuch', 550), (U, 250), (U + '-ext', 250), (U + '-noext', 550),
                (U + '-foo-bar', 250), (U + '-foo-', 250), (U + '-fo', 550), ('postmaster', 250),
                ('myalias', 250), ('assigned', 250), ('assigned-x', 550), ('Mailer-Daemon', 250)]:
    c, t = s.cmd('RCPT TO:<%s@%s>' % (a, D))
    check('rcptcheck %s -> %d' % (a, want), c == want, t)
s.close()
open(os.path.join(Q, 'control', 'rcptcheck'), 'w').write('0\n')
s = S()
s.cmd('HELO client.test')
s.cmd('MAIL FROM:<a@b.test>')
c, t = s.cmd('RCPT TO:<nosuch@%s>' % D)
check('rcptcheck off via control/rcptcheck', c == 250, t)
s.close()
os.unlink(os.path.join(Q, 'control', 'rcptcheck'))

# ---- policy ----
s = S()
s.cmd('HELO client.test')
s.cmd('MAIL FROM:<bad@evil.test>')
check('badmailfrom exact: RCPT 553', s.cmd('RCPT TO:<%s>' % rcpt)[0] == 553)
s.cmd('RSET')
s.cmd('MAIL FROM:<Someone@SPAM.test>')
check('badmailfrom @domain: RCPT 553', s.cmd('RCPT TO:<%s>' % rcpt)[0] == 553)
s.close()
s = S('127.0.0.3')
s.cmd('HELO client.test')
s.cmd('MAIL FROM:<a@b.test>')
c, t = s.cmd('RCPT TO:<%s>' % rcpt)
check('BOUNCEMAIL text on RCPT', c == 553 and b'go away' in t, t)
s.close()
s = S('127.0.0.4')
check('rblsmtpd greeting', b'rblsmtpd' in s.greet[1], s.greet)
s.cmd('HELO client.test')
s.cmd('MAIL FROM:<a@b.test>')
c, t = s.cmd('RCPT TO:<%s>' % rcpt)
check('rblsmtpd RBLSMTPD=-text: 553', c == 553 and b'listed' in t, t)
s.close()

# ---- messages ----
base = len(maildir_msgs(MD))
sm = smtplib.SMTP(HOST, PORT, timeout=30)
sm.ehlo('client.test')
sm.mail('a@b.test')
sm.rcpt(rcpt)
c, t = sm.data(b'Subject: one\r\nMessage-ID: <one@test>\r\n\r\nbody\r\n.dotted\r\n')
sm.quit()
check('smtplib message: 250 with id', c == 250 and b' id ' in t, t)
qid = t.split(b' id ')[-1].strip().decode() if b' id ' in t else 'none'
n = wait_count(MD, base + 1)
check('delivered to Maildir', n == base + 1, n)
send_log = subprocess.run(['sh', '-c', 'cat %s/log/qmail-send/current' % Q], capture_output=True).stdout
check('qmail-send logged new msg with the same id', ('new msg %s' % qid).encode() in send_log)
msg = max(maildir_msgs(MD), key=os.path.getmtime)
body = open(msg, 'rb').read()
check('Received line names client', b'Received: from unknown (HELO client.test) (127.0.0.1)' in body, body[:400])
check('dot unstuffed', b'\n.dotted\n' in body and b'\n..dotted\n' not in body, body)

# NUL and 8-bit content
base = len(maildir_msgs(MD))
s = S()
s.cmd('EHLO client.test'); s.cmd('MAIL FROM:<a@b.test>'); s.cmd('RCPT TO:<%s>' % rcpt)
c, t = s.cmd('DATA')
c, t = s.cmd(b'Subject: nul\r\n\r\na\x00b \xe9\xff\r\n.\r\n')
check('NUL and 8-bit body accepted', c == 250, t)
s.close()
wait_count(MD, base + 1)
msg = max(maildir_msgs(MD), key=os.path.getmtime)
check('NUL and 8-bit stored', b'a\x00b \xe9\xff\n' in open(msg, 'rb').read())

# smuggling: CR . CR LF is data; only CRLF.CRLF ends
base = len(maildir_msgs(MD))
s = S()
s.cmd('EHLO client.test'); s.cmd('MAIL FROM:<a@b.test>'); s.cmd('RCPT TO:<%s>' % rcpt); s.cmd('DATA')
c, t = s.cmd(b'Subject: smuggle\r\n\r\nabc\r.\r\nMAIL FROM:<x@y.test>\r\nRCPT TO:<evil@evil.test>\r\n.\r\n')
check('<CR>.<CR><LF> does not end DATA', c == 250, t)
check('no extra replies after smuggling attempt', s.cmd('NOOP')[0] == 250)
s.close()
wait_count(MD, base + 1)
msg = max(maildir_msgs(MD), key=os.path.getmtime)
check('smuggled commands stored as content', b'abc\r.\nMAIL FROM:<x@y.test>\n' in open(msg, 'rb').read())
# CR LF . CR without LF: qmail keeps the dot and the CR (".\rX", ".\r\r\n"
# -> ".\r\n"); a dot before anything else still goes; the session stays in step
base = len(maildir_msgs(MD))
s = S()
s.cmd('EHLO client.test'); s.cmd('MAIL FROM:<a@b.test>'); s.cmd('RCPT TO:<%s>' % rcpt); s.cmd('DATA')
c, t = s.cmd(b'Subject: dotcr\r\n\r\nA\r\n.\rX\r\nB\r\n.\r\r\nC\r\n..\rY\r\n.\rMAIL FROM:<x@y.test>\r\n'
             b'.x\r\n.\r.\r\n.\r\n')
check('CR LF . CR <not LF> does not end DATA', c == 250, t)
check('no extra replies after CR LF . CR data', s.cmd('NOOP')[0] == 250)
s.close()
wait_count(MD, base + 1)
msg = max(maildir_msgs(MD), key=os.path.getmtime)
stored = open(msg, 'rb').read()
stored = stored[stored.find(b'Subject: dotcr'):]
check('CR LF . CR <not LF>: dot and CR stored byte for byte',
      stored == b'Subject: dotcr\n\nA\n.\rX\nB\n.\r\nC\n.\rY\n.\rMAIL FROM:<x@y.test>\nx\n.\r.\n', stored)
for name, payload in [('<LF>.<LF>', b'Subject: x\r\n\r\nabc\n.\nQUIT\n'),
                      ('<LF>.<CR><LF>', b'Subject: x\r\n\r\nabc\n.\r\nNOOP\r\n'),
                      ('bare LF in header', b'Subject: x\n\r\nabc\r\n.\r\n')]:
    s = S()
    s.cmd('EHLO client.test'); s.cmd('MAIL FROM:<a@b.test>'); s.cmd('RCPT TO:<%s>' % rcpt); s.cmd('DATA')
    c, t = s.cmd(payload)
    c2, t2 = s.reply()
    check('smuggling %s: 451 and hang up' % name, c == 451 and c2 == 0, (t, t2))
    check('smuggling %s: qmail\'s smtplf text' % name,
          t == b'451 4.6.0 See http://pobox.com/~djb/docs/smtplf.html. (#4.6.0)\r\n', t)
    s.close()

# limits
def one(payload, src='127.0.0.1'):
    s = S(src)
    s.cmd('EHLO client.test'); s.cmd('MAIL FROM:<a@b.test>'); s.cmd('RCPT TO:<%s>' % rcpt)
    s.cmd('DATA')
    r = s.cmd(payload)
    s.close()
    return r
c, t = one(b'Subject: big\r\n\r\n' + (b'x' * 1000 + b'\r\n') * 120 + b'.\r\n')
check('over databytes: 552', c == 552, t)
c, t = one(b'X-Long: ' + b'y' * 100000 + b'\r\n\r\nbody\r\n.\r\n')
check('100 KB header line: 552', c == 552, t)
c, t = one(b''.join(b'Received: from h%d\r\n' % i for i in range(101)) + b'\r\nb\r\n.\r\n')
check('101 Received lines: 554', c == 554, t)
c, t = one(b''.join(b'Delivered-To: h%d\r\n' % i for i in range(99)) + b'\r\nb\r\n.\r\n')
check('99 Delivered-To lines (ours not counted): 250', c == 250, t)
# qmail refuses at 100 hops (hops >= MAXHOPS), not only at 101
c, t = one(b''.join(b'Received: from h%d\r\n' % i for i in range(100)) + b'\r\nb\r\n.\r\n')
check('100 Received lines: 554 5.4.6 looping', c == 554 and b'5.4.6' in t and b'looping' in t, t)
c, t = one(b''.join(b'Received: from h%d\r\nDelivered-To: d%d\r\n' % (i, i) for i in range(50)) +
           b'\r\nb\r\n.\r\n')
check('50 Received + 50 Delivered-To lines: 554', c == 554, t)
s = S()
s.cmd('EHLO client.test'); s.cmd('MAIL FROM:<a@b.test>')
s.send(b''.join(b'RCPT TO:<%s>\r\n' % rcpt.encode() for _ in range(1201)))
codes = [s.reply()[0] for _ in range(1201)]
check('1000 recipients then 452', codes[:1000] == [250] * 1000 and set(codes[1000:]) == {452}, codes[995:1005])
s.close()

# pipelining: one write, all replies in order
base = len(maildir_msgs(MD))
s = S()
s.cmd('EHLO client.test')
s.send(('MAIL FROM:<a@b.test>\r\nRCPT TO:<%s>\r\nRCPT TO:<nosuch@%s>\r\nDATA\r\n' % (rcpt, D)).encode())
codes = [s.reply()[0] for _ in range(4)]
check('pipelined replies', codes == [250, 250, 550, 354], codes)
s.send(b'Subject: piped\r\n\r\nx\r\n.\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<' + rcpt.encode() + b'>\r\nDATA\r\n')
codes = [s.reply()[0] for _ in range(4)]
check('pipelined second message', codes == [250, 250, 250, 354], codes)
c, t = s.cmd(b'Subject: piped2\r\n\r\ny\r\n.\r\n')
check('second pipelined message accepted', c == 250, t)
s.close()
check('pipelined messages delivered', wait_count(MD, base + 2) == base + 2)

# disconnect in the middle of DATA: nothing queued
check('queue empty before mid-DATA disconnect', wait_queue_empty(Q))
base = len(maildir_msgs(MD))
s = S()
s.cmd('EHLO client.test'); s.cmd('MAIL FROM:<a@b.test>'); s.cmd('RCPT TO:<%s>' % rcpt); s.cmd('DATA')
s.send(b'Subject: cut\r\n\r\npartial body\r\n')
s.close()
time.sleep(1)
qe = wait_queue_empty(Q)
check('mid-DATA disconnect: nothing queued', qe and len(maildir_msgs(MD)) == base,
      (len(maildir_msgs(MD)) - base, [os.path.join(r, f) for r, d, fs in os.walk(os.path.join(Q, 'queue', 'mess')) for f in fs]))

# 100 parallel sessions x 10 messages
base = len(maildir_msgs(MD))
errors = []
def worker(k):
    try:
        sm = smtplib.SMTP(HOST, PORT, timeout=120)
        sm.ehlo('load%d.test' % k)
        for j in range(10):
            sm.sendmail('a@b.test', [rcpt], b'Subject: load\r\nMessage-ID: <load-%d-%d@test>\r\n\r\nx\r\n' % (k, j))
        sm.quit()
    except Exception as e:
        errors.append(repr(e))
th = [threading.Thread(target=worker, args=(k,)) for k in range(100)]
t0 = time.time()
for x in th: x.start()
for x in th: x.join()
check('100x10 sessions without error', not errors, errors[:3])
n = wait_count(MD, base + 1000, 180)
ids = {}
for m in maildir_msgs(MD):
    for l in open(m, 'rb').read().split(b'\n'):
        if l.startswith(b'Message-ID: <load-'):
            ids[l] = ids.get(l, 0) + 1
            break
check('1000 delivered (%.1f s)' % (time.time() - t0), n - base == 1000, n - base)
check('1000 distinct Message-IDs, none duplicated', len(ids) == 1000 and max(ids.values()) == 1, (len(ids), max(ids.values() or [0])))
