#!/bin/bash
# sendmail compatibility and forwarding through a running instance:
# ~/.forward (addresses, |program, /file, \user, unsafe modes), aliases.cdb
# for names nobody else handles (run as the alias account, owner-x as
# sender), a->b->a forwarding loops, and an instance built with
# conf-break "-+".
. "$(dirname "$0")/lib.sh"
t_init

ok inst_new f || t_done
ME=f.test
user_new "fa$$"; user_new "fb$$"; user_new "fc$$"
user_new "fs$$"
A=qtfa$$ B=qtfb$$ C=qtfc$$
# the sender is local too: bounces stay here (and never double-bounce
# into the alias Maildir, whose count is checked)
S=qtfs$$@f.test
HA=$(home_of $A) HB=$(home_of $B) HC=$(home_of $C)
D=$T/data
mkdir -p "$D"
chmod 0755 "$D"
inject() { # sender rcpt file
  printf 'F%s\0T%s\0\0' "$1" "$2" >"$D/env.$$"
  "$Q/bin/qmail-queue" <"$3" 1<"$D/env.$$"
}
logged() { inst_log | grep -q -- "$1"; }
# result RCPT REGEX: the last delivery to local RCPT ended with REGEX
result() {
  inst_log | awk -v r=" to local $1" '
    /^starting delivery/ && substr($0, length($0) - length(r) + 1) == r { d = $3; sub(":", "", d); n[d] = 1 }
    /^delivery [0-9]+:/ { d = $2; sub(":", "", d); if (d in n) last = $0 }
    END { print last }' | grep -q -- "$2"
}
count_is() { [ "$(maildir_count "$1")" = "$2" ]; }
newest() { ls -t "$1"/new/* 2>/dev/null | head -n 1; }
owned() { # user file content
  printf '%s' "$3" >"$2"
  chown "$1:$(id -g "$1")" "$2"
  chmod 0644 "$2"
}
printf 'Subject: fwd\n\nhello\n' >"$D/m"
ok inst_start ./Maildir/

# ---- ~/.forward ------------------------------------------------------------------
owned $A "$HA/.forward" "# forwarded by sendmail rules
$B, $C@$ME
\"|cat > fwd-prog.out\"
$HA/fwd.mbox
\\$A
"
ok inject $S "$A@$ME" "$D/m"
ok wait_for 30 count_is "$HB/Maildir" 1
ok wait_for 30 count_is "$HC/Maildir" 1
ok wait_for 30 count_is "$HA/Maildir" 1
fb=$(newest "$HB/Maildir")
is "$(sed -n '1,2p;4p' "$fb")" "Return-Path: <$S>
Delivered-To: $B@$ME
Delivered-To: $A@$ME" "forward from .forward: original sender, A's Delivered-To kept"
ok test -s "$HA/fwd-prog.out"
like "$(head -n 1 "$HA/fwd-prog.out")" "^Received: " ".forward |program got the message (without added lines)"
ok grep -qx "Subject: fwd" "$HA/fwd-prog.out"
like "$(head -n 3 "$HA/fwd.mbox" | tr '\n' '|')" "^From $S .*\|Return-Path: <$S>\|Delivered-To: $A@$ME\|" ".forward /file: an mbox"
is "$(sed -n 2p "$(newest "$HA/Maildir")")" "Delivered-To: $A@$ME" "\\user: a copy in the default delivery"
ok wait_for 10 logged "success: did_2+2+1"

# a group-writable .forward defers, with a reason (another user: the
# retry must not disturb the counts below)
user_new "fd$$"
HD=$(home_of qtfd$$)
owned qtfd$$ "$HD/.forward" "\\qtfd$$
"
chmod 0664 "$HD/.forward"
ok inject $S "qtfd$$@$ME" "$D/m"
ok wait_for 30 result "qtfd$$@$ME" "deferral: Uh-oh:_.forward_is_writable_by_group_or_others._(#4.7.0)"

# only the basic address: an extension without .qmail file has no mailbox
ok inject $S "$A-ext@$ME" "$D/m"
ok wait_for 30 logged "failure: Sorry,_no_mailbox_here_by_that_name._(#5.1.1)"

# a .qmail file takes precedence over .forward
owned $A "$HA/.qmail" "./Maildir/
"
nb=$(maildir_count "$HB/Maildir")
ok inject $S "$A@$ME" "$D/m"
ok wait_for 30 count_is "$HA/Maildir" 2
sleep 1
is "$(maildir_count "$HB/Maildir")" "$nb" ".forward ignored when there is a .qmail"
rm -f "$HA/.qmail"

# ---- aliases.cdb ---------------------------------------------------------------
AD=$T/adir
mkdir -p "$AD"
chown qtalias "$AD"
echo "" >"$D/empty"
chmod 0644 "$D/empty"
cat >"$Q/users/aliases" <<EOF2
list: $B, "|id -un > $AD/prog.out", $AD/list.mbox
owner-list: $C
nolist: :include:$D/empty
root: $B
EOF2
ok "$Q/bin/newaliases"
ok inject $S "list@$ME" "$D/m"
ok wait_for 30 count_is "$HB/Maildir" $((nb + 1))
is "$(head -n 2 "$(newest "$HB/Maildir")")" "Return-Path: <owner-list@$ME>
Delivered-To: $B@$ME" "alias forward: sender owner-list"
ok wait_for 10 test -s "$AD/prog.out"
is "$(cat "$AD/prog.out")" qtalias "alias |program runs as the alias account"
is "$(stat -c %U "$AD/list.mbox")" qtalias "alias /file written as the alias account"
like "$(sed -n 3p "$AD/list.mbox")" "^Delivered-To: list@$ME$" "alias /file: Delivered-To list"
ok inject $S "nolist@$ME" "$D/m"
ok wait_for 30 result "nolist@$ME" "success: did_0+0+0"
# an exact ~alias/.qmail-root beats the aliases entry
na=$(maildir_count "$Q/alias/Maildir")
nb=$(maildir_count "$HB/Maildir")
ok inject $S "root@$ME" "$D/m"
ok wait_for 30 count_is "$Q/alias/Maildir" $((na + 1))
# unknown names bounce unless the admin adds ~alias/.qmail-default; aliases
# entries still come first
ok inject $S "unknown$$@$ME" "$D/m"
ok wait_for 30 result "unknown$$@$ME" "failure: Sorry,_no_mailbox_here_by_that_name"
owned qtalias "$Q/alias/.qmail-default" "./Maildir/
"
ok inject $S "unknown$$@$ME" "$D/m"
ok wait_for 30 count_is "$Q/alias/Maildir" $((na + 2))
ok inject $S "LIST@$ME" "$D/m"
ok wait_for 30 count_is "$HB/Maildir" $((nb + 1))
is "$(maildir_count "$Q/alias/Maildir")" $((na + 2)) "aliases entry before ~alias/.qmail-default (case folded)"
rm -f "$Q/alias/.qmail-default"

# ---- forwarding loops ------------------------------------------------------------
owned $A "$HA/.qmail-loop" "&$B-loop@$ME
"
owned $B "$HB/.qmail-loop" "&$A-loop@$ME
"
ok inject $S "$A-loop@$ME" "$D/m"
ok wait_for 30 logged "failure: This_message_is_looping:_it_already_has_my_Delivered-To_line._(#5.4.6)"
sleep 2
is "$(inst_log | grep -cE "to local ($A|$B)-loop@$ME")" 3 "a->b->a: three deliveries, then the loop is caught"
# a message coming back from another host carries our line too
printf 'Delivered-To: %s@%s\nReceived: from elsewhere\nSubject: back\n\nx\n' "$C" "$ME" >"$D/back"
nc=$(maildir_count "$HC/Maildir")
ok inject $S "$C@$ME" "$D/back"
ok wait_for 30 result "$C@$ME" "failure: .*looping"
is "$(maildir_count "$HC/Maildir")" "$nc" "a loop through another host is caught"
ok inst_stop

# ---- conf-break "-+" ---------------------------------------------------------------
export BREAK=-+
ok inst_new p
unset BREAK
user_new "fp$$"
P=qtfp$$ HP=$(home_of qtfp$$)
out=$("$Q/bin/qmail-getpw" "$P+Foo+bar" | tr '\0' '|')
is "$out" "$P|$(id -u $P)|$(id -g $P)|$HP|-|Foo+bar|" "getpw: + breaks"
out=$("$Q/bin/qmail-getpw" "$P-x" | tr '\0' '|')
is "$out" "$P|$(id -u $P)|$(id -g $P)|$HP|-|x|" "getpw: - still breaks"
owned $P "$HP/.qmail-foo+default" '|echo "$EXT:$EXT2:$EXT3:$DEFAULT" > out
'
rc=0
as_user $P "$Q/bin/qmail-local" -- $P "$HP" "$P+Foo+bar-z" - "Foo+bar-z" p.test s@x ./Maildir/ <"$D/m" >/dev/null || rc=$?
is "$rc:$(cat "$HP/out")" "0:Foo+bar-z:bar-z:z:bar-z" "-default search and EXT2.. at + and -"
t_done
