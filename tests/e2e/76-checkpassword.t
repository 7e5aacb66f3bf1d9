#!/bin/bash
# checkpassword: run directly with fd 3 (right and wrong passwords, the
# ids, groups, environment and cwd it hands on; unknown, locked, empty,
# expired and due-for-change accounts, uid 0, APOP, misuse, a missing
# home), then the whole chain qmail-popup + checkpassword + qmail-pop3d
# behind a real tcpserver with Python's poplib and with fetchmail, and
# the supervise/qmail-pop3d service directory under a private svscan.
# Odd account states (uid 0, locked, expired...) are made in private
# copies of /etc/passwd and /etc/shadow bind-mounted in a mount namespace,
# so the real files never hold them.
. "$(dirname "$0")/lib.sh"
t_init
D=$(cd "$(dirname "$0")" && pwd)

inst_new pp || { echo "Bail out! inst_new"; exit 1; }
for n in pp1 pp2 pp3; do
  user_new "$n" || { echo "Bail out! user_new $n"; exit 1; }
done
U1=qtpp1 U2=qtpp2 U3=qtpp3
H1=$(home_of $U1) H2=$(home_of $U2)
PW1='Campus pw 1!'
PW2='second-Pw.2'
CP=$Q/bin/checkpassword

# real passwords: U1 by chpasswd's default method (yescrypt on Debian 12),
# U2 a precomputed SHA-512 hash, U3 a password too
ok chpasswd <<<"$U1:$PW1"
# (openssl passwd -6 -salt qtpp2salt "$PW2": fixed here, no openssl needed)
h2='$6$qtpp2salt$j1PWne3itDf9kz.W0Z.0H36SpF5sGutzgRozAAqBuXlkl/gnofDOL8dC.ToXr4m50seDSigaN0Sr7kjm5/bbr/'
ok chpasswd -e <<<"$U2:$h2"
is "$(awk -F: '$1 == "qtpp2" { print $2 }' /etc/shadow)" "$h2" "qtpp2 has the SHA-512 hash"
ok chpasswd <<<"$U3:third"
is "$(stat -c '%a %U %G' "$CP")" "700 root qtqmail" "bin/checkpassword is root:qmail 0700"

# the program checkpassword runs: says who and where it is
cat >"$T/probe" <<'EOF'
#!/bin/sh
if [ -e /proc/$$/fd/3 ]; then fd3=open; else fd3=closed; fi
echo "uid=$(id -u) gid=$(id -g) groups=$(id -G) user=$USER logname=$LOGNAME home=$HOME shell=$SHELL pwd=$(pwd) fd3=$fd3 args=$*"
EOF
chmod 0755 "$T/probe"

# cpw NAME PASS STAMP CMD...: runs CMD (checkpassword, possibly wrapped)
# with fd 3 = NAME\0PASS\0STAMP\0; sets rc, out (stdout), err (stderr)
cpw() {
  local n=$1 p=$2 s=$3
  shift 3
  "$@" 3< <(printf '%s\0%s\0%s\0' "$n" "$p" "$s") >"$T/cpw.out" 2>"$T/cpw.err" </dev/null
  rc=$?
  out=$(cat "$T/cpw.out")
  err=$(cat "$T/cpw.err")
}
STAMP='<4711.1700000000@pp.test>'

# ---- the right password --------------------------------------------------
cpw $U1 "$PW1" "$STAMP" "$CP" "$T/probe" a1 a2
is "$rc" 0 "right password: exit 0 (the program's)"
want="uid=$(id -u $U1) gid=$(id -g $U1) groups=$(id -G $U1) user=$U1 logname=$U1 home=$H1 shell=/bin/sh pwd=$H1 fd3=closed args=a1 a2"
is "$out" "$want" "runs the program as the user: ids, groups, USER/LOGNAME/HOME/SHELL, cwd home, fd 3 closed"
is "$err" "" "nothing on stderr"
cpw $U2 "$PW2" "" "$CP" "$T/probe"
like "$out" "^uid=$(id -u $U2) .* pwd=$H2 " "SHA-512 hash: logs in with an empty timestamp too"
# the environment is passed on, with ours replacing the caller's
out=$(env USER=root HOME=/root TCPREMOTEIP=192.0.2.9 "$CP" sh -c 'echo "$USER $HOME $TCPREMOTEIP"' \
  3< <(printf '%s\0%s\0%s\0' $U1 "$PW1" "$STAMP") 2>&1)
is "$out" "$U1 $H1 192.0.2.9" "USER/HOME replaced, the rest of the environment kept"

# ---- refused: exit 1, silent ---------------------------------------------
refused() { # name
  is "$rc:$out:$err" "1::" "$1: exit 1, nothing on stdout or stderr"
}
cpw $U1 "wrong" "$STAMP" "$CP" "$T/probe"; refused "wrong password"
cpw $U1 "${PW1}x" "$STAMP" "$CP" "$T/probe"; refused "password with a byte more"
cpw $U1 "${PW1:0:5}" "$STAMP" "$CP" "$T/probe"; refused "password prefix"
cpw $U1 "$PW2" "$STAMP" "$CP" "$T/probe"; refused "another user's password"
cpw $U1 "" "$STAMP" "$CP" "$T/probe"; refused "empty password"
cpw qtnosuchuser "$PW1" "$STAMP" "$CP" "$T/probe"; refused "unknown user"
cpw "" "$PW1" "$STAMP" "$CP" "$T/probe"; refused "empty name"
cpw "$(printf 'qtpp1\001')" "$PW1" "$STAMP" "$CP" "$T/probe"; refused "name with a control character"
cpw "../$U1" "$PW1" "$STAMP" "$CP" "$T/probe"; refused "name with a slash"
cpw "$(printf 'a%.0s' {1..65})" "$PW1" "$STAMP" "$CP" "$T/probe"; refused "65-byte name"
cpw "QTPP1" "$PW1" "$STAMP" "$CP" "$T/probe"; refused "name in other case"
cpw root "$PW1" "$STAMP" "$CP" "$T/probe"; refused "root"
# APOP: the digest qmail-popup would pass is no password
digest=$(printf '%s%s' "$STAMP" "$PW1" | md5sum | cut -d' ' -f1)
cpw $U1 "$digest" "$STAMP" "$CP" "$T/probe"; refused "APOP digest with its timestamp"

# ---- odd accounts, in a private copy of passwd and shadow ----------------
# variant 'AWK' CMD...: runs CMD in a mount namespace where /etc/passwd and
# /etc/shadow are copies with AWK applied (fields of the passwd line as $1..,
# of the shadow line the same: the program sees which file by FILENAME)
variant() {
  local prog=$1
  shift
  awk -F: -v OFS=: -v f=p "$prog"' { print }' /etc/passwd >"$T/passwd.v" &&
    awk -F: -v OFS=: -v f=s "$prog"' { print }' /etc/shadow >"$T/shadow.v" &&
    chmod 0644 "$T/passwd.v" && chmod 0600 "$T/shadow.v" || return 111
  unshare -m sh -c 'mount --bind "$1" /etc/passwd && mount --bind "$2" /etc/shadow && shift 2 && exec "$@"' \
    sh "$T/passwd.v" "$T/shadow.v" "$@"
}
today=$(($(date +%s) / 86400))
# as3 PASSWORD 'AWK': the third account logs in with PASSWORD against the
# files changed by AWK
as3() { cpw $U3 "$1" "$STAMP" variant "$2" "$CP" "$T/probe"; }
# sanity: the namespace works and an unchanged copy logs in
as3 third ''
like "$out" "^uid=$(id -u $U3) " "an unchanged copy of the files: logs in"
as3 third 'f == "p" && $1 == "qtpp3" { $3 = 0 }'
refused "uid 0 with the right password"
as3 third 'f == "s" && $1 == "qtpp3" { $2 = "!" $2 }'
refused "locked with ! (passwd -l)"
as3 third 'f == "s" && $1 == "qtpp3" { $2 = "*" }'
refused "hash *"
as3 "" 'f == "s" && $1 == "qtpp3" { $2 = "" }'
refused "empty hash, empty password"
as3 third 'f == "s" && $1 == "qtpp3" { $2 = "" }'
refused "empty hash, some password"
as3 third 'f == "s" && $1 == "qtpp3" { next }'
refused "passwd says x, no shadow entry"
# the hash in the passwd entry itself (no shadow) is used
h3=$(awk -F: '$1 == "qtpp3" { print $2 }' /etc/shadow)
as3 third "f == \"p\" && \$1 == \"qtpp3\" { \$2 = \"$h3\" } f == \"s\" && \$1 == \"qtpp3\" { next }"
like "$out" "^uid=$(id -u $U3) " "hash in the passwd entry (no shadow): logs in"
as3 third "f == \"s\" && \$1 == \"qtpp3\" { \$8 = $((today - 1)) }"
refused "account expired yesterday"
as3 third "f == \"s\" && \$1 == \"qtpp3\" { \$8 = $today }"
refused "account expiring today"
as3 third "f == \"s\" && \$1 == \"qtpp3\" { \$8 = $((today + 2)) }"
like "$out" "^uid=$(id -u $U3) " "account expiring in two days: logs in"
as3 third 'f == "s" && $1 == "qtpp3" { $3 = 0 }'
refused "password change forced (lastchg 0, passwd -e)"
as3 third "f == \"s\" && \$1 == \"qtpp3\" { \$3 = $((today - 40)); \$5 = 30 }"
refused "password older than its max age"
as3 third "f == \"s\" && \$1 == \"qtpp3\" { \$3 = $((today - 20)); \$5 = 30 }"
like "$out" "^uid=$(id -u $U3) " "password within its max age: logs in"
as3 third 'f == "s" && $1 == "qtpp3" { $2 = "$9$nosuchmethod$abc" }'
refused "hash of a method crypt does not know"
# a missing home directory is trouble, not a wrong password
as3 third "f == \"p\" && \$1 == \"qtpp3\" { \$6 = \"$T/nosuchhome\" }"
is "$rc:$out" "111:" "home missing: exit 111, nothing on stdout"
like "$err" "^checkpassword: fatal: unable to change to the home directory" "and one line on stderr"
nok grep -q third "$T/cpw.err"

# ---- misuse: exit 2; trouble: 111 ---------------------------------------
out=$("$CP" "$T/probe" 2>"$T/cpw.err" 3<&-)
is "$?:$out" "2:" "no fd 3: exit 2"
like "$(cat "$T/cpw.err")" "^checkpassword: fatal: no input on descriptor 3" "says so on stderr"
cpw $U1 "$PW1" "$STAMP" "$CP"
is "$rc:$out" "2:" "no program: exit 2"
long=$(printf 'x%.0s' {1..600})
cpw $U1 "$long" "$STAMP" "$CP" "$T/probe"
is "$rc:$out" "2:" "over-long input (600-byte password): exit 2"
nok grep -q xxxx "$T/cpw.err"
# exactly 512 bytes is fine (and a wrong password)
p512=$(printf 'y%.0s' $(seq 1 $((512 - ${#U1} - 3 - ${#STAMP}))))
cpw $U1 "$p512" "$STAMP" "$CP" "$T/probe"
is "$rc" 1 "512 bytes of input: read (wrong password: 1)"
cpw $U1 "${p512}y" "$STAMP" "$CP" "$T/probe"
is "$rc:$out" "2:" "513 bytes of input: exit 2"
out=$(printf '%s' "$U1" | "$CP" "$T/probe" 3<&0 2>/dev/null)
is "$?:$out" "2:" "no NUL after the name: exit 2"
out=$(printf '%s\0%s' "$U1" "$PW1" | "$CP" "$T/probe" 3<&0 2>/dev/null)
is "$?:$out" "2:" "no NUL after the password: exit 2"
out=$(printf '%s\0%s\0' "$U1" "$PW1" | "$CP" "$T/probe" 3<&0 2>/dev/null)
like "$?:$out" "^0:uid=$(id -u $U1) " "no timestamp at all: fine"
cpw $U1 "$PW1" "$STAMP" "$CP" "$T/nosuchprogram"
is "$rc:$out" "111:" "program missing: exit 111"
like "$err" "unable to run $T/nosuchprogram" "says so"
cp "$CP" "$T/cp.copy" && chmod 0755 "$T/cp.copy"
cpw $U1 "$PW1" "$STAMP" as_user $U1 "$T/cp.copy" "$T/probe"
is "$rc:$out" "111:" "not run as root: exit 111"

# ---- the whole chain through tcpserver -----------------------------------
inst_start || { echo "Bail out! inst_start"; exit 1; }
M1=$H1/Maildir M2=$H2/Maildir
for i in 1 2 3; do
  printf 'Subject: poplib %s\n\nline one\n.dot line\n\nend %s\n' "$i" "$i" | "$Q/bin/qmail-inject" "$U1@pp.test"
  printf 'Subject: fetchmail %s\nX-Num: %s\n\nbody %s\n.\n..two\nFrom the start\n' "$i" "$i" "$i" |
    "$Q/bin/qmail-inject" "$U2@pp.test"
done
delivered() { [ "$(maildir_count "$M1")" -ge 3 ] && [ "$(maildir_count "$M2")" -ge 3 ]; }
ok wait_for 60 delivered

port=$((3000 + $$ % 80))
(cd "$T" && exec setsid env - PATH=/usr/bin:/bin ASAN_OPTIONS="${ASAN_OPTIONS:-}" \
  tcpserver -H -R -l pp.test 127.0.0.1 "$port" \
  "$Q/bin/qmail-popup" pp.test "$CP" "$Q/bin/qmail-pop3d" Maildir \
  </dev/null >"$T/tcpserver.log" 2>&1) &
tcpsrv=$!
trap 'kill $tcpsrv 2>/dev/null; _t_cleanup' EXIT
up() { python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),1).close()"; }
ok wait_for 20 up

t_driver "$D/76-checkpassword.py" "$port" "$U1" "$PW1" "$M1"

if ! command -v fetchmail >/dev/null 2>&1; then
  t_skip 7 "no fetchmail (install/deps installs it)"
else
  # fetchmail: a real client, USER/PASS without TLS, each message to an MDA
  # that stores it in a file of its own
  mkdir -p "$T/fetched" "$T/fmhome"
  chmod 0700 "$T/fmhome"
  cat >"$T/mda" <<EOF
#!/bin/sh
exec cat >"\$(mktemp "$T/fetched/msg.XXXXXX")"
EOF
  chmod 0755 "$T/mda"
  cat >"$T/fetchmailrc" <<EOF
set no syslog
poll 127.0.0.1 protocol pop3 port $port auth password
  user "$U2" there with password "$PW2" is root here
  mda "$T/mda" fetchall no keep sslproto '' no sslcertck
EOF
  chmod 0600 "$T/fetchmailrc"
  before=$(for f in "$M2"/new/* "$M2"/cur/*; do [ -f "$f" ] && md5sum <"$f"; done | sort)
  fmout=$(cd "$T" && FETCHMAILHOME=$T/fmhome HOME=$T/fmhome timeout 60 \
    fetchmail -f "$T/fetchmailrc" --invisible --nosyslog -v 2>&1)
  is "$?" 0 "fetchmail: exit 0"
  like "$fmout" "3 messages for $U2 at 127\.0\.0\.1" "fetchmail saw 3 messages"
  is "$(find "$T/fetched" -type f | wc -l)" 3 "3 messages handed to the MDA"
  after=$(for f in "$T"/fetched/*; do md5sum <"$f"; done | sort)
  is "$after" "$before" "the fetched messages are the Maildir files, byte for byte"
  is "$(maildir_count "$M2")" 0 "and they are gone from the Maildir"
  like "$(cat "$T"/fetched/*)" $'\n\\.\n\\.\\.two\nFrom the start' "dot lines arrive unstuffed"
  # a wrong password: fetchmail reports an authentication failure
  sed -i "s/$PW2/wrong-pw/" "$T/fetchmailrc"
  fmout=$(cd "$T" && FETCHMAILHOME=$T/fmhome HOME=$T/fmhome timeout 60 \
    fetchmail -f "$T/fetchmailrc" --invisible --nosyslog 2>&1)
  is "$?" 3 "fetchmail with a wrong password: exit 3 (authentication failed)"
fi

kill $tcpsrv 2>/dev/null
log=$(cat "$T/tcpserver.log")
like "$log" "qmail-popup: pid [0-9]+ from 127\.0\.0\.1: authorization failed for user $U1" "failed logins logged by qmail-popup"
nok grep -qF -e "$PW1" -e "$PW2" -e wrong-pw "$T/tcpserver.log"
nok grep -q "checkpassword:" "$T/tcpserver.log"
is "$(grep -E 'ERROR: AddressSanitizer|runtime error' "$T/tcpserver.log" | head -n 3)" "" "no sanitizer errors"

# ---- the service directory -----------------------------------------------
sp=$Q/supervise/qmail-pop3d
ok test -x "$sp/run"
ok test -x "$sp/log/run"
ok test -e "$sp/down"
ok test -s "$Q/tcpd/pop3.cdb"
ok sh -n "$sp/run"
ok grep -q "tcpserver .*-x $Q/tcpd/pop3.cdb -c \"\$c\" -b \"\$c\" 0 110" "$sp/run"
ok grep -q "qmail-popup \"\$me\"" "$sp/run"
ok grep -q "$Q/bin/checkpassword $Q/bin/qmail-pop3d Maildir" "$sp/run"
nok grep -q -- ' -u ' "$sp/run"
ok grep -q "setuidgid qtqmaill multilog t .* $Q/log/qmail-pop3d\$" "$sp/log/run"
is "$(stat -c %U "$Q/log/qmail-pop3d")" qtqmaill "log directory owned by qmaill"
# the down file stays away once removed; edited rules are kept
rm -f "$sp/down"
echo ':allow,X="1"' >"$Q/tcpd/pop3"
ok inst_reinstall
ok test ! -e "$sp/down"
is "$(cat "$Q/tcpd/pop3")" ':allow,X="1"' "edited tcpd/pop3 kept"
: >"$sp/down"

# run it under a private svscan on our port: down until svc -u, then the
# real chain as the run file builds it
echo 3 >"$Q/control/concurrencypop3"
sv=$T/svpop/qmail-pop3d
mkdir -p "$T/svpop"
cp -r "$sp" "$sv"
rm -rf "$sv/supervise" "$sv/log/supervise"
sed -i -e "s/ 0 110 / 127.0.0.1 $port /" -e '/softlimit/d' "$sv/run"
printf '#!/bin/sh\nexec multilog t %s/svlog\n' "$T" >"$sv/log/run"
(cd / && exec setsid svscan "$T/svpop" </dev/null >>"$T/svscan-pop.log" 2>&1) &
svpid=$!
trap 'kill $svpid 2>/dev/null; svc -dx "$sv" "$sv/log" 2>/dev/null; _t_cleanup' EXIT
svup() { svstat "$sv" | grep -q ': down'; }
ok wait_for 20 svup
nok up
ok svc -u "$sv"
greet() { python3 -c "import socket; s=socket.create_connection(('127.0.0.1',$port),1); assert s.recv(100).startswith(b'+OK <')"; }
ok wait_for 30 greet
printf 'Subject: via service\n\nhello\n' | "$Q/bin/qmail-inject" "$U1@pp.test"
one() { [ "$(maildir_count "$M1")" -ge 1 ]; }
ok wait_for 30 one
out=$(python3 - "$port" "$U1" "$PW1" <<'EOF'
import poplib, sys
p = poplib.POP3('127.0.0.1', int(sys.argv[1]), timeout=30)
p.user(sys.argv[2]); p.pass_(sys.argv[3])
n = p.stat()[0]
body = b'\n'.join(p.retr(n)[1])
p.quit()
print(n, b'Subject: via service' in body)
EOF
)
is "$out" "1 True" "the service logs a user in and serves the message"
like "$(ps -o args= -p "$(svstat "$sv" | sed -n 's/.*(pid \([0-9]*\)).*/\1/p')")" "-c 3 -b 3" "concurrency from control/concurrencypop3"
# restricting tcpd/pop3 shuts the client out
echo '127.0.0.1:deny' >"$Q/tcpd/pop3"
ok "$Q/tcpd/pop3.build"
denied() { python3 -c "import socket; s=socket.create_connection(('127.0.0.1',$port),1); s.settimeout(5); assert s.recv(100) == b''"; }
ok denied
kill $svpid 2>/dev/null
svc -dx "$sv" "$sv/log" 2>/dev/null
t_done
