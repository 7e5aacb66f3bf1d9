#!/bin/bash
# users/assign (qmail-newu), passwd -> assign (qmail-pw2u), alias files
# (newaliases), and the .qmail helper programs run directly with the
# environment qmail-local gives them and QMAILQUEUE pointing at a capture
# script.
. "$(dirname "$0")/lib.sh"
t_init

ok inst_new u || t_done
user_new alice
user_new bob
A=qtalice
B=qtbob
HA=$(home_of $A)
HB=$(home_of $B)
UA=$(id -u $A) GA=$(id -g $A)
UB=$(id -u $B) GB=$(id -g $B)
UL=$(id -u qtalias) GL=$(id -g qtalias)
D=$T/data
mkdir -p "$D"
chmod 0755 "$D"
U=$Q/users
mkdir -p "$U"

# the cdb as sorted "key -> value" lines, NULs shown as |
dump() { cdb -d "$1" | tr '\0' '|' | sed -e 's/^+[0-9]*,[0-9]*://' -e '/^$/d' | sort; }
# lacks WORD: $out does not contain WORD (via a file, to keep TAP lines short)
lacks() { printf '%s\n' "$out" >"$D/out"; nok grep -q -- "$1" "$D/out"; }
have_cdb=1
command -v cdb >/dev/null || have_cdb=0

# ---- qmail-newu ------------------------------------------------------------
cat >"$U/assign" <<EOF
=joe:$A:$UA:$GA:$HA:::
+joe-:$A:$UA:$GA:$HA:-::
+List-:$B:$UB:$GB:$HB:-:l-:
+:qtalias:$UL:$GL:$Q/alias:-::
.
EOF
ok "$Q/bin/qmail-newu"
ok test -f "$U/cdb"
is "$(stat -c %a "$U/cdb")" 644 "users/cdb mode 644"
if [ $have_cdb = 1 ]; then
  is "$(dump "$U/cdb")" "$(printf '%s\n' \
    "->-" \
    "!->qtalias|$UL|$GL|$Q/alias|-|" \
    "!joe|->$A|$UA|$GA|$HA||" \
    "!joe-->$A|$UA|$GA|$HA|-|" \
    "!list-->$B|$UB|$GB|$HB|-|l-" | sort)" \
    "users/cdb: qmail's layout (wildcard set, exact keys with NUL, lowercase)"
else
  t_skip 1 "no cdb tool"
fi
ok test ! -e "$U/cdb.tmp"
cp "$U/cdb" "$D/cdb.good"

# bad files: exit 111 (as qmail-newu) naming the line, users/cdb untouched
bad_assign() { # name, expected line, content (printf format)
  printf "$3" >"$U/assign"
  out=$("$Q/bin/qmail-newu" 2>&1)
  is "$?" 111 "newu $1: exit 111"
  like "$out" "^qmail-newu: fatal: users/assign line $2: " "newu $1: names line $2"
  ok cmp -s "$U/cdb" "$D/cdb.good"
  ok test ! -e "$U/cdb.tmp"
}
bad_assign "missing dot" 2 "=a:$A:$UA:$GA:$HA:::\n"
bad_assign "too few fields" 2 "=a:$A:$UA:$GA:$HA:::\n=b:$A:$UA:$GA:$HA::\n.\n"
bad_assign "uid not numeric" 1 "=a:$A:x$UA:$GA:$HA:::\n.\n"
bad_assign "gid not numeric" 1 "=a:$A:$UA:-1:$HA:::\n.\n"
bad_assign "NUL byte" 2 "=a:$A:$UA:$GA:$HA:::\n=b\\0:$A:$UA:$GA:$HA:::\n.\n"
bad_assign "uid 0" 1 "=r:root:0:0:/root:::\n.\n"
bad_assign "relative home" 1 "=a:$A:$UA:$GA:home:::\n.\n"
bad_assign "comment line" 1 "# hi\n.\n"
: >"$U/assign"
out=$("$Q/bin/qmail-newu" 2>&1)
is "$?" 111 "newu: empty assign refused (truncated), exit 111"
rm -f "$U/assign"
out=$("$Q/bin/qmail-newu" 2>&1)
is "$?" 111 "newu: missing assign is a temporary error"
ok cmp -s "$U/cdb" "$D/cdb.good"

# the rebuild hook runs after a successful install, in QMAILHOME
printf '=a:%s:%s:%s:%s:::\n.\n' $A $UA $GA "$HA" >"$U/assign"
printf '#!/bin/sh\npwd > %s/hook.ran\n' "$D" >"$Q/bin/qmail-rcptcheck-rebuild"
chmod 755 "$Q/bin/qmail-rcptcheck-rebuild"
ok "$Q/bin/qmail-newu"
is "$(cat "$D/hook.ran" 2>/dev/null)" "$Q" "newu: qmail-rcptcheck-rebuild ran in QMAILHOME"
printf '#!/bin/sh\nexit 1\n' >"$Q/bin/qmail-rcptcheck-rebuild"
out=$("$Q/bin/qmail-newu" 2>&1)
is "$?" 111 "newu: failing hook gives 111"
like "$out" "users/cdb updated, but" "newu: and says users/cdb was updated"
rm -f "$Q/bin/qmail-rcptcheck-rebuild"

# ---- qmail-pw2u -------------------------------------------------------------
mkdir -p "$D/rootown" "$D/Upper"
chown "$A" "$D/Upper"
cat >"$D/passwd" <<EOF
root:x:0:0:root:/root:/bin/bash
$A:x:$UA:$GA:Alice:$HA:/bin/sh
$B:x:$UB:$GB:Bob:$HB:/bin/sh
QTUpper:x:$UA:$GA::$D/Upper:/bin/sh
qtnohome:x:$UB:$GB::$D/nonexistent:/bin/sh
qtnotmine:x:$UB:$GB::$D/rootown:/bin/sh
qtalias:x:$UL:$GL::$Q/alias:/bin/false
+@netgroup

short:line
EOF
pw2u() { "$Q/bin/qmail-pw2u" "$@" <"$D/passwd"; }
line_a="$A:$UA:$GA:$HA:"
line_b="$B:$UB:$GB:$HB:"
line_l="qtalias:$UL:$GL:$Q/alias:"
out=$(pw2u)
is "$?" 0 "pw2u: exit 0"
is "$out" "=$A:$line_a::
+$A-:$line_a-::
=$B:$line_b::
+$B-:$line_b-::
+:$line_l-::
=qtalias:$line_l::
+qtalias-:$line_l-::
." "pw2u: default rules (no root, uppercase, missing or foreign home)"

# the alias account's home is this instance's alias/, whatever the
# password file says (another instance may have made the account)
sed -i "s|^qtalias:.*|qtalias:x:$UL:$GL::/elsewhere/alias:/bin/false|" "$D/passwd"
out=$(pw2u)
like "$out" "
\+:$line_l-::
" "pw2u: the alias account's home is QMAILHOME/alias"
lacks "/elsewhere"
out=$(pw2u -H)
like "$out" "=qtnohome:qtnohome:" "pw2u -H: missing home accepted"
like "$out" "=qtnotmine:qtnotmine:" "pw2u -H: foreign home accepted"
lacks "QTUpper"
out=$(pw2u -H -u)
like "$out" "=QTUpper:QTUpper:$UA:" "pw2u -u: uppercase accepted"
out=$(pw2u -o)
lacks "qtnohome"
out=$(pw2u -h 2>&1)
is "$?" 111 "pw2u -h: missing home stops it"
like "$out" "unable to stat $D/nonexistent" "pw2u -h: names the home"
out=$(pw2u -c+)
like "$out" "
\\+$A\\+:$line_a-::
" "pw2u -c+: + as break"
out=$(pw2u -C)
is "$(printf '%s\n' "$out" | grep -c '^+')" 1 "pw2u -C: only the catch-all wildcard"
out=$(pw2u -/)
like "$out" "
\\+$A-:$line_a-/::
" "pw2u -/: dash -/"
like "$out" "
\\+:$line_l-/::
" "pw2u -/: also for the alias user"

# users/ files
printf '%s\n' "$A" qtalias "# comment" >"$U/include"
out=$(pw2u)
lacks "$B"
rm "$U/include"
printf '%s  \n' "$B" >"$U/exclude"
out=$(pw2u)
lacks "$B"
rm "$U/exclude"
printf '%s:alice:a.smith\n' "$A" >"$U/mailnames"
printf 'sales:%s:sales:\n' "$B" >"$U/subusers"
printf '=extra:%s:%s:%s:%s:::\n' $A $UA $GA "$HA" >"$U/append"
out=$(pw2u)
is "$out" "=alice:$line_a::
+alice-:$line_a-::
=a.smith:$line_a::
+a.smith-:$line_a-::
=$B:$line_b::
+$B-:$line_b-::
+:$line_l-::
=qtalias:$line_l::
+qtalias-:$line_l-::
=sales:$line_b-:sales:
+sales-:$line_b-:sales-:
=extra:$line_a::
." "pw2u: mailnames, subusers, append"
printf '%s' "$out" >"$U/assign"
printf '\n' >>"$U/assign"
ok "$Q/bin/qmail-newu"
rm "$U/mailnames" "$U/append"
printf 'sales:nosuchuser:sales:\n' >"$U/subusers"
out=$(pw2u 2>&1)
is "$?" 111 "pw2u: subuser of an unknown account"
rm "$U/subusers"
out=$(grep -v qtalias "$D/passwd" | "$Q/bin/qmail-pw2u" 2>&1)
is "$?" 111 "pw2u: no alias account"
like "$out" "unable to find the qtalias user" "pw2u: says so"
out=$("$Q/bin/qmail-pw2u" -x </dev/null 2>&1)
is "$?" 100 "pw2u: bad option"

# ---- newaliases --------------------------------------------------------------
printf 'carol\n# comment\n  dave@x.org, "|/bin/echo a, b"\n' >"$D/members"
cat >"$U/aliases" <<EOF
# roles
Postmaster: $A
staff: $A,
   bob@example.org,
   # a comment inside

   \\$B
list: :include:$D/members, /var/mail/list
vacation: "|/usr/bin/vacation $A"
md: /srv/archive/Maildir/
EOF
ok "$Q/bin/newaliases"
ok test -f "$U/aliases.cdb"
if [ $have_cdb = 1 ]; then
  is "$(cdb -q "$U/aliases.cdb" postmaster | tr '\0' '|')" "A$A@u.test|" "newaliases: name lowercased, bare name qualified"
  is "$(cdb -q "$U/aliases.cdb" staff | tr '\0' '|')" "A$A@u.test|Abob@example.org|A$B@u.test|" "newaliases: continuation lines"
  is "$(cdb -q "$U/aliases.cdb" list | tr '\0' '|')" "Acarol@u.test|Adave@x.org|P/bin/echo a, b|F/var/mail/list|" "newaliases: include, program, file"
  is "$(cdb -q "$U/aliases.cdb" vacation | tr '\0' '|')" "P/usr/bin/vacation $A|" "newaliases: quoted program"
  is "$(cdb -q "$U/aliases.cdb" md | tr '\0' '|')" "F/srv/archive/Maildir/|" "newaliases: maildir path"
else
  t_skip 5 "no cdb tool"
fi
echo envnohost.test >"$Q/control/envnoathost"
ok "$Q/bin/newaliases"
[ $have_cdb = 1 ] && is "$(cdb -q "$U/aliases.cdb" postmaster | tr '\0' '|')" "A$A@envnohost.test|" "newaliases: envnoathost preferred"
rm "$Q/control/envnoathost"
ok "$Q/bin/newaliases"
cp "$U/aliases.cdb" "$D/aliases.good"

bad_aliases() { # name, where (file:line), content
  printf "$3" >"$D/bad"
  out=$(cd "$D" && "$Q/bin/newaliases" -f bad 2>&1)
  is "$?" 100 "newaliases $1: exit 100"
  like "$out" "^newaliases: fatal: $2: " "newaliases $1: names $2"
  ok cmp -s "$U/aliases.cdb" "$D/aliases.good"
  ok test ! -e "$U/aliases.cdb.tmp"
}
bad_aliases "no colon" "$D/bad:2" "a: b@x\nno colon here\n"
bad_aliases "continuation first" "$D/bad:1" " b@x\n"
bad_aliases "duplicate" "$D/bad:3" "a: b@x\n\nA: c@x\n"
bad_aliases "space in address" "$D/bad:3" "a: b@x,\n  c@x,\n  d e@x\n"
bad_aliases "unterminated quote" "$D/bad:1" "a: \"|prog\n"
bad_aliases "no targets" "$D/bad:1" "a:\nb: c@x\n"
bad_aliases "relative include" "$D/bad:1" "a: :include:members\n"
bad_aliases "missing include" "$D/nonexistent" "a: :include:$D/nonexistent\n"
printf 'x@y\n:include:%s/loop\n' "$D" >"$D/loop"
bad_aliases "include loop" "$D/loop:2" "a: :include:$D/loop\n"
printf 'x@y\nbad address@y\n' >"$D/badinc"
bad_aliases "error inside an include" "$D/badinc:2" "a: ok@x\nb: :include:$D/badinc\n"
bad_aliases "NUL byte" "$D/bad:2" "a: b@x\nc: d\\0@x\n"
out=$("$Q/bin/newaliases" -f "$D/nonexistent" 2>&1)
is "$?" 100 "newaliases: missing source file"
out=$("$Q/bin/newaliases" extra 2>&1)
is "$?" 100 "newaliases: usage"
printf 'new: n@x\n' >"$D/good"
ok bash -c "cd '$D' && '$Q/bin/newaliases' -f good"
[ $have_cdb = 1 ] && is "$(cdb -q "$U/aliases.cdb" new | tr '\0' '|')" "An@x|" "newaliases -f: relative to the caller's directory"

# ---- .qmail helpers -----------------------------------------------------------
cat >"$D/qq" <<'EOF'
#!/bin/sh
# stands in for qmail-queue: keeps message and envelope
cat >"$CAP/mess"
cat <&1 >"$CAP/env"
exit "${QQEXIT:-0}"
EOF
chmod 755 "$D/qq"
CAP=$D/cap
mkdir -p "$CAP"
printf 'From: someone@example.org\nSubject: hello\n\nbody line\n' >"$D/msg"
export CAP QMAILQUEUE=$D/qq
export SENDER=s@example.org NEWSENDER=ns@example.org RECIPIENT=$A@u.test USER=$A HOME=$HA
export LOCAL=$A HOST=u.test EXT= DTLINE="Delivered-To: $A@u.test
" RPLINE="Return-Path: <s@example.org>
" UFLINE="From s@example.org Thu Jan  1 00:00:00 2026
"
env_of() { tr '\0' '|' <"$CAP/env"; }
H=$Q/bin

out=$("$H/forward" a@x.org b@y.org <"$D/msg" 2>&1)
is "$?" 0 "forward: exit 0"
like "$out" '^forward: qp [0-9]+$' "forward: prints qp"
is "$(cat "$CAP/mess")" "Delivered-To: $A@u.test
$(cat "$D/msg")" "forward: DTLINE then the message"
is "$(env_of)" "Fns@example.org|Ta@x.org|Tb@y.org||" "forward: NEWSENDER and the addresses"
QQEXIT=31 "$H/forward" a@x.org <"$D/msg" 2>/dev/null
is "$?" 100 "forward: permanent queue refusal -> 100"
QQEXIT=71 "$H/forward" a@x.org <"$D/msg" 2>/dev/null
is "$?" 111 "forward: temporary queue refusal -> 111"
env -u NEWSENDER "$H/forward" a@x.org <"$D/msg" 2>/dev/null
is "$?" 100 "forward: NEWSENDER not set -> 100"
"$H/forward" </dev/null 2>/dev/null
is "$?" 100 "forward: usage"

rm -f "$CAP"/*
"$H/condredirect" new@x.org grep -q nomatch <"$D/msg" 2>/dev/null
is "$?" 0 "condredirect: program fails -> 0, nothing queued"
ok test ! -e "$CAP/env"
out=$("$H/condredirect" new@x.org grep -q hello <"$D/msg" 2>&1)
is "$?" 99 "condredirect: program succeeds -> 99"
like "$out" '^condredirect: qp [0-9]+$' "condredirect: prints qp"
is "$(env_of)" "Fs@example.org|Tnew@x.org||" "condredirect: SENDER as envelope sender"
is "$(cat "$CAP/mess")" "Delivered-To: $A@u.test
$(cat "$D/msg")" "condredirect: whole message after the program read it"
"$H/condredirect" new@x.org sh -c 'exit 111' <"$D/msg" 2>/dev/null
is "$?" 111 "condredirect: program 111 -> 111"
"$H/condredirect" new@x.org sh -c 'kill -9 $$' <"$D/msg" 2>/dev/null
is "$?" 111 "condredirect: program crash -> 111"
"$H/condredirect" new@x.org /nonexistent <"$D/msg" 2>/dev/null
is "$?" 0 "condredirect: program missing -> 0, as in qmail (was 111)"

out=$("$H/bouncesaying" "Gone fishing." 2>&1 <"$D/msg")
is "$?" 100 "bouncesaying: exit 100"
is "$out" "Gone fishing." "bouncesaying: prints the text alone"
"$H/bouncesaying" "no" grep -q hello <"$D/msg" 2>/dev/null
is "$?" 100 "bouncesaying: program 0 -> bounce"
"$H/bouncesaying" "no" grep -q nomatch <"$D/msg" 2>/dev/null
is "$?" 0 "bouncesaying: program 1 -> 0"
"$H/bouncesaying" "no" sh -c 'exit 111' <"$D/msg" 2>/dev/null
is "$?" 111 "bouncesaying: program 111 -> 111"

"$H/except" true; is "$?" 100 "except: 0 -> 100"
"$H/except" false; is "$?" 0 "except: 1 -> 0"
"$H/except" sh -c 'exit 100'; is "$?" 0 "except: 100 -> 0"
"$H/except" sh -c 'exit 111'; is "$?" 111 "except: 111 -> 111"
"$H/except" sh -c 'kill -9 $$' 2>/dev/null; is "$?" 111 "except: crash -> 111"

is "$("$H/preline" cat <"$D/msg")" "${UFLINE}${RPLINE}${DTLINE}$(cat "$D/msg")" "preline: From_, Return-Path, Delivered-To, message"
is "$("$H/preline" -f cat <"$D/msg")" "${RPLINE}${DTLINE}$(cat "$D/msg")" "preline -f"
is "$("$H/preline" -r cat <"$D/msg")" "${UFLINE}${DTLINE}$(cat "$D/msg")" "preline -r"
is "$("$H/preline" -d cat <"$D/msg")" "${UFLINE}${RPLINE}$(cat "$D/msg")" "preline -d"
is "$("$H/preline" -dfr cat -A <"$D/msg")" "$(cat -A "$D/msg")" "preline: the command's options are its own"
"$H/preline" sh -c 'exit 42' <"$D/msg"
is "$?" 42 "preline: the command's exit code"
head -c 3000000 /dev/zero | "$H/preline" sh -c 'head -c 1 >/dev/null; exit 7'
is "$?" 7 "preline: command that stops reading early"
env -u UFLINE "$H/preline" cat <"$D/msg" >/dev/null 2>&1
is "$?" 100 "preline: UFLINE not set -> 100"
env -u UFLINE "$H/preline" -f cat <"$D/msg" >/dev/null 2>&1
is "$?" 0 "preline -f: UFLINE not needed"

# through qmail-queued (no $QMAILQUEUE): the qp printed is the pid of the
# qmail-queue child qmail-queued ran, known only after the answer
(cd "$Q" && exec setpriv --reuid=qtqmailq --regid="$(id -g qtqmailq)" --init-groups \
  "$Q/bin/qmail-queued" 2>"$T/qd.err") &
qd=$!
wait_for 10 test -S "$Q/sock/qmail-queue"
printf 'Notice-Requested-Upon-Delivery-To: <me@u.test>\n\nbody\n' >"$D/nrudt"
for c in "forward a@x.org" "condredirect a@x.org true" "qreceipt me@u.test"; do
  out=$(as_user $A env -u QMAILQUEUE "$H/${c%% *}" ${c#* } <"$D/nrudt" 2>&1)
  like "$out" "qp [1-9][0-9]*\$" "${c%% *} through qmail-queued: qp is the child's pid, not 0"
done
kill $qd
wait $qd 2>/dev/null
find "$Q/queue/mess" "$Q/queue/intd" "$Q/queue/todo" "$Q/queue/pid" -type f -delete

# a program that cannot be run: 100 from the child (111 for an error
# that may pass, here ETXTBSY: the file is open for writing)
printf '#!/bin/sh\nexit 0\n' >"$D/busy"
chmod 755 "$D/busy"
printf 'x\n' >"$D/noexec"
chmod 644 "$D/noexec"
exec 9>>"$D/busy"
for c in "bouncesaying:no:0:111" "except::0:111" "condredirect:new@x.org:0:111" "preline::100:111"; do
  IFS=: read -r p a want wbusy <<<"$c"
  "$H/$p" $a /nonexistent <"$D/msg" >/dev/null 2>&1
  is "$?" "$want" "$p: program not found -> $want"
  "$H/$p" $a "$D/noexec" <"$D/msg" >/dev/null 2>&1
  is "$?" "$want" "$p: program not executable -> $want"
  "$H/$p" $a "$D/busy" <"$D/msg" >/dev/null 2>&1
  is "$?" "$wbusy" "$p: text file busy -> $wbusy"
done
exec 9>&-
out=$("$H/preline" /nonexistent </dev/null 2>&1)
like "$out" "^preline: .*unable to run /nonexistent" "preline: says which command could not run"
is "$("$H/preline" -f -F -rR -dD cat <"$D/msg")" "${UFLINE}${RPLINE}${DTLINE}$(cat "$D/msg")" "preline -F -R -D undo -f -r -d"
is "$("$H/preline" -F -f cat <"$D/msg")" "${RPLINE}${DTLINE}$(cat "$D/msg")" "preline: the last of -F and -f counts"

# qbiff: nobody is logged in as the test user, so it only has to stay quiet
out=$(as_user $A env USER=$A RECIPIENT=$A@u.test SENDER=x@y "$H/qbiff" <"$D/msg" 2>&1)
is "$?" 0 "qbiff: exit 0"
is "$out" "" "qbiff: no output"
out=$(env -u USER "$H/qbiff" </dev/null 2>&1)
is "$?" 0 "qbiff: no USER -> 0"

t_done
