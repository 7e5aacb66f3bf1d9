#!/bin/bash
# qmail-remote across hosts: a hub instance in its own network namespace,
# a DNS server (dnsmasq from Debian) and scripted SMTP sinks in another,
# joined by a veth pair with private addresses (10.201.0.0/16,
# fd00:201::/64) that exist only inside those namespaces.  Everything the
# test creates (namespaces, /etc/netns/<hub>/resolv.conf, processes) is
# removed at exit.
#
# Covers: MX preference, fallback when the primary is down, equal-preference
# spread, implicit MX, AAAA (IPv6), smtproutes with port, wildcard and
# default route, 4xx then success on SIGALRM, 5xx bounce with the remote
# text, SIZE refusal, connect timeout and tcpto (qmail-tcpto, qmail-tcpok),
# loop to self (by name and by address), NXDOMAIN, DNS server failure, a DNS answer > 512 bytes,
# shell/terminal metacharacters in an MX name and in reply text, bare CR/LF
# before dots (no smuggling), a 20 MB message, a dead domain not slowing
# the others, connection reuse (and servers that drop idle connections),
# queuelifetime bounce.
. "$(dirname "$0")/lib.sh"
t_init

for c in ip dnsmasq python3; do
  if ! command -v $c >/dev/null; then t_skip 1 "$c is not installed (install/deps)"; t_done; fi
done
if ! ip netns add "qrprobe$$" 2>/dev/null; then t_skip 1 "cannot create network namespaces"; t_done; fi
ip netns del "qrprobe$$"

H=qrh$$ N=qrn$$
SINKPIDS=()
DNSPID=
my_cleanup() {
  local rc=$? p
  for p in "${SINKPIDS[@]}" $DNSPID; do kill "$p" 2>/dev/null; done
  trap - EXIT
  # lib.sh's cleanup stops the instance and exits: run it in a subshell,
  # then remove the namespaces
  (_t_cleanup)
  ip netns del "$H" 2>/dev/null
  ip netns del "$N" 2>/dev/null
  rm -rf "/etc/netns/$H"
  exit "$rc"
}
trap my_cleanup EXIT

# ---- the network ------------------------------------------------------------
ip netns add "$H" && ip netns add "$N" || { echo "Bail out! netns"; exit 1; }
ip link add "qh$$" type veth peer name "qn$$"
ip link set "qh$$" netns "$H"
ip link set "qn$$" netns "$N"
for ns in "$H" "$N"; do
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 2>/dev/null
  ip -n "$ns" link set lo up
done
ip -n "$H" addr add 10.201.0.1/16 dev "qh$$"
ip -n "$H" addr add fd00:201::1/64 dev "qh$$" nodad
ip -n "$N" addr add 10.201.0.2/16 dev "qn$$"
ip -n "$N" addr add fd00:201::2/64 dev "qn$$" nodad
for a in 0.53 1.11 1.1 1.2 1.3 1.4 1.6 1.7 1.8 1.9; do ip -n "$N" addr add "10.201.$a/32" dev "qn$$"; done
ip -n "$N" addr add fd00:201::20/128 dev "qn$$" nodad
ip -n "$H" link set "qh$$" up
ip -n "$N" link set "qn$$" up
# 10.201.9.0/24 is routed into the other namespace, which does not forward:
# connections there vanish without an answer (a dead host, not a refusal)
ip -n "$H" route add 10.201.9.0/24 via 10.201.0.2
mkdir -p "/etc/netns/$H"
echo "nameserver 10.201.0.53" >"/etc/netns/$H/resolv.conf"
echo "options timeout:2 attempts:2" >>"/etc/netns/$H/resolv.conf"

# ---- DNS --------------------------------------------------------------------
{
  echo "no-resolv"; echo "no-hosts"; echo "bind-interfaces"; echo "pid-file="
  echo "listen-address=10.201.0.53"; echo "local=/test/"; echo "user=root"
  echo "log-facility=$T/dnsmasq.log"; echo "log-queries"
  echo "host-record=hub.test,10.201.0.1"
  # a zone whose server never answers sensibly: SERVFAIL/REFUSED
  echo "server=/tmpfail.test/10.201.0.2#9"
  echo "host-record=selfip.test,10.201.0.1"
  echo "host-record=mxa.test,10.201.1.1"
  echo "host-record=mx2host.test,10.201.1.11"
  echo "mx-host=mx2.test,mx2host.test,10"
  echo "host-record=mxb.test,10.201.1.2"
  echo "host-record=mxc.test,10.201.1.3"
  echo "host-record=mxd.test,10.201.1.4"
  echo "host-record=v6host.test,fd00:201::20"
  echo "host-record=implicit.test,10.201.1.6"
  echo "host-record=mxs.test,10.201.1.8"
  echo "host-record=down.test,10.201.1.10"
  echo "host-record=deadhost.test,10.201.9.9"
  echo "host-record=deadhost2.test,10.201.9.8"
  echo "mx-host=pref.test,mxb.test,20"; echo "mx-host=pref.test,mxa.test,10"
  echo "mx-host=fall.test,down.test,10"; echo "mx-host=fall.test,mxb.test,20"
  echo "mx-host=eq.test,mxc.test,10"; echo "mx-host=eq.test,mxd.test,10"
  echo "mx-host=v6.test,v6host.test,10"
  echo "mx-host=s.test,mxs.test,10"
  echo "cname=alias.test,s.test"
  echo "mx-host=loop1.test,hub.test,10"
  echo "mx-host=loop2.test,selfip.test,10"
  echo "mx-host=loop3.test,mxa.test,10"; echo "mx-host=loop3.test,hub.test,20"
  echo "mx-host=tcp.test,deadhost2.test,10"; echo "mx-host=tcp.test,mxb.test,20"
  echo "mx-host=dead.test,deadhost.test,10"
  echo 'mx-host=meta.test,x$(touch${IFS}/tmp/qr-pwned)`id`;|.meta.test,10'
  echo "mx-host=meta.test,mxa.test,20"
  for i in $(seq -w 1 60); do
    echo "mx-host=big.test,mx$i.a-rather-long-label-to-make-answers-big.big.test,10"
    echo "host-record=mx$i.a-rather-long-label-to-make-answers-big.big.test,10.201.1.9"
  done
} >"$T/dnsmasq.conf"
ip netns exec "$N" dnsmasq --no-daemon --conf-file="$T/dnsmasq.conf" 2>"$T/dnsmasq.err" &
DNSPID=$!

# ---- the sinks --------------------------------------------------------------
cat >"$T/sink.py" <<'PY'
#!/usr/bin/env python3
# SMTP sink for the qmail-remote tests: sink.py DIR ADDR PORT [ADDR PORT ...]
# Behaviour is read from DIR/mode at each connection (words, any order):
#   ok (default)  greet-hang  greet-4xx  greet-close  noehlo  nopipe  size=N  mail-5xx
#   rcpt-4xx  rcpt-5xx  data-4xx  final-4xx  final-5xx  drop-data  banner=TEXT
#   reply-text=TEXT (used in 4xx/5xx replies)
#   hangup-after (close the connection after each 250 to the final dot)
#   drop-second-mail (close without a reply at a connection's second MAIL)
# Every message accepted is saved as DIR/msg.N (envelope lines, blank line,
# body with dots unstuffed, CRLF kept); DIR/log gets each command line.
import os, socket, socketserver, sys, threading, time
D = sys.argv[1]
lock = threading.Lock()
def mode():
    try:
        return open(os.path.join(D, 'mode')).read().split('\n')
    except OSError:
        return ['ok']
def opt(m, k):
    for w in m:
        if w.startswith(k + '='): return w[len(k) + 1:]
    return None
def log(b):
    with lock:
        with open(os.path.join(D, 'log'), 'ab') as f: f.write(b + b'\n')
def save(env, body):
    with lock:
        n = len([x for x in os.listdir(D) if x.startswith('msg.')]) + 1
        with open(os.path.join(D, 'msg.%d.tmp' % n), 'wb') as f:
            f.write(b'\n'.join(env) + b'\n\n' + body)
        os.rename(os.path.join(D, 'msg.%d.tmp' % n), os.path.join(D, 'msg.%d' % n))
class H(socketserver.StreamRequestHandler):
    def w(self, s):
        self.wfile.write(s.encode() + b'\r\n'); self.wfile.flush()
    def handle(self):
        m = mode()
        txt = opt(m, 'reply-text') or 'sink says no'
        log(b'CONNECT ' + self.client_address[0].encode())
        if 'greet-hang' in m:
            time.sleep(30); return
        if 'greet-close' in m: return
        if 'greet-4xx' in m:
            # then logs what the client says before it closes (QUIT)
            self.w('421 ' + txt)
            self.request.settimeout(5)
            try: line = self.rfile.readline(10000)
            except OSError: return
            if line: log(line.rstrip(b'\r\n'))
            return
        self.w('220 ' + (opt(m, 'banner') or 'sink ESMTP'))
        env = []
        nmail = 0
        while True:
            line = self.rfile.readline(10000)
            if not line: return
            log(line.rstrip(b'\r\n'))
            cmd = line[:4].upper()
            if cmd == b'EHLO':
                if 'noehlo' in m: self.w('502 no'); continue
                ext = ['250-sink']
                if 'nopipe' not in m: ext.append('250-PIPELINING')
                if opt(m, 'size'): ext.append('250-SIZE ' + opt(m, 'size'))
                ext.append('250 8BITMIME')
                self.wfile.write(('\r\n'.join(ext) + '\r\n').encode()); self.wfile.flush()
            elif cmd == b'HELO': self.w('250 sink')
            elif cmd == b'MAIL':
                nmail += 1
                if 'drop-second-mail' in m and nmail == 2: return
                env = [line.rstrip(b'\r\n')]
                self.w('553 ' + txt if 'mail-5xx' in m else '250 ok')
            elif cmd == b'RCPT':
                if 'rcpt-5xx' in m: self.w('550-' + txt + '\r\n550 5.1.1 second line'); continue
                if 'rcpt-4xx' in m: self.w('451 ' + txt); continue
                env.append(line.rstrip(b'\r\n')); self.w('250 ok')
            elif cmd == b'DATA':
                if 'data-4xx' in m: self.w('451 ' + txt); continue
                if 'slow-data' in m: time.sleep(5)
                self.w('354 go')
                parts = []
                while True:
                    l = self.rfile.readline(1 << 20)
                    if not l: return
                    if l == b'.\r\n': break
                    if l.startswith(b'.'): l = l[1:]
                    parts.append(l)
                body = b''.join(parts)
                if 'drop-data' in m: return
                if 'final-5xx' in m: self.w('554 ' + txt); continue
                if 'final-4xx' in m: self.w('451 ' + txt); continue
                save(env, body)
                self.w('250 ok queued')
                if 'hangup-after' in m: return
            elif cmd == b'QUIT': self.w('221 bye'); return
            elif cmd == b'RSET': self.w('250 ok')
            else: self.w('502 unknown command')
class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
class S6(S):
    address_family = socket.AF_INET6
args = sys.argv[2:]
servers = []
for i in range(0, len(args), 2):
    cls = S6 if ':' in args[i] else S
    s = cls((args[i], int(args[i + 1])), H)
    servers.append(s)
    threading.Thread(target=s.serve_forever, daemon=True).start()
open(os.path.join(D, 'ready'), 'w').close()
while True: time.sleep(3600)
PY
sink() { # NAME ADDR PORT [ADDR PORT]
  local d=$T/s/$1
  shift
  mkdir -p "$d"
  echo ok >"$d/mode"
  ip netns exec "$N" python3 "$T/sink.py" "$d" "$@" 2>>"$d/err" &
  SINKPIDS+=($!)
}
sink A 10.201.1.1 25
sink B 10.201.1.2 25
sink C 10.201.1.3 25
sink D 10.201.1.4 25
sink E fd00:201::20 25
sink F 10.201.1.6 25
sink G1 10.201.1.7 2525
sink G2 10.201.1.7 2526
sink S 10.201.1.8 25
sink Hb 10.201.1.9 25
allready() { for s in A B C D E F G1 G2 S Hb; do [ -f "$T/s/$s/ready" ] || return 1; done; }
ok wait_for 20 allready
smode() { local s=$1; shift; printf '%s\n' "$@" >"$T/s/$s/mode"; }
nmsg() { find "$T/s/$1" -name 'msg.*' ! -name '*.tmp' | wc -l; }
has() { [ "$(nmsg "$1")" -ge "$2" ]; }
# the latest message a sink got
lastmsg() { echo "$T/s/$1/msg.$(nmsg "$1")"; }

# ---- the hub ----------------------------------------------------------------
ok inst_new hub || t_done
if [ ! -x "$Q/bin/qmail-remote" ]; then t_skip 1 "qmail-remote not built"; t_done; fi
SND=r$$s
user_new "$SND"
SHOME=$(home_of "qt$SND")
echo 2 >"$Q/control/timeoutconnect"
echo 20 >"$Q/control/timeoutremote"
printf '%s\n' 'route.test:10.201.1.7:2525' '.wild.test:[10.201.1.7]:2526' >"$Q/control/smtproutes"
# qmail-send and everything it starts live in the hub namespace: svscan is
# started there through a wrapper found first in PATH
mkdir -p "$T/nsbin"
printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$H" "$(command -v svscan)" >"$T/nsbin/svscan"
chmod 0755 "$T/nsbin/svscan"
PATH=$T/nsbin:$PATH ok inst_start || t_done
inj() { # RCPT [body file]
  local f=${2:-}
  if [ -z "$f" ]; then f=$T/.body; printf 'Subject: test\n\nhello %s\n' "$1" >"$f"; fi
  "$Q/bin/qmail-inject" -f "qt$SND@hub.test" "$1" <"$f"
}
logx() { inst_log | grep -c -- "$1"; }
logn() { [ "$(logx "$1")" -ge "$2" ]; }
bounces() { maildir_count "$SHOME/Maildir"; }
bounce_has() { grep -rl -- "$1" "$SHOME/Maildir/new" >/dev/null 2>&1; }

# ---- a second instance of ours as the remote MX (qmail-smtpd) ----------------
HUBQ=$Q
if [ -x "$Q/bin/qmail-smtpd" ] && command -v tcpserver >/dev/null; then
  inst_new mx2
  MX2Q=$Q
  RCV=r$$m
  user_new "$RCV"
  ok inst_start
  ip netns exec "$N" tcpserver -H -R -l mx2.test -u "$(id -u qtqmaild)" -g "$(id -g qtqmaild)" \
    10.201.1.11 25 env - PATH="$MX2Q/bin:/usr/bin:/bin" "$MX2Q/bin/qmail-smtpd" \
    >"$T/mx2-tcpserver.log" 2>&1 &
  SINKPIDS+=($!)
  Q=$HUBQ
  sleep 0.5
  RHOME=$(home_of "qt$RCV")
  ok inj "qt$RCV@mx2.test"
  ok wait_for 30 eval '[ $(maildir_count "$RHOME/Maildir") -ge 1 ]'
  printf 'Subject: smuggle2\n\nabc\r.\r\nMAIL FROM:<evil@attacker>\r\nRCPT TO:<qt%s@mx2.test>\r\nDATA\r\nsmuggled\r\n.\r\nx\n.\nend of it\n' "$RCV" >"$T/.smuggle2"
  ok inj "qt$RCV@mx2.test" "$T/.smuggle2"
  ok wait_for 30 eval '[ $(maildir_count "$RHOME/Maildir") -ge 2 ]'
  sleep 2
  is "$(maildir_count "$RHOME/Maildir")" 2 "our own qmail-smtpd got exactly one message for the smuggling body"
  ok grep -rq 'end of it' "$RHOME/Maildir/new"
else
  t_skip 1 "qmail-smtpd is not built: the second instance of ours is left out"
fi

# ---- routing ----------------------------------------------------------------
ok inj "u@pref.test"
ok wait_for 30 has A 1
is "$(nmsg B)" 0 "MX preference: the lower preference got it"
ok inj "u@fall.test"
ok wait_for 30 has B 1
like "$(cat "$T/s/B/log")" 'RCPT TO:<u@fall.test>' "primary refused: fallback MX used"
for i in $(seq 1 16); do inj "u$i@eq.test"; done
wait_for 60 eval '[ $(( $(nmsg C) + $(nmsg D) )) -ge 16 ]'
is "$(( $(nmsg C) + $(nmsg D) ))" 16 "equal preference: all delivered"
ok test "$(nmsg C)" -ge 2 -a "$(nmsg D)" -ge 2
ok inj "u@implicit.test"
ok wait_for 30 has F 1
ok inj "u@v6.test"
ok wait_for 30 has E 1
like "$(head -n 1 "$T/s/E/log")" 'CONNECT fd00:201::1' "AAAA: delivered over IPv6"
# control/helohost (with trailing blanks, as an admin may leave them) names
# us in EHLO, and nothing of the file's line end goes with it
printf 'helo-name.hub.test \t\n' >"$Q/control/helohost"
ok inj "u@route.test"
ok wait_for 30 has G1 1
rm -f "$Q/control/helohost"
is "$(sed -n 2,3p "$T/s/G1/log")" "EHLO helo-name.hub.test
MAIL FROM:<qt$SND@hub.test>" "control/helohost: EHLO names it, the MAIL command follows"
ok inj "u@x.y.wild.test"
ok wait_for 30 has G2 1
ok inj "u@alias.test"
ok wait_for 30 has S 1
like "$(cat "$(lastmsg S)")" 'u@alias.test' "CNAME followed to its MX"
ok inj "u@big.test"
ok wait_for 30 has Hb 1
like "$(grep -c 'big.test' "$T/dnsmasq.log")" '[1-9]' "big.test asked of the DNS server"
ok inj "u@meta.test"
ok wait_for 30 has A 2
ok test ! -e /tmp/qr-pwned

# ---- failures that bounce ---------------------------------------------------
b0=$(bounces)
ok inj "nobody@nx.test"
ok wait_for 30 eval '[ $(bounces) -gt '"$b0"' ]'
ok bounce_has "couldn't find any host named nx.test"
ok inj "u@tmpfail.test"
ok wait_for 40 logn 'deferral: Temporary_failure_looking_up_the_MX_records_of_tmpfail.test' 1
b0=$(bounces)
ok inj "u@loop1.test"
ok inj "u@loop2.test"
ok wait_for 30 eval '[ $(bounces) -ge '"$((b0 + 2))"' ]'
is "$(grep -rl 'loops back to myself' "$SHOME/Maildir/new" | wc -l)" 2 "loop to self by name and by address: bounced"
na=$(nmsg A)
ok inj "u@loop3.test"
ok wait_for 30 has A $((na + 1))
smode S rcpt-5xx $'reply-text=5.1.1 \e[2J\e]0;owned\a`reboot`; $(id) no such user'
b0=$(bounces)
ok inj "gone@s.test"
ok wait_for 30 eval '[ $(bounces) -gt '"$b0"' ]'
ok bounce_has 'no such user'
ok bounce_has '550 5.1.1 second line'
# qmail's texts: LF-ended lines, the recipient's text then the message's;
# in the bounce the lines stay lines, in the log LF is '/'
bf=$(grep -rl 'second line' "$SHOME/Maildir/new" | head -n 1)
is "$(sed -n '/^<gone@s.test>:$/,/^$/p' "$bf")" '<gone@s.test>:
10.201.1.8 does not like recipient.
Remote host said: 550-5.1.1 ?[2J?]0;owned?`reboot`; $(id) no such user
550 5.1.1 second line
Giving up on 10.201.1.8.' "bounce paragraph: one line per line of the report"
ok eval "inst_log | grep -qF 'failure: 10.201.1.8_does_not_like_recipient./Remote_host_said:_550-5.1.1_?[2J?]0;owned?\`reboot\`;_\$(id)_no_such_user/550_5.1.1_second_line/Giving_up_on_10.201.1.8./'"
ok logn 'success: 10.201.1.1_accepted_message./Remote_host_said:_250_ok_queued/$' 1
nok eval "inst_log | grep -q \$'\\e'"
nok eval "grep -rq \$'\\e' '$SHOME/Maildir/new'"
like "$(inst_log | grep 'no_such_user' | head -n 1)" 'reboot.;_..id._no_such_user' "remote text logged, sanitised"
smode S size=1000
big=$T/.bigbody
{ printf 'Subject: big\n\n'; head -c 3000 /dev/zero | tr '\0' 'x'; echo; } >"$big"
b0=$(bounces)
ok inj "u@s.test" "$big"
ok wait_for 30 eval '[ $(bounces) -gt '"$b0"' ]'
ok bounce_has 'bigger than the 1000-byte limit'

# ---- 4xx, then success on SIGALRM ---------------------------------------------
smode S rcpt-4xx
ns=$(nmsg S)
ok inj "later@s.test"
ok wait_for 30 logn 'deferral:.*does_not_like_recipient\|deferral:.*451' 1
is "$(nmsg S)" "$ns" "4xx: not delivered yet"
smode S ok
ok svc -a "$Q/supervise/qmail-send"
ok wait_for 30 has S $((ns + 1))

# ---- qmail-remote run by hand ------------------------------------------------------
# as qmailr in the hub's namespace; its records with NUL shown as |
QR_UID=$(id -u qtqmailr) QR_GID=$(id -g qtqmailr)
qr() { ip netns exec "$H" setpriv --reuid="$QR_UID" --regid="$QR_GID" --clear-groups "$Q/bin/qmail-remote" "$@" | tr '\0' '|'; }
printf 'Subject: by hand\n\nby hand\n' >"$T/.byhand"
smode S ok
# local parts that are not dot-atoms go out quoted, as qmail writes them
ns=$(nmsg S)
out=$(qr s.test 'a b@hub.test' 'a@b@s.test' <"$T/.byhand")
is "$out" 'r|K10.201.1.8 accepted message.
Remote host said: 250 ok queued
|' "records: LF-ended lines, each record NUL-terminated"
ok wait_for 10 has S $((ns + 1))
is "$(sed -n 1,2p "$(lastmsg S)")" 'MAIL FROM:<"a b"@hub.test>
RCPT TO:<"a@b"@s.test>' "MAIL FROM and RCPT TO quote a local part that is not a dot-atom"
# a usage error is a D record and exit code 0, as in qmail
out=$("$Q/bin/qmail-remote" a b </dev/null | tr '\0' '|'; echo "rc=${PIPESTATUS[0]}")
is "$out" 'DI (qmail-remote) was invoked improperly. (#5.3.5)
|rc=0' "usage error: a D record, exit code 0"
# a refusing greeting: QUIT before closing, as qmail does
smode S greet-4xx reply-text=busy-now
out=$(qr s.test "qt$SND@hub.test" 'g@s.test' <"$T/.byhand")
is "$out" 'ZConnected to 10.201.1.8 but the greeting failed. (#4.4.2)
Remote host said: 421 busy-now
|' "greeting 421: deferred, with the reply"
ok wait_for 10 eval '[ "$(tail -n 1 "$T/s/S/log")" = QUIT ]'
# every recipient refused, for now: each keeps its s record, and the
# message record is D "Giving up", as qmail's
smode S rcpt-4xx reply-text=later
out=$(qr s.test "qt$SND@hub.test" 'g@s.test' <"$T/.byhand")
is "$out" 's10.201.1.8 does not like recipient.
Remote host said: 451 later
|DGiving up on 10.201.1.8.
|' "RCPT 451 only: s record, then DGiving up"
# no greeting at all: the text says what happened, not an empty reply
smode S greet-close
out=$(qr s.test "qt$SND@hub.test" 'g@s.test' <"$T/.byhand")
is "$out" 'ZConnected to 10.201.1.8 but the connection was closed before the greeting. (#4.4.2)
|' "connection closed before the greeting: said so"
smode S ok
# the message on a pipe: copied first (qmail-remote reads it twice)
ns=$(nmsg S)
out=$(cat "$T/.byhand" | qr s.test "qt$SND@hub.test" 'piped@s.test')
is "$out" 'r|K10.201.1.8 accepted message.
Remote host said: 250 ok queued
|' "message on a pipe: delivered"
ok wait_for 10 has S $((ns + 1))
ok grep -q '^by hand' "$(lastmsg S)"
ns=$(nmsg S)
qr s.test '' 'plain.dot-atom@s.test' <"$T/.byhand" >/dev/null
ok wait_for 10 has S $((ns + 1))
is "$(sed -n 1,2p "$(lastmsg S)")" 'MAIL FROM:<>
RCPT TO:<plain.dot-atom@s.test>' "the empty sender and a dot-atom go out as they are"

# ---- smuggling: bare CR and bare LF before dots --------------------------------
smode S ok
ns=$(nmsg S)
printf 'Subject: smuggle\n\nabc\r.\r\nMAIL FROM:<evil@attacker>\r\nRCPT TO:<victim@s.test>\r\nDATA\r\nsmuggled\r\n.\r\nx\n.\nQUIT\nlast line\n' >"$T/.smuggle"
ok inj "target@s.test" "$T/.smuggle"
ok wait_for 30 has S $((ns + 1))
sleep 1
is "$(nmsg S)" $((ns + 1)) "the sink saw exactly one message"
m=$(lastmsg S)
ok grep -q 'last line' "$m"
ok grep -q 'smuggled' "$m"
is "$(grep -c '^MAIL FROM:<evil' "$T/s/S/log")" 0 "no smuggled command reached the sink"
is "$(grep -c '^RCPT TO:<victim' "$m")" 1 "the would-be command stayed in the body"

# ---- 20 MB --------------------------------------------------------------------
{ printf 'Subject: huge\n\n'; python3 -c '
import sys
line = b"0123456789abcdefghijklmnopqrstuvwxyz" * 2 + b"\n"
sys.stdout.buffer.write(line * (20 * 1024 * 1024 // len(line)))'; } >"$T/.huge"
na=$(nmsg A)
ok inj "huge@pref.test" "$T/.huge"
ok wait_for 120 has A $((na + 1))
got=$(sed '1,/^$/d' "$(lastmsg A)" | tr -d '\r' | sed '1,/^$/d' | md5sum)
want=$(sed '1,/^$/d' "$T/.huge" | md5sum)
is "$got" "$want" "20 MB body arrived intact"

# ---- timeouts, tcpto ------------------------------------------------------------
nb=$(nmsg B)
ok inj "t1@tcp.test"
ok wait_for 30 has B $((nb + 1))
# qmail's format: "IP timed out N seconds ago; # recent timeouts: K"
like "$("$Q/bin/qmail-tcpto" | grep '^10\.201\.9\.8 ')" '^10\.201\.9\.8 timed out [0-9]+ seconds ago; # recent timeouts: 1$' "qmail-tcpto lists the host that timed out, as qmail's does"
# a second timeout only counts 2 minutes after the first: age the record
python3 - "$Q/queue/lock/tcpto" <<'PY'
import sys, struct, time
p = sys.argv[1]; b = bytearray(open(p, 'rb').read())
for i in range(0, len(b), 32):
    if b[i] == 4 and bytes(b[i+16:i+20]) == bytes([10, 201, 9, 8]):
        b[i+1] = 2; b[i+8:i+16] = struct.pack('>Q', int(time.time()))
open(p, 'r+b').write(b)
PY
like "$("$Q/bin/qmail-tcpto" | grep '^10\.201\.9\.8 ')" '^10\.201\.9\.8 timed out [0-9]+ seconds ago; # recent timeouts: 2$' "two timeouts counted"
s0=$EPOCHREALTIME
ok inj "t2@tcp.test"
ok wait_for 30 has B $((nb + 2))
el=$(awk -v a="$s0" -v b="$EPOCHREALTIME" 'BEGIN { print (b - a < 1.9) ? "fast" : "slow" }')
is "$el" fast "the dead MX was skipped, not waited for"
ok "$Q/bin/qmail-tcpok"
is "$("$Q/bin/qmail-tcpto")" "" "qmail-tcpok cleared it"

# ---- a dead domain does not slow the others ---------------------------------------
echo 25 >"$Q/control/timeoutconnect"
ok inj "d@dead.test"
sleep 0.5
na=$(nmsg A)
s0=$EPOCHREALTIME
for i in $(seq 1 10); do inj "fast$i@pref.test"; done
ok wait_for 20 has A $((na + 10))
el=$(awk -v a="$s0" -v b="$EPOCHREALTIME" 'BEGIN { print (b - a < 15) ? "fast" : "slow" }')
is "$el" fast "10 deliveries while dead.test hangs"
dn=$(inst_log | sed -n 's/^starting delivery \([0-9]*\): .* to remote d@dead.test$/\1/p' | tail -n 1)
ok test -n "$dn"
is "$(logx "^delivery $dn: ")" 0 "dead.test still in progress"
echo 2 >"$Q/control/timeoutconnect"

# ---- default route ----------------------------------------------------------------
printf '%s\n' 'route.test:10.201.1.7:2525' ':[10.201.1.7]:2526' >"$Q/control/smtproutes"
n2=$(nmsg G2)
ok inj "u@nowhere.test"
ok wait_for 30 has G2 $((n2 + 1))
printf '%s\n' 'route.test:10.201.1.7:2525' >"$Q/control/smtproutes"

# ---- connection reuse (qmail-rspawn's cache) ----------------------------------------
printf '%s\n' 'route.test:10.201.1.7:2525' 'reuse.test:10.201.1.6' >"$Q/control/smtproutes"
conns() { grep -c '^CONNECT' "$T/s/F/log" 2>/dev/null || echo 0; }
smode F ok
sleep 6 # no idle connection to F from earlier tests is left
c0=$(conns) n0=$(nmsg F)
for i in $(seq 1 10); do inj "seq$i@reuse.test"; wait_for 20 has F $((n0 + i)); done
is "$(nmsg F)" $((n0 + 10)) "10 messages one after another to one host"
c1=$(conns)
ok test $((c1 - c0)) -ge 1 -a $((c1 - c0)) -le 3
t_diag "10 sequential messages used $((c1 - c0)) connection(s)"
is "$(grep -l '^RCPT TO:<seq' "$T"/s/F/msg.* | wc -l)" 10 "each delivered exactly once"
# the server closes after each message: the idle connection is seen dead
# and a fresh one is used; nothing is deferred or sent twice
smode F hangup-after
sleep 6
c0=$(conns) n0=$(nmsg F)
for i in 1 2 3; do inj "hup$i@reuse.test"; wait_for 20 has F $((n0 + i)); done
is "$(nmsg F)" $((n0 + 3)) "server hangs up after each message: all 3 delivered"
is "$(( $(conns) - c0 ))" 3 "  over 3 connections"
# the server drops the connection at the second MAIL (a cached connection
# that dies just as it is reused): the delivery goes on over a fresh one
smode F drop-second-mail
sleep 6
c0=$(conns) n0=$(nmsg F)
for i in 1 2 3 4; do inj "drop$i@reuse.test"; wait_for 20 has F $((n0 + i)); done
is "$(nmsg F)" $((n0 + 4)) "connection dropped at a reused MAIL: all 4 delivered"
is "$(grep -l '^RCPT TO:<drop' "$T"/s/F/msg.* | wc -l)" 4 "  each exactly once"
# every delivery attempt to reuse.test succeeded the first time
allsucc() {
  local n k=0
  for n in $(inst_log | sed -n 's/^starting delivery \([0-9]*\): .* to remote [a-z0-9]*@reuse\.test$/\1/p'); do
    inst_log | grep -q "^delivery $n: success" || return 1
    k=$((k + 1))
  done
  [ "$k" = 17 ]
}
ok allsucc
ok test "$(( $(conns) - c0 ))" -ge 4
smode F ok

# ---- qmail-rspawn's workers ---------------------------------------------------------
# deliveries run in long-lived children of qmail-rspawn; killing them
# (idle) loses nothing: the next delivery gets a fresh worker
rspawn_main() {
  local p e pp
  for p in $(pgrep -x qmail-rspawn); do
    e=$(readlink "/proc/$p/exe" 2>/dev/null)
    pp=$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null)
    [ "$e" = "$Q/bin/qmail-rspawn" ] && [ "$(readlink "/proc/$pp/exe" 2>/dev/null)" != "$Q/bin/qmail-rspawn" ] && echo "$p"
  done
}
rsp=$(rspawn_main)
workers=$(pgrep -P "$rsp" | wc -l)
ok test "$workers" -ge 1
t_diag "qmail-rspawn has $workers worker(s)"
ok test "$(stat -c %U "/proc/$(pgrep -P "$rsp" | head -n 1)")" = qtqmailr
# a worker shows as qmail-remote in ps -e and pgrep
ok test "$(cat "/proc/$(pgrep -P "$rsp" | head -n 1)/comm")" = qmail-remote
pkill -KILL -P "$rsp"
n0=$(nmsg F)
for i in 1 2; do inj "wk$i@reuse.test"; done
ok wait_for 20 has F $((n0 + 2))
# a worker killed in the middle of a delivery: reported as a temporary
# failure, delivered on the retry (SIGALRM), exactly once
smode F slow-data
sleep 6 # the server reads its mode per connection: no cached one
d0=$(logx 'deferral: .*qmail-remote')
inj "wkill@reuse.test"
ok wait_for 20 logn 'starting delivery [0-9]*: .* to remote wkill@reuse.test' 1
sleep 1.5 # the worker waits for the server's answer to DATA now
pkill -KILL -P "$rsp"
ok wait_for 20 logn "deferral: .*qmail-remote" $((d0 + 1))
smode F ok
sendpid=$(for p in $(pgrep -x qmail-send); do [ "$(readlink "/proc/$p/exe")" = "$Q/bin/qmail-send" ] && echo "$p"; done)
kill -ALRM $sendpid
ok wait_for 20 bash -c "grep -l '^RCPT TO:<wkill' '$T'/s/F/msg.* 2>/dev/null | grep -q ."
sleep 0.5
is "$(grep -l '^RCPT TO:<wkill' "$T"/s/F/msg.* | wc -l)" 1 "killed worker's message delivered once"
printf '%s\n' 'route.test:10.201.1.7:2525' >"$Q/control/smtproutes"

# ---- queuelifetime ----------------------------------------------------------------
smode S rcpt-4xx reply-text=still-busy
# a dead host remembered: restarting qmail-send forgets it, as in qmail
# (qmail-rspawn clears lock/tcpto when it starts)
python3 - "$Q/queue/lock/tcpto" <<'PY'
import sys, struct, time
p = sys.argv[1]; b = bytearray(open(p, 'rb').read())
b[0:32] = bytes([4, 2]) + bytes(6) + struct.pack('>Q', int(time.time())) + bytes([10, 201, 9, 7]) + bytes(12)
open(p, 'r+b').write(b)
PY
like "$("$Q/bin/qmail-tcpto" | grep '^10\.201\.9\.7 ')" '^10\.201\.9\.7 timed out' "a dead host remembered before the restart"
ok inst_stop
echo 3 >"$Q/control/queuelifetime"
PATH=$T/nsbin:$PATH ok inst_start
ok wait_for 10 eval '[ -z "$("$Q/bin/qmail-tcpto")" ]'
b0=$(bounces)
ok inj "old@s.test"
ok wait_for 30 logn 'deferral:.*still-busy' 1
sleep 4
ok svc -a "$Q/supervise/qmail-send"
ok wait_for 30 eval '[ $(bounces) -gt '"$b0"' ]'
ok bounce_has 'still-busy'

t_done
