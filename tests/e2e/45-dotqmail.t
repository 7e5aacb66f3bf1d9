#!/bin/bash
# .qmail processing by qmail-local, run directly as the user (so every
# case is checked exactly: exit code, report, files): environment values,
# extension search with case folding and ':', hostile local parts, bad
# .qmail files, program exit codes, output floods and timeouts, mbox
# locking and a full disk, a header line of 3 GB.
. "$(dirname "$0")/lib.sh"
t_init

ok inst_new d || t_done
user_new "da$$"
U=qtda$$
H=$(home_of $U)
G=$(id -g $U)
D=$T/data
mkdir -p "$D"
chmod 0755 "$D"
printf 'Subject: t\n\nFrom me\nbody\n' >"$D/m"
chmod 0644 "$D/m"

# local EXT DASH [SENDER [DOMAIN]]: runs qmail-local as $U on $D/m (or $MSG);
# sets rc and out
ql() {
  rc=0
  out=$(as_user $U "$Q/bin/qmail-local" -- $U "$H" "$1" "$3" "$2" "${5:-a.b.c.d.example}" \
    "${4-s@x.example}" ./Maildir/ <"${MSG:-$D/m}" 2>&1) || rc=$?
}
put() { # file content: a .qmail-style file of the user, mode 644
  printf '%s' "$2" >"$H/$1"
  chown $U:$G "$H/$1"
  chmod 0644 "$H/$1"
}
nmail() { maildir_count "$H/Maildir"; }

# ---- basic: no .qmail = default delivery -----------------------------------
ql $U "" ""
is "$rc:$out" "0:did 1+0+0" "no .qmail: default delivery"

# ---- environment, exact values -----------------------------------------------
put .qmail-env-default '|for v in SENDER NEWSENDER RECIPIENT USER HOME HOST HOST2 HOST3 HOST4 LOCAL EXT EXT2 EXT3 EXT4 DEFAULT DTLINE RPLINE UFLINE; do printf "%s=[%s]\n" $v "$(printenv $v; echo .)"; done > env.out
'
ql "$U-env-Foo.Bar-x-y" "env-Foo.Bar-x-y" -
is "$rc:$out" "0:did 0+0+1" "program delivery"
R=$U-env-Foo.Bar-x-y
want="SENDER=[s@x.example
.]
NEWSENDER=[s@x.example
.]
RECIPIENT=[$R@a.b.c.d.example
.]
USER=[$U
.]
HOME=[$H
.]
HOST=[a.b.c.d.example
.]
HOST2=[a.b.c.d
.]
HOST3=[a.b.c
.]
HOST4=[a.b
.]
LOCAL=[$R
.]
EXT=[env-Foo.Bar-x-y
.]
EXT2=[Foo.Bar-x-y
.]
EXT3=[x-y
.]
EXT4=[y
.]
DEFAULT=[Foo.Bar-x-y
.]
DTLINE=[Delivered-To: $R@a.b.c.d.example

.]
RPLINE=[Return-Path: <s@x.example>

.]
UFLINE=[From s@x.example"
got=$(sed 's/^\(UFLINE=\[From s@x.example\) .*/\1/' "$H/env.out" | head -n -2)
is "$got" "$want" "environment of a program: exact values"
like "$(tail -n 3 "$H/env.out" | tr '\n' '|')" '^UFLINE=\[From s@x.example (Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [0-3][0-9] [0-9:]{8} [0-9]{4}\|\|\.\]\|$' "UFLINE: ctime date and LF"
ql "$U-env-z" "env-z" - ""
like "$(cat "$H/env.out")" "SENDER=\\[
" "empty sender: SENDER empty"
like "$(grep UFLINE "$H/env.out")" "^UFLINE=\\[From MAILER-DAEMON " "empty sender: UFLINE MAILER-DAEMON"
for hc in 'localhost:localhost:localhost:localhost' 'a.test:a:a:a' 'a.b.c.d:a.b.c:a.b:a'; do
  ql "$U-env-h" "env-h" - s@x.example "${hc%%:*}"
  is "$(grep '^HOST[234]=' "$H/env.out" | sed 's/^HOST.=\[//' | tr '\n' ':')" "${hc#*:}:" \
    "HOST2..4 of ${hc%%:*}: a part goes only while a dot is left"
done
rm -f "$H/.qmail-env-default"

# ---- run by hand: report lines on stdout, failures on stderr, umask, home ----
put .qmail-um '|touch um.out
'
rm -f "$H/um.out"
rc=0
out=$(umask 022; as_user $U "$Q/bin/qmail-local" -- $U "$H" "$U-um" - um a.example s@x.example ./Maildir/ <"$D/m" 2>/dev/null) || rc=$?
is "$rc:$out:$(stat -c %a "$H/um.out")" "0:did 0+0+1:600" "success on stdout; umask 077 for what a delivery makes"
rc=0
out=$(as_user $U "$Q/bin/qmail-local" -- $U "$H" "$U-none" - none a.example s@x.example ./Maildir/ <"$D/m" 2>"$D/err") || rc=$?
is "$rc:$out:$(cat "$D/err")" "100::Sorry, no mailbox here by that name. (#5.1.1)" "a failure goes to stderr, nothing to stdout"
rc=0
out=$(cd "$H/.." && as_user $U "$Q/bin/qmail-local" -- $U "$(basename "$H")" $U "" "" a.example s@x.example ./Maildir/ <"$D/m" 2>&1) || rc=$?
like "$rc:$out" "^100:qmail-local: .*usage: " "a relative home is a usage error, as in qmail"

# ---- extension search, case folding, dots ---------------------------------------
mkdir -p "$H/M2/new" "$H/M2/cur" "$H/M2/tmp"
chown -R $U:$G "$H/M2"
put .qmail-foo:bar './M2/
'
ql "$U-Foo.Bar" "Foo.Bar" -
is "$rc:$out" "0:did 1+0+0" ".qmail-foo:bar for Foo.Bar"
put .qmail-l-default '|echo "$DEFAULT" > default.out
'
put .qmail-l-a-default '|echo "a:$DEFAULT" > default.out
'
ql "$U-l-a-b-c" "l-a-b-c" -
is "$rc:$(cat "$H/default.out")" "0:a:b-c" "longest -default first, DEFAULT is the rest"
ql "$U-l-x" "l-x" -
is "$rc:$(cat "$H/default.out")" "0:x" ".qmail-l-default"
# an exact name that ends in "default" sets $DEFAULT as well, as qmail's
ql "$U-l-DEFAULT" "l-DEFAULT" -
is "$rc:$(cat "$H/default.out")" "0:DEFAULT" ".qmail-l-default for l-DEFAULT itself: DEFAULT is its last 7 characters"
ql "$U-nothing" "nothing" -
is "$rc:$out" "100:Sorry, no mailbox here by that name. (#5.1.1)" "no file for an extension: permanent"

# ---- hostile local parts ---------------------------------------------------------
ql "$U-;touch pwned;" ";touch pwned;" -
is "$rc" 100 "user-;cmd; without a file: no mailbox"
put .qmail-default '|printf "%s" "$EXT" > ext.out
'
ql "$U-;touch pwned;\`touch pwned2\`\$(touch pwned3)" ";touch pwned;\`touch pwned2\`\$(touch pwned3)" -
is "$rc" 0 "hostile extension to .qmail-default"
is "$(cat "$H/ext.out")" ";touch pwned;\`touch pwned2\`\$(touch pwned3)" "EXT reaches the program as data"
ok test ! -e "$H/pwned" -a ! -e "$H/pwned2" -a ! -e "$H/pwned3"
# an extension a bash from before 2014 would import as a function (and
# run what follows): no program sees it; the delivery fails for good
rm -f "$H/ext.out"
ql "$U-() { :;}; touch pwned4" "() { :;}; touch pwned4" -
is "$rc:$out" '100:Refusing to run a program: $EXT would look like a shell function to bash. (#5.7.1)' \
  "EXT shaped like a bash function: no program runs"
ok test ! -e "$H/ext.out" -a ! -e "$H/pwned4"
rm -f "$H/.qmail-default"
# ../x: '.' and '/' become ':', so no name can leave the home directory
mkdir -p "$H/.qmail-.."
put .qmail-../x '|touch escaped
'
put .qmail-:::x '|touch stayed
'
ql "$U-../x" "../x" -
is "$rc" 0 "user-../x delivered"
ok test -e "$H/stayed"
ok test ! -e "$H/escaped"
mkdir -p "$D/outside"
ql "$U-../../data/outside" "../../data/outside" -
is "$rc" 100 "user-../../dir: no mailbox (nothing outside the home is read)"

# ---- bad .qmail files ------------------------------------------------------------
put .qmail-blank $' \t \n./Maildir/\n'
ql "$U-blank" blank -
is "$rc:$out" "111:Uh-oh: first line of .qmail file is blank. (#4.2.1)" "first line only blanks: deferred"
n=$(nmail)
put .qmail-trail './Maildir/   	 
'
ql "$U-trail" trail -
is "$rc:$out:$(nmail)" "0:did 1+0+0:$((n + 1))" "trailing blanks ignored"
put .qmail-nonl './Maildir/'
ql "$U-nonl" nonl -
is "$rc:$out:$(nmail)" "0:did 1+0+0:$((n + 2))" "no final newline"
put .qmail-sp '   '
ql "$U-sp" sp -
is "$rc:$out:$(nmail)" "111:Uh-oh: first line of .qmail file is blank. (#4.2.1):$((n + 2))" "blanks alone, no newline: deferred, not thrown away"
put .qmail-lf $'\n'
ql "$U-lf" lf -
is "$rc:$out" "111:Uh-oh: first line of .qmail file is blank. (#4.2.1)" "a lone newline: deferred"
for dd in '  ' ''; do
  rc=0
  out=$(as_user $U "$Q/bin/qmail-local" -- $U "$H" $U "" "" a.example s@x.example "$dd" <"$D/m" 2>&1) || rc=$?
  is "$rc:$out" "111:Uh-oh: first line of .qmail file is blank. (#4.2.1)" "default delivery [$dd]: deferred"
done
put .qmail-long "&$(head -c 200000 /dev/zero | tr '\0' a)@x.example"
ql "$U-long" long -
is "$rc:$out" "100:Forwarding address is too long. (#5.1.3)" "absurdly long forward line"
put .qmail-longc "#$(head -c 500000 /dev/zero | tr '\0' a)
./Maildir/
"
ql "$U-longc" longc -
is "$rc:$out" "0:did 1+0+0" "absurdly long comment line"
head -c 2000000 /dev/zero | tr '\0' '#' >"$H/.qmail-huge"
ql "$U-huge" huge -
is "$rc:$out" "111:.qmail-huge is too big. (#4.2.1)" ".qmail over 1 MiB: deferred"
put .qmail-ww './Maildir/
'
chmod 0666 "$H/.qmail-ww"
ql "$U-ww" ww -
is "$rc:$out" "111:Uh-oh: .qmail-ww is writable by others. (#4.7.0)" "world-writable .qmail: deferred"
put .qmail-fo './Maildir/
'
chmod 0744 "$H/.qmail-fo"
ql "$U-fo" fo -
is "$rc:$out" "111:Uh-oh: .qmail has file or program delivery but has forward-only mode set. (#4.7.0)" "forward-only (u+x) .qmail with a file line"
n=$(nmail)
put .qmail-pl $'./Maildir/\n+list\n#x\n'
ql "$U-pl" pl -
is "$rc:$out:$(nmail)" "0:did 1+0+0:$((n + 1))" "+list: forward-only only for the lines after it"
put .qmail-pl2 $'&x@y.example\n+list\n./Maildir/\n'
ql "$U-pl2" pl2 -
is "$rc:$out" "111:Uh-oh: .qmail has file or program delivery but has forward-only mode set. (#4.7.0)" "+list: a file line after it defers"
put .qmail-pl3 $'+foo\n+list2\n+\n./Maildir/\n'
ql "$U-pl3" pl3 -
is "$rc:$out:$(nmail)" "0:did 1+0+0:$((n + 2))" "+ lines other than +list are ignored"
rc=0
put .qmail-pl4 $'./Maildir/\n+list\n&x@y.example\n+foo\n|true\n'
out=$(as_user $U "$Q/bin/qmail-local" -n -- $U "$H" "$U-pl4" - pl4 a.example s@x.example ./Maildir/ </dev/null 2>&1) || rc=$?
is "$rc:$out" "111:maildir ./Maildir/
forward x@y.example
Uh-oh: .qmail has file or program delivery but has forward-only mode set. (#4.7.0)" "-n: nothing for + lines, stops at a program after +list"
rc=0
out=$(as_user $U "$Q/bin/qmail-local" -n -- $U "$H" "$U-pl" - pl a.example s@x.example ./Maildir/ </dev/null 2>&1) || rc=$?
is "$rc:$out" "0:maildir ./Maildir/
did 1+0+0" "-n: the did line counts the instructions, as qmail prints it"
# options bundled as getopt takes them, the last one winning; "&" alone
# forwards to nobody, with -n as in a delivery
put .qmail-amp $'&\n./Maildir/\n'
rc=0
out=$(as_user $U "$Q/bin/qmail-local" -Nn -- $U "$H" "$U-amp" - amp a.example s@x.example ./Maildir/ </dev/null 2>&1) || rc=$?
is "$rc:$out" "0:maildir ./Maildir/
did 1+0+0" "-Nn is -n; a lone & is skipped"
n=$(nmail)
rc=0
out=$(as_user $U "$Q/bin/qmail-local" -nN -- $U "$H" "$U-amp" - amp a.example s@x.example ./Maildir/ <"$D/m" 2>&1) || rc=$?
is "$rc:$out:$(nmail)" "0:did 1+0+0:$((n + 1))" "-nN delivers; the same count"
chmod +t "$H"
ql "$U-trail" trail -
is "$rc:$out" "111:Home directory is sticky: user is editing his .qmail file. (#4.2.1)" "sticky home: deferred"
chmod -t "$H"

# ---- programs ------------------------------------------------------------------
for c in 0:0 99:0 100:100 64:100 65:100 70:100 76:100 77:100 78:100 112:100 111:111 75:111 1:111 2:111; do
  put .qmail-exit "|exit ${c%%:*}
|touch after
"
  rm -f "$H/after"
  ql "$U-exit" exit -
  a=$([ -e "$H/after" ] && echo after)
  case ${c%%:*} in 0) w="${c#*:}after" ;; *) w="${c#*:}" ;; esac
  is "$rc$a" "$w" "program exit ${c%%:*} -> ${c#*:}"
done
put .qmail-crash '|kill -9 $$
'
ql "$U-crash" crash -
is "$rc:$out" "111:Program crashed. (#4.3.0)" "crashing program: deferred"
put .qmail-flood '|head -c 30000000 /dev/zero; head -c 30000000 /dev/zero >&2; echo done
'
rc=0
as_user $U "$Q/bin/qmail-local" -- $U "$H" "$U-flood" - flood x.example s@x ./Maildir/ <"$D/m" >"$D/flood.out" 2>&1 || rc=$?
is "$rc:$(tail -n 1 "$D/flood.out")" "0:did 0+0+1" "program writing 60 MB to stdout and stderr"
echo 2 >"$Q/control/timeoutlocal"
put .qmail-hang '|sleep 1000 & sleep 1001
'
s=$SECONDS
ql "$U-hang" hang -
is "$rc:$out" "111:Program did not finish within 2 seconds (control/timeoutlocal); killed. (#4.3.0)" "program that never exits: killed, deferred"
ok test $((SECONDS - s)) -lt 10
ok test -z "$(pgrep -u $U -f 'sleep 100[01]')"
rm -f "$Q/control/timeoutlocal"

# ---- mbox: locks and full disks -------------------------------------------------
put .qmail-mb './Mailbox
'
ql "$U-mb" mb -
is "$rc:$out" "0:did 1+0+0" "mbox delivery"
cp "$H/Mailbox" "$D/mbox.before"
# a fresh dotlock is waited for
as_user $U touch "$H/Mailbox.lock"
( ql "$U-mb" mb -; echo "$rc" >"$D/bg.rc" ) &
sleep 1.5
ok cmp "$H/Mailbox" "$D/mbox.before"
rm -f "$H/Mailbox.lock"
wait
is "$(cat "$D/bg.rc")" 0 "delivered after the dotlock went away"
ok test ! -e "$H/Mailbox.lock"
# flock held by another program (mutt, procmail) is waited for too
cp "$H/Mailbox" "$D/mbox.before"
flock "$H/Mailbox" sleep 2 &
sleep 0.3
( ql "$U-mb" mb -; echo "$rc" >"$D/bg.rc" ) &
sleep 1
ok cmp "$H/Mailbox" "$D/mbox.before"
wait
is "$(cat "$D/bg.rc")" 0 "delivered after the flock was released"
# a stale dotlock (older than 300 s) is broken
as_user $U touch -d '-10 minutes' "$H/Mailbox.lock"
ql "$U-mb" mb -
is "$rc:$out" "0:did 1+0+0" "stale dotlock broken"
ok test ! -e "$H/Mailbox.lock"
# file size limit: EFBIG, the mbox is left byte for byte as it was
cp "$H/Mailbox" "$D/mbox.before"
{ printf 'Subject: big\n\n'; head -c 300000 /dev/zero | tr '\0' 'x'; echo; } >"$D/big"
chmod 644 "$D/big"
sz=$(stat -c %s "$H/Mailbox")
rc=0
out=$(prlimit --fsize=$((sz + 100000)) setpriv --reuid=$U --regid=$G --init-groups \
  "$Q/bin/qmail-local" -- $U "$H" "$U-mb" - mb x.example s@x ./Maildir/ <"$D/big" 2>&1) || rc=$?
like "$rc:$out" '^111:Unable to write to mailbox ./Mailbox: File too large. \(#4.2.2\)$' "RLIMIT_FSIZE: deferred, 4.2.2"
ok cmp "$H/Mailbox" "$D/mbox.before"
# a full file system (tmpfs of 1 MiB)
mkdir -p "$H/small"
if mount -t tmpfs -o size=1m,mode=0755 qtsmall "$H/small"; then
  chown $U:$G "$H/small"
  put .qmail-full './small/Mailbox
'
  ql "$U-full" full -
  is "$rc" 0 "small fs: first message fits"
  cp "$H/small/Mailbox" "$D/small.before"
  { printf 'Subject: huge\n\n'; head -c 2000000 /dev/zero | tr '\0' 'y'; echo; } >"$D/huge"
  chmod 644 "$D/huge"
  MSG=$D/huge ql "$U-full" full -
  like "$rc:$out" '^111:Unable to write to mailbox ./small/Mailbox: No space left on device. \(#4.2.2\)$' "ENOSPC: deferred, 4.2.2"
  ok cmp "$H/small/Mailbox" "$D/small.before"
  ok test ! -e "$H/small/Mailbox.lock"
  umount "$H/small"
else
  t_skip 4 "cannot mount tmpfs"
fi

# ---- maildir without tmp/ ---------------------------------------------------------
mkdir -p "$H/M3/new" "$H/M3/cur"
chown -R $U:$G "$H/M3"
put .qmail-m3 './M3/
'
ql "$U-m3" m3 -
like "$rc:$out" '^111:Unable to create a file in maildir ./M3/: No such file or directory. \(#4.2.1\)$' "maildir without tmp/: deferred"

[ -n "${SKIPBIG:-}" ] && t_done
# ---- a header line of 3 GB (sparse file): bounded time and memory ----------------
put .qmail-big '|cat >/dev/null
'
f=$D/sparse
printf 'X-Big: ' >"$f"
truncate -s 3G "$f"
printf '\n\nbody\n' >>"$f"
chmod 644 "$f"
rc=0
s=$SECONDS
/usr/bin/time -f '%M' -o "$D/rss" timeout 300 setpriv --reuid=$U --regid=$G --init-groups \
  "$Q/bin/qmail-local" -- $U "$H" "$U-big" - big x.example s@x ./Maildir/ <"$f" >"$D/big.out" 2>&1 || rc=$?
is "$rc:$(cat "$D/big.out")" "0:did 0+0+1" "3 GB header line: delivered"
t_diag "3 GB header line: $((SECONDS - s)) s, max RSS $(tail -n 1 "$D/rss") KiB"
ok test "$(tail -n 1 "$D/rss")" -lt 200000
rm -f "$f"

t_done
