#!/bin/bash
# qmail-inject and sendmail: header completion, environment and control
# overrides, address qualification, recipient strategies, Bcc removal,
# exit codes, a 20 MB message in bounded memory, NUL bytes, a real
# qmail-queue run, sendmail's options and -bp.  Everything runs as an
# ordinary user; most runs capture what would be queued through a small
# $QMAILQUEUE script.  qmail-send is never started.
. "$(dirname "$0")/lib.sh"
t_init

ok inst_new i || t_done
user_new ij
U=qtij
D=$T/data
mkdir -p "$D"
chown "$U" "$D"
chmod 0755 "$D"
INJ=$Q/bin/qmail-inject
SM=$Q/bin/sendmail

# the fake qmail-queue: message to $D/msg, envelope (its fd 1) to $D/env
cat >"$D/fakeqq" <<'EOF'
#!/bin/sh
cat >"$FQ/msg" || exit 54
cat <&1 >"$FQ/env" || exit 54
exit "${FQ_EXIT:-0}"
EOF
chmod 0755 "$D/fakeqq"

# run as the user with a clean environment plus the given VAR=value words
uenv() { as_user $U env -i PATH=/usr/bin:/bin USER=$U FQ="$D" QMAILQUEUE="$D/fakeqq" "$@"; }
# inject INPUT [VAR=value...] -- ARGS...: prints stdout+stderr, then "rc=N"
inject() {
  local in=$1 rc=0
  shift
  local vars=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do vars+=("$1"); shift; done
  shift
  rm -f "$D/msg" "$D/env"
  printf '%b' "$in" | uenv "${vars[@]}" "$INJ" "$@" 2>&1 || rc=$?
  echo "rc=$rc"
}
# the envelope as "F... T... T..." (NULs as spaces)
envl() { tr '\0' ' ' <"$D/env" | sed 's/  *$//'; }
field() { grep -m 1 "^$1:" "$D/msg"; } # first field of the queued message

# ---- completion of an empty header -----------------------------------------
out=$(inject 'Subject: s\n\nbody\n' -- -n a@x.org)
like "$out" $'^Return-Path: <qtij@i\\.test>\nDate: [A-Z][a-z]{2}, [0-9]{1,2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [-+][0-9]{4}\nMessage-ID: <[0-9]{14}\\.[0-9]{6}\\.[0-9]+\\.qmail@i\\.test>\nFrom: "qmail test user" <qtij@i\\.test>\nCc: recipient list not shown: ;\nSubject: s\n\nbody\nrc=0$' \
  "-n: Return-Path, Date, Message-ID, From (gecos), Cc added in order"
out=$(inject 'Date: today\nMessage-ID: <x@y>\nFrom: me@x.org\nTo: a@x.org\n\nb\n' -- -n)
is "$out" $'Return-Path: <qtij@i.test>\nDate: today\nMessage-ID: <x@y>\nFrom: me@x.org\nTo: a@x.org\n\nb\nrc=0' \
  "present Date, Message-ID, From, To are kept, nothing added"

# ---- environment -----------------------------------------------------------
out=$(inject 'To: a@x.org\n\n' QMAILUSER=qu QMAILHOST=qh.org QMAILNAME='Q Name' USER=u MAILUSER=mu NAME=n -- -n)
like "$out" $'\nFrom: "Q Name" <qu@qh\\.org>\n' "QMAILUSER, QMAILHOST, QMAILNAME win"
like "$out" '^Return-Path: <qu@qh\.org>' "envelope sender follows the From user and host"
out=$(inject 'To: a@x.org\n\n' QMAILHOST=qh.org. QMAILSHOST=sh. -- -n)
like "$out" $'^Return-Path: <qtij@sh\\.i\\.test>\n.*\nFrom: "qmail test user" <qtij@qh\\.org>\n.*rc=0$' \
  "QMAILHOST, QMAILSHOST: a trailing dot is dropped, as in addresses"
out=$(inject 'To: a@x.org\n\n' MAILUSER=mu MAILHOST=mh.org MAILNAME='M "N"' -- -n)
like "$out" $'\nFrom: "M \\\\"N\\\\"" <mu@mh\\.org>\n' "MAILUSER, MAILHOST, MAILNAME (quotes escaped)"
out=$(inject 'To: a@x.org\n\n' LOGNAME=ln NAME= -- -n)
like "$out" $'\nFrom: qtij@i\\.test\n' "USER before LOGNAME; empty NAME means no name"
out=$(inject 'To: a@x.org\n\n' QMAILNAME=$'evil\nBcc: x@y' -- -n)
like "$out" $'\nFrom: "evil Bcc: x@y" <qtij@i\\.test>\n' "a newline in the name cannot add a field"
out=$(inject 'To: a@x.org\n\n' QMAILSUSER=su QMAILSHOST=sh.org -- -n)
like "$out" $'^Return-Path: <su@sh\\.org>\n' "QMAILSUSER, QMAILSHOST set the envelope sender"
like "$out" $'\nFrom: "qmail test user" <qtij@i\\.test>\n' "... but not From"
out=$(inject 'To: a@x.org\n\n' QMAILINJECT=c QMAILNAME='A (B)' -- -n)
like "$out" $'\nFrom: qtij@i\\.test \\(A \\\\\\(B\\\\\\)\\)\n' "QMAILINJECT=c: name as a comment"
out=$(inject 'From: old@x.org\nMessage-ID: <old@x>\nReturn-Path: <rp@x.org>\nTo: a@x.org\n\n' QMAILINJECT=fis -- -n)
like "$out" $'^Return-Path: <qtij@i\\.test>\n' "QMAILINJECT=s: Return-Path ignored"
nok grep -q old <<<"$out"
like "$out" $'\nFrom: "qmail test user" <qtij@i\\.test>\n' "QMAILINJECT=f: new From"
like "$out" $'\nMessage-ID: <[0-9.]+\\.qmail@i\\.test>\n' "QMAILINJECT=i: new Message-ID"
out=$(inject 'To: a@x.org\n\n' QMAILINJECT=r -- -n)
like "$out" '^Return-Path: <"qtij-@i\.test-"@\[\]>' "QMAILINJECT=r: VERP sender (its local part quoted, as qmail prints it)"
inject 'To: a@x.org\n\n' QMAILINJECT=r -- -f list@a.test joe@example.org >/dev/null
is "$(envl)" "Flist@a.test Tjoe@example.org" "QMAILINJECT=r: a -f sender is left as it is (no VERP suffix)"
rm -f "$D/env"
printf 'To: a@x.org\n\n' | uenv QMAILINJECT=r "$SM" -f list@a.test joe@example.org >/dev/null 2>&1
is "$(envl)" "Flist@a.test Tjoe@example.org" "... through sendmail -f too"
inject 'Return-Path: <rp@r.org>\nTo: a@x.org\n\n' QMAILINJECT=r -- >/dev/null
is "$(envl)" "Frp@r.org-@[] Ta@x.org" "QMAILINJECT=r: a Return-Path sender gets it"
out=$(inject 'To: a@x.org\n\n' QMAILINJECT=m -- -n)
like "$out" '^Return-Path: <qtij-[0-9]+\.[0-9]+@i\.test>' "QMAILINJECT=m: per-message sender"

# ---- qualification with control files and their variables -----------------------
in='To: joe, ann@box, bob@box+, eve@[1.2.3.4], "a b"@x.org\nCc: Name <cat@dog> (c), list: l1, l2@l.org;\n\n'
out=$(inject "$in" -- -n)
like "$out" $'\nTo: joe@i\\.test, ann@box\\.i\\.test, bob@box\\.i\\.test, eve@\\[1\\.2\\.3\\.4\\], "a b"@x\\.org\nCc: Name <cat@dog\\.i\\.test> \\(c\\), list: l1@i\\.test, l2@l\\.org;\n' \
  "defaults from control/me"
printf 'dh\n' >"$Q/control/defaulthost"
printf 'dd.org\n' >"$Q/control/defaultdomain"
printf 'pd.org\n' >"$Q/control/plusdomain"
printf 'id.org\n' >"$Q/control/idhost"
out=$(inject "$in" -- -n)
like "$out" $'\nTo: joe@dh\\.dd\\.org, ann@box\\.dd\\.org, bob@box\\.pd\\.org, eve@\\[1\\.2\\.3\\.4\\], "a b"@x\\.org\n' \
  "control/defaulthost, defaultdomain, plusdomain"
like "$out" $'\nMessage-ID: <[0-9.]+\\.qmail@id\\.org>\n' "control/idhost"
like "$out" $'\nFrom: "qmail test user" <qtij@dh\\.dd\\.org>\n' "From is qualified too"
out=$(inject "$in" QMAILDEFAULTHOST=eh QMAILDEFAULTDOMAIN=ed.org QMAILPLUSDOMAIN=ep.org QMAILIDHOST=ei.org -- -n)
like "$out" $'\nTo: joe@eh\\.ed\\.org, ann@box\\.ed\\.org, bob@box\\.ep\\.org, ' "QMAILDEFAULTHOST, QMAILDEFAULTDOMAIN, QMAILPLUSDOMAIN"
like "$out" $'\nMessage-ID: <[0-9.]+\\.qmail@ei\\.org>\n' "QMAILIDHOST"
out=$(inject "$in" QMAILDEFAULTHOST=h.org -- )
is "$out" rc=0 "queued with header recipients"
is "$(envl)" "Fqtij@h.org Tjoe@h.org Tann@box.dd.org Tbob@box.pd.org Teve@[1.2.3.4] Ta b@x.org Tcat@dog.dd.org Tl1@h.org Tl2@l.org" \
  "envelope: qualified, unquoted header recipients"
rm -f "$Q/control/defaulthost" "$Q/control/defaultdomain" "$Q/control/plusdomain" "$Q/control/idhost"
out=$(inject 'To: a\n\n' QMAILDEFAULTHOST='bad host' -- -n)
like "$out" 'invalid host name.*rc=100$' "a bad defaulthost: exit 100"
# an empty or blank file is as if absent (control/me), not an invalid name
: >"$Q/control/defaulthost"
printf ' \t\n' >"$Q/control/defaultdomain"
: >"$Q/control/plusdomain"
printf '\n' >"$Q/control/idhost"
out=$(inject 'To: joe, ann@box, bob@box+\n\n' -- -n)
like "$out" $'\nMessage-ID: <[0-9.]+\\.qmail@i\\.test>\n' "an empty control/idhost: control/me"
like "$out" $'\nTo: joe@i\\.test, ann@box\\.i\\.test, bob@box\\.i\\.test\n.*rc=0$' \
  "empty or blank defaulthost, defaultdomain, plusdomain: control/me"
is "$(inject 'To: joe\n\n' --)" rc=0 "... and the message is queued"
is "$(envl)" "Fqtij@i.test Tjoe@i.test" "... with the control/me defaults"
printf 'bad host\n' >"$Q/control/idhost"
like "$(inject 'To: joe\n\n' -- -n)" 'invalid host name in control/idhost.*rc=100$' "a bad control/idhost is still refused"
rm -f "$Q/control/defaulthost" "$Q/control/defaultdomain" "$Q/control/plusdomain" "$Q/control/idhost"
# an empty variable is as if unset: the next one, or the default
out=$(inject 'To: joe\n\n' QMAILDEFAULTHOST= QMAILPLUSDOMAIN= QMAILIDHOST= QMAILHOST= MAILHOST=mh.org QMAILUSER= MAILUSER= QMAILSHOST= -- -n)
like "$out" $'^Return-Path: <qtij@mh\\.org>\n.*\nMessage-ID: <[0-9.]+\\.qmail@i\\.test>\nFrom: "qmail test user" <qtij@mh\\.org>\nTo: joe@i\\.test\n.*rc=0$' \
  "empty QMAILHOST, QMAILUSER, MAILUSER, QMAILSHOST, QMAILDEFAULTHOST, QMAILIDHOST: as if unset"

# ---- removed fields, Return-Path -------------------------------------------------
out=$(inject 'To: a@x.org\nBcc: hidden@x.org\nContent-Length: 3\nReturn-Path: <rp@r.org>\nX: y\n\nbody\n' -- )
is "$out" rc=0 "Bcc message queued"
nok grep -Eqi '^(bcc|content-length|return-path):' "$D/msg"
is "$(envl)" "Frp@r.org Ta@x.org Thidden@x.org" "Return-Path gives the sender; Bcc recipients kept in the envelope"
ok grep -q '^X: y$' "$D/msg"
out=$(inject 'Return-Path: <>\nTo: a@x.org\n\n' --)
is "$(envl)" "F Ta@x.org" "Return-Path: <> gives the null sender"

# ---- recipient strategies --------------------------------------------------------
in='To: h@x.org\nApparently-To: ap@x.org\n\n'
inject "$in" -- a1@x.org a2 >/dev/null
is "$(envl)" "Fqtij@i.test Ta1@x.org Ta2@i.test" "-A with arguments: arguments only"
inject "$in" -- >/dev/null
is "$(envl)" "Fqtij@i.test Th@x.org Tap@x.org" "-A without arguments: header"
inject "$in" -- -a a1@x.org >/dev/null
is "$(envl)" "Fqtij@i.test Ta1@x.org" "-a"
inject "$in" -- -h a1@x.org >/dev/null
is "$(envl)" "Fqtij@i.test Th@x.org Tap@x.org" "-h ignores arguments"
inject "$in" -- -H a1@x.org >/dev/null
is "$(envl)" "Fqtij@i.test Ta1@x.org Th@x.org Tap@x.org" "-H: both"
inject "$in" -- -f s@x.org -- -dash@x.org '<angle@x.org>' >/dev/null
is "$(envl)" "Fs@x.org T-dash@x.org Tangle@x.org" "-f; recipients after --; <> stripped"
like "$(inject 'To: a@x.org\n\n' -- -n -f 'a b@h.org')" '^Return-Path: <"a b"@h\.org>' "-n: a local part that is no dot-atom is quoted"
like "$(inject 'To: a@x.org\n\n' -- -n -f 'q"b\s@h.org')" '^Return-Path: <"q\\"b\\\\s"@h\.org>' "... with \\ before \" and \\"
like "$(inject 'To: a@x.org\n\n' -- -n -f '.a@h.org')" '^Return-Path: <"\.a"@h\.org>' "... and a leading dot"
like "$(inject 'To: a@x.org\n\n' -- -n -f '')" '^Return-Path: <>' "... <> stays <>"
inject 'To: a@x.org\n\n' -- -f 'a b@h.org' >/dev/null
is "$(envl)" "Fa b@h.org Ta@x.org" "... while the envelope itself is never quoted"
inject "$in" -- -f '' a@x.org >/dev/null
is "$(envl)" "F Ta@x.org" "-f '': null sender"
inject "$in" -- -fs -Fnm a@x.org >/dev/null
is "$(envl)" "Fs@i.test Ta@x.org" "-fsender attached, qualified"
is "$(field From)" 'From: "nm" <qtij@i.test>' "-F sets the name"
out=$(inject 'To: a <b\nSubject: x\n\n' -- -a r@x.org)
is "$out" rc=0 "-a: an unparseable To is left alone"
is "$(field To)" "To: a <b" "... unchanged"
inject 'To: joe fred@x.org (F) ann\n\n' -- >/dev/null
is "$(field To)" "To: joe@i.test, fred@x.org, (F) ann@i.test" "missing commas are inserted"
is "$(envl)" "Fqtij@i.test Tjoe@i.test Tfred@x.org Tann@i.test" "... and each is a recipient"

# ---- Resent- ----------------------------------------------------------------------
inject 'From: f@x.org\nTo: old@x.org\nResent-To: new@x.org\nResent-Bcc: nb@x.org\n\n' -- >/dev/null
is "$(envl)" "Fqtij@i.test Tnew@x.org Tnb@x.org" "Resent-: recipients from Resent- fields only"
like "$(cat "$D/msg")" $'^Resent-Date: .*\nResent-Message-ID: <.*>\nResent-From: "qmail test user" <qtij@i\\.test>\nFrom: f@x\\.org\nTo: old@x\\.org\nResent-To: new@x\\.org$' \
  "Resent-: Resent-Date, -Message-ID, -From added"
nok grep -qi '^resent-bcc:' "$D/msg"

# ---- QMAILMFTFILE ------------------------------------------------------------------
printf 'list@x.org\n' >"$D/mft"
out=$(inject 'To: list@x.org\nCc: me@y.org\n\n' QMAILMFTFILE="$D/mft" -- -n)
like "$out" $'\nMail-Followup-To: list@x\\.org,\n  me@y\\.org\n' "QMAILMFTFILE adds Mail-Followup-To"

# ---- header ends and odd input -------------------------------------------------------
out=$(inject 'To: a@x.org\nnot a field\nmore\n' -- -n)
like "$out" $'\nTo: a@x\\.org\n\nnot a field\nmore\nrc=0$' "a non-field line starts the body after a blank line"
out=$(inject 'From x Mon Jan  1 00:00:00 2024\nTo: a@x.org\n\nb' -- -n)
like "$out" $'\nMBOX-Line: From x Mon Jan  1 00:00:00 2024\nTo: a@x\\.org\n\nb\nrc=0$' "mbox From line kept; final LF added"
out=$(inject 'To: a@x.org\r\nSubject: crlf\r\n\r\nbody\r\n' -- -n)
like "$out" $'\nTo: a@x\\.org\nSubject: crlf\n\nbody\r\nrc=0$' "CRLF header lines unfolded to LF, body untouched"
out=$(inject '' -- -n a@x.org)
like "$out" $'\nCc: recipient list not shown: ;\nrc=0$' "empty input: a header only"

# ---- exit codes -------------------------------------------------------------------------
out=$(inject 'Subject: x\n\n' --)
like "$out" 'no recipients.*rc=100$' "no recipients: 100"
out=$(inject 'From: Joe <joe@x.org\nTo: x@y.org\n\n' --)
like "$out" 'unable to parse header field From.*rc=100$' "unparseable From: 100"
out=$(inject 'To: <a@b\n\n' --)
like "$out" 'unable to parse header field To.*rc=100$' "unparseable To with header recipients: 100"
out=$(inject '' -- -x)
like "$out" 'usage:.*rc=100$' "unknown option: 100"
out=$(inject 'To: a@x.org\n\n' FQ_EXIT=53 --)
like "$out" 'qmail-inject: fatal: qq write error or disk full \(#4\.3\.0\).*rc=111$' "qmail-queue 53: 111 with its text"
out=$(inject 'To: a@x.org\n\n' FQ_EXIT=31 --)
like "$out" 'permanently rejected.*rc=100$' "qmail-queue 31: 100"
out=$(inject 'To: a@x.org\n\n' QMAILQUEUE=/nonexistent --)
like "$out" 'rc=111$' "qmail-queue cannot run: 111"
long=$(head -c 1100000 /dev/zero | tr '\0' x)
printf 'To: a@x.org\nSubject: %s\n\nbody\n' "$long" >"$D/long"
rc=0
uenv "$INJ" <"$D/long" >/dev/null 2>"$D/err" || rc=$?
is "$rc" 100 "a header field over 1 MB: 100"
like "$(cat "$D/err")" 'header field longer than' "... with a clear message"
printf 'To: a@x.org\n\n%s\n' "$long" >"$D/longbody"
rc=0
uenv "$INJ" <"$D/longbody" >/dev/null 2>&1 || rc=$?
is "$rc" 0 "a body line over 1 MB is fine"
is "$(tail -n 1 "$D/msg" | wc -c)" 1100001 "... and arrives whole"
addr=$(head -c 1001 /dev/zero | tr '\0' a)
out=$(inject 'Subject: x\n\n' -- "$addr@x.org")
like "$out" 'longer than 1000 bytes.*rc=100$' "recipient over 1000 bytes: 100"

# ---- a 20 MB message, NUL bytes ------------------------------------------------------------
{
  printf 'To: big@x.org\nSubject: big\n\n'
  head -c 20000000 /dev/urandom | base64 -w 76
} >"$D/big"
rc=0
as_user $U env -i PATH=/usr/bin:/bin USER=$U FQ="$D" QMAILQUEUE="$D/fakeqq" \
  /usr/bin/time -f %M -o "$D/rss" "$INJ" <"$D/big" >/dev/null 2>&1 || rc=$?
is "$rc" 0 "20 MB message queued"
is "$(tail -n +4 "$D/big" | md5sum)" "$(sed '1,/^$/d' "$D/msg" | md5sum)" "20 MB body arrives intact"
rss=$(cat "$D/rss")
t_diag "peak RSS for the 26 MB message: $rss kB"
ok test "$rss" -lt 20000
printf 'To: a@x.org\n\nbin\0ary\0\0\n\0' >"$D/nul"
uenv "$INJ" <"$D/nul" >/dev/null 2>&1
printf 'bin\0ary\0\0\n\0\n' >"$D/nul.want"
sed '1,/^$/d' "$D/msg" >"$D/nul.got"
ok cmp "$D/nul.want" "$D/nul.got"

# ---- the real qmail-queue --------------------------------------------------------------------
find "$Q/queue/mess" "$Q/queue/todo" -type f -delete
rc=0
printf 'To: real@x.org\nSubject: real\n\nreal body\n' |
  as_user $U env -i PATH=/usr/bin:/bin USER=$U "$INJ" >"$D/err" 2>&1 || rc=$?
is "$rc" 0 "real qmail-queue: exit 0"
is "$(find "$Q/queue/mess" -type f | wc -l)" 1 "one file in mess/"
todo=$(find "$Q/queue/todo" -type f | head -n 1)
ok test -n "$todo"
like "$(tr '\0' ' ' <"$todo")" "Fqtij@i.test Treal@x.org" "todo envelope: sender and recipient"
like "$(cat "$(find "$Q/queue/mess" -type f | head -n 1)")" $'^Received: \\(qmail [0-9]+ invoked by uid [0-9]+\\); [^\n]*\nDate: [^\n]*\nMessage-ID: [^\n]*\nFrom: [^\n]*\nTo: real@x\\.org\nSubject: real\n\nreal body$' \
  "mess file: Received line then the completed message"

# ---- sendmail -----------------------------------------------------------------------------------
sm() {
  local in=$1 rc=0
  shift
  rm -f "$D/msg" "$D/env"
  printf '%b' "$in" | uenv NAME='User Name' "$SM" "$@" 2>&1 || rc=$?
  echo "rc=$rc"
}
is "$(sm 'To: h@x.org\n\nb\n' -t -i -oi -oem)" rc=0 "sendmail -t -i -oi -oem"
is "$(envl)" "Fqtij@i.test Th@x.org" "-t: recipients from the header"
is "$(sm 'To: h@x.org\n\nb\n' -t a@x.org)" rc=0 "sendmail -t with an argument"
is "$(envl)" "Fqtij@i.test Ta@x.org Th@x.org" "-t with arguments: both (as qmail)"
sm 'To: h@x.org\n\nb\n' a@x.org >/dev/null
is "$(envl)" "Fqtij@i.test Ta@x.org" "without -t: arguments only"
sm 'To: h@x.org\n\nb\n' -f bob@b.org a@x.org >/dev/null
is "$(envl)" "Fbob@b.org Ta@x.org" "-f sender"
is "$(field From)" "From: bob@b.org" "-f also sets the From address, no name"
is "$(sm 'To: h@x.org\n\nb\n' -f '<bob@b.org>' a@x.org)" rc=0 "-f '<sender>' is queued"
is "$(envl)" "Fbob@b.org Ta@x.org" "... without the brackets"
is "$(field From)" "From: bob@b.org" "... in From too"
is "$(sm 'To: h@x.org\n\nb\n' -f bob@b.org. a@x.org)" rc=0 "-f sender with a trailing dot is queued"
is "$(envl)" "Fbob@b.org Ta@x.org" "... without the dot"
is "$(field From)" "From: bob@b.org" "... in From too"
is "$(sm 'To: h@x.org\n\nb\n' -f '<>' a@x.org)" rc=0 "-f '<>' is queued"
is "$(envl)" "F Ta@x.org" "... with the null sender"
is "$(field From)" 'From: "User Name" <qtij@i.test>' "... and the caller's own From"
sm 'To: h@x.org\n\nb\n' -r bob@b.org -F 'Bob B' a@x.org >/dev/null
is "$(envl)" "Fbob@b.org Ta@x.org" "-r sender"
is "$(field From)" 'From: "Bob B" <bob@b.org>' "-F name with -r"
sm 'To: h@x.org\n\nb\n' -fbob -FBob a@x.org >/dev/null
is "$(field From)" 'From: "Bob" <bob@i.test>' "-fsender -Fname attached"
sm 'To: h@x.org\n\nb\n' -v -x -m -e m -B 8BITMIME -p smtp -bm -Ejunk -J -- -x@x.org >/dev/null
is "$(envl)" "Fqtij@i.test T-x@x.org" "ignored options; -- before a dash recipient"
like "$(sm '' -Z)" 'usage:.*rc=100$' "unknown sendmail option: 100"
like "$(sm '' -bz)" 'usage:.*rc=100$' "unknown -b mode: 100"
like "$(sm '' -f)" 'usage:.*rc=100$' "-f without a value: 100"
if [ -x "$Q/bin/qmail-smtpd" ]; then
  like "$(printf 'QUIT\r\n' | uenv "$SM" -bs 2>&1)" '^220 ' "-bs runs qmail-smtpd"
else
  like "$(sm '' -bs)" 'qmail-smtpd.*rc=111$' "-bs without qmail-smtpd: 111 and a message"
fi
want=$("$Q/bin/qmail-qread" 2>&1; echo "rc=$?")
is "$("$SM" -bp 2>&1; echo "rc=$?")" "$want" "sendmail -bp is qmail-qread"
ln -s "$SM" "$D/mailq"
is "$("$D/mailq" 2>&1; echo "rc=$?")" "$want" "mailq is qmail-qread"


# ---- predate, datemail, mailsubj ----------------------------------------------------------------
if [ -x "$Q/bin/predate" ]; then
  like "$(echo body | uenv "$Q/bin/predate" cat)" $'^Date: [A-Z][a-z]{2}, [0-9]{1,2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [-+][0-9]{4}\nbody$' \
    "predate puts a Date line first"
  rc=0; uenv "$Q/bin/predate" sh -c 'exit 7' </dev/null || rc=$?
  is "$rc" 7 "predate returns the program's exit code"
  printf 'To: d@x.org\n\nb\n' | uenv "$Q/bin/datemail" -t >/dev/null 2>&1
  is "$(envl)" "Fqtij@i.test Td@x.org" "datemail queues like sendmail"
  is "$(head -n 3 "$D/msg" | grep -c '^Date:')" 1 "datemail: one Date field"
  echo hello | uenv "$Q/bin/mailsubj" $'two\nlines' m1@x.org m2 >/dev/null 2>&1
  is "$(envl)" "Fqtij@i.test Tm1@x.org Tm2@i.test" "mailsubj: recipients from its arguments"
  is "$(field Subject)" "Subject: two lines" "mailsubj: subject on one line"
  is "$(tail -n 1 "$D/msg")" hello "mailsubj: body"
else
  t_skip 7 "predate not built"
fi

t_done
