#!/bin/bash
# qmail-showctl: the build settings (home, split, break, spawn, accounts
# with their ids), set and unset control files with their defaults, the
# parsing rules (first line, trailing blanks, comments and blank lines in
# lists, non-numbers), me-derived defaults, map files, the conf-spawn cap,
# warnings for unknown files, exit 111 when control/ cannot be read.
# Nothing is started.
. "$(dirname "$0")/lib.sh"
t_init

ok inst_new i || t_done
R=$(cd "$(dirname "$0")/../.." && pwd)
SC=$Q/bin/qmail-showctl
nl=$'\n'
C=$Q/control

run() { out=$("$SC" 2>&1); rc=$?; }
# the paragraph of one control file: its first line and indented entries
para() { printf '%s\n' "$out" | awk -v f="$1:" '$1 == f { p = 1; print; next } p && /^  / { print; next } { p = 0 }'; }

run
is "$rc" 0 "exit 0 on a fresh instance"
like "$out" "(^|$nl)QMAILHOME \\(conf-home\\): $Q($nl|$)" "home"
split=$(head -n 1 "$R/conf-split")
spawn=$(head -n 1 "$R/conf-spawn")
like "$out" "conf-split\\): $split subdirectories" "split"
like "$out" "conf-spawn\\): $spawn($nl)" "spawn"
like "$out" "break characters \\(conf-break\\): -" "break"
like "$out" "user qmaild +qtqmaild uid $(id -u qtqmaild)($nl)" "qmaild with its uid"
like "$out" "user qmailq +qtqmailq uid $(id -u qtqmailq)($nl)" "qmailq with its uid"
like "$out" "group nofiles +qtnofiles gid $(getent group qtnofiles | cut -d: -f3)($nl)" "nofiles with its gid"

# values as installed, and absent files with their defaults
is "$(para concurrencyremote)" "concurrencyremote: At most 20 remote deliveries at once." "installed value"
is "$(para timeoutremote)" "timeoutremote: (Default.) qmail-remote waits 1200 seconds for each SMTP read or write." "absent number"
is "$(para bouncehost)" "bouncehost: (Default.) Bounces come from the host i.test (from control/me)." "default from me"
is "$(para doublebounceto)" "doublebounceto: (Default.) Double bounces go to the user postmaster." "literal default"
is "$(para me)" "me: This host is called i.test." "me"
is "$(para locals)" "locals: Mail for these domains is delivered on this host:
  i.test
  localhost" "list file, one entry per line"
is "$(para badmailfrom)" "badmailfrom: (Default.) Any envelope sender is accepted." "absent list"

# every file of qmail-control(5) has a paragraph
for f in $(sed -n '/^\.SH FILES/,/^\.SH/{/^\.TP/{n;s/^\.B //p}}' "$R/man/qmail-control.5"); do
  like "$out" "(^|$nl)$f: " "paragraph for $f"
done

# parsing rules and special cases
rm -f "$C/concurrencylocal"
printf 'bouncer \t\nsecond line\n' >"$C/bouncefrom"
printf '# refused senders\n\n@spam.test  \nbad@ex.test\n' >"$C/badmailfrom"
printf 'abc\n' >"$C/timeoutconnect"
printf '900\n' >"$C/concurrencyremote"
printf 'virt.test:joe\n.sub.test:sub\nexc.virt.test:\n' >"$C/virtualdomains"
printf 'far.test:relay.test:2525\n:[10.0.0.1]\n' >"$C/smtproutes"
printf 'x\n' >"$C/bogus"
printf 'x\n' >"$C/Locals.bak"
run
is "$rc" 0 "exit 0 with an unknown file"
is "$(para concurrencylocal)" "concurrencylocal: (Default.) At most 50 local deliveries at once." "removed file shows its default"
is "$(para bouncefrom)" "bouncefrom: Bounces come from the user bouncer." "first line, trailing blanks stripped"
is "$(para badmailfrom)" "badmailfrom: SMTP refuses these envelope senders (@domain: the whole domain):
  @spam.test
  bad@ex.test" "list skips comments and blank lines"
like "$(para timeoutconnect)" "^timeoutconnect: \\(Default\\.\\) qmail-remote waits 60 seconds .*not a number" "not a number: default"
is "$(para concurrencyremote)" "concurrencyremote: At most $spawn remote deliveries at once (900, capped at conf-spawn)." "capped at conf-spawn"
like "$(para virtualdomains)" "  virt.test: to joe-address" "virtualdomains entry"
like "$(para virtualdomains)" "  subdomains of sub.test: to sub-address" "virtualdomains wildcard"
like "$(para virtualdomains)" "  exc.virt.test: exception" "virtualdomains exception"
like "$(para smtproutes)" "  far.test: to relay.test:2525" "smtproutes route"
like "$(para smtproutes)" "  any other domain: to \\[10.0.0.1\\]" "smtproutes default route"
like "$out" "(^|$nl)warning: control/bogus: [^$nl]*no program reads it" "unknown file warned about"
like "$out" "warning: control/Locals.bak:" "names are case-sensitive"
nok grep -q 'warning: control/locals' <<<"$out"
# the warnings come sorted, after every paragraph
is "$(printf '%s\n' "$out" | grep '^warning:' | cut -d: -f2)" " control/Locals.bak
 control/bogus" "warnings sorted"

# an unreadable control directory: exit 111 with a message
chmod 0700 "$C"
out=$(as_user qtqmaild "$SC" 2>&1 >/dev/null); rc=$?
chmod 0755 "$C"
is "$rc" 111 "unreadable control/: exit 111"
like "$out" "^qmail-showctl: fatal: unable to read" "names itself"

t_done
