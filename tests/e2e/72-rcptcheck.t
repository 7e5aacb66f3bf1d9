#!/bin/bash
# recipient validation at RCPT time (users/rcptcheck.cdb written by
# qmail-rcptcheck-rebuild), with qmail-smtpd run directly as qmaild/nofiles
# on a pipe: .qmail files in a dash directory (qmail-pw2u -/), which
# account owns a local part (users/cdb, then the password database, then
# the alias account: only the owner's .qmail files count), .qmail files
# made after the last rebuild, a cdb of an older format.
. "$(dirname "$0")/lib.sh"
t_init

inst_new r || { echo "Bail out! inst_new"; exit 1; }
user_new rcx || { echo "Bail out! user_new"; exit 1; }
U=qtrcx
H=$(home_of "$U")
uid=$(id -u "$U") gid=$(id -g "$U")
qd=$(id -u qtqmaild) nf=$(getent group qtnofiles | cut -d: -f3)

# qmdir DIR NAME...: .qmail files DIR/NAME (./Maildir/), owned by $U
qmfile() {
  local d=$1 f
  shift
  for f; do
    printf './Maildir/\n' >"$d/$f"
    chown "$U:$gid" "$d/$f"
    chmod 0644 "$d/$f"
  done
}
# codes ADDR...: qmail-smtpd's reply code to RCPT TO:<ADDR> for each, one
# line each
codes() {
  { printf 'HELO t.test\r\nMAIL FROM:<a@b.test>\r\n'
    for a; do printf 'RCPT TO:<%s>\r\n' "$a"; done
    printf 'QUIT\r\n'; } |
    (cd "$T" && setpriv --reuid="$qd" --regid="$nf" --clear-groups \
      env - PATH=/usr/bin:/bin ASAN_OPTIONS="${ASAN_OPTIONS:-}" TCPREMOTEIP=127.0.0.1 \
      "$Q/bin/qmail-smtpd" -v 2>>"$T/smtpd.log") |
    tr -d '\r' | tail -n +4 | head -n $# | cut -c1-3
}
# qmtp ADDR...: one QMTP package for them through qmail-qmtpd -v (its
# log goes to $T/qmtpd.log); prints the first byte of each reply
qmtp() {
  local r="" a
  for a; do r="$r${#a}:$a,"; done
  printf '16:\nSubject: t\n\nhi\n,3:a@b,%d:%s,' ${#r} "$r" |
    (cd "$T" && setpriv --reuid="$qd" --regid="$nf" --clear-groups \
      env - PATH=/usr/bin:/bin ASAN_OPTIONS="${ASAN_OPTIONS:-}" TCPREMOTEIP=127.0.0.1 \
      "$Q/bin/qmail-qmtpd" -v 2>>"$T/qmtpd.log") |
    sed 's/[0-9]*:\(.\)[^,]*,/\1/g'
}
# want CODE ADDR: one RCPT
want() { is "$(codes "$2")" "$1" "RCPT TO:<$2> gets $1"; }

# ---- a dash holding '/': the .qmail files live in ~/.qmail-/ -------------
mkdir -p "$H/.qmail-"
chown "$U:$gid" "$H/.qmail-"
chmod 0755 "$H/.qmail-"
qmfile "$H/.qmail-" foo top bar-default
cat >"$Q/users/assign" <<EOF2
=rtedslash:$U:$uid:$gid:$H:-/:top:
+rtedslash-:$U:$uid:$gid:$H:-/::
.
EOF2
ok "$Q/bin/qmail-newu"
want 250 rtedslash-foo@r.test
want 250 rtedslash@r.test
want 250 rtedslash-bar-x@r.test
want 550 rtedslash-nope@r.test

# ---- the owner's .qmail files decide -------------------------------------
# the alias account has a catch-all; but man-foo belongs to passwd user
# man (qmail-getpw), user-nope to a users/assign "+user-" account, and a
# virtual domain's address to the account it is rewritten for, none of
# which has the .qmail file: delivery bounces them, so RCPT gets 550
user_new rcm || { echo "Bail out! user_new"; exit 1; }
M=qtrcm
HM=$(home_of "$M")
UL=$(id -u qtalias) GL=$(id -g qtalias)
printf './Maildir/\n' >"$Q/alias/.qmail-default"
chown qtalias "$Q/alias/.qmail-default"
chmod 0644 "$Q/alias/.qmail-default"
qmfile "$H" .qmail-ok .qmail-v-good
printf 'v.test\n' >>"$Q/control/rcpthosts"
printf 'v.test:rtedvirt\n' >"$Q/control/virtualdomains"
printf 'myalias: %s\n' "$M" >"$Q/users/aliases"
ok "$Q/bin/newaliases"
cat >"$Q/users/assign" <<EOF2
=rtedslash:$U:$uid:$gid:$H:-/:top:
+rtedslash-:$U:$uid:$gid:$H:-/::
+rtedassign-:$U:$uid:$gid:$H:-::
+rtedvirt-:$U:$uid:$gid:$H:-:v-:
.
EOF2
ok "$Q/bin/qmail-newu"
want 550 "$M-foo@r.test"
want 250 "$M@r.test"
want 550 rtedassign-nope@r.test
want 250 rtedassign-ok@r.test
want 550 bad@v.test
want 250 good@v.test
want 250 nosuch@r.test
want 250 myalias@r.test
want 250 rtedslash-foo@r.test

# a "+:" catch-all (qmail-pw2u always writes one): qmail-getpw is never
# asked, so a passwd name without a .qmail file in the catch-all's home
# is refused; the alias account's own names still count
rm -f "$Q/alias/.qmail-default"
sed -i '$d' "$Q/users/assign"
printf '+:qtalias:%s:%s:%s/alias:-::\n.\n' "$UL" "$GL" "$Q" >>"$Q/users/assign"
ok "$Q/bin/qmail-newu"
want 550 "$M@r.test"
want 550 nosuch@r.test
want 250 postmaster@r.test
want 250 myalias@r.test
want 250 rtedassign-ok@r.test
want 550 rtedassign-nope@r.test

# ---- a .qmail file made after the rebuild --------------------------------
# qmail delivers to it at once; qmail-smtpd sees that the owner's
# directory changed since the build started and accepts.  Homes left
# alone keep their refusals.
sed -i '/^+:/d' "$Q/users/assign"
touch -d '-1 hour' "$H" "$HM" "$Q/alias"
ok "$Q/bin/qmail-newu"
want 550 "$U-newext@r.test"
want 550 newlist@r.test
want 550 "$M-bogus@r.test"
qmfile "$H" .qmail-newext
want 250 "$U-newext@r.test"
like "$(cat "$T/smtpd.log")" "accepted rcpt <$U-newext@r\.test>: users/rcptcheck\.cdb is older than $H" \
  "-v logs that the cdb is older than the home"
qmtp "$U-newext@r.test" >/dev/null
like "$(cat "$T/qmtpd.log")" "accepted rcpt <$U-newext@r\.test>: users/rcptcheck\.cdb is older than $H" \
  "qmail-qmtpd -v logs it too"
# an account added to the password file after the build: found there at
# once; a change of the file does not open the door to other names
user_new rcn || { echo "Bail out! user_new rcn"; exit 1; }
want 250 qtrcn@r.test
want 550 nosuch@r.test
printf '&%s@r.test\n' "$M" >"$Q/alias/.qmail-newlist"
chown qtalias "$Q/alias/.qmail-newlist"
chmod 0644 "$Q/alias/.qmail-newlist"
want 250 newlist@r.test
want 550 "$M-bogus@r.test"
ok "$Q/bin/qmail-rcptcheck-rebuild"
want 250 "$U-newext@r.test"
want 250 newlist@r.test

# ---- what delivery would take or defer, though the build saw otherwise ----
# acct NAME HOME: a password-file account (qt prefix: tests/run removes it)
acct() {
  { flock 9
    getent passwd "$1" >/dev/null || useradd -U -M -d "$2" -s /bin/sh "$1" || return 1
    usermod -d "$2" "$1"; } 9>>/run/lock/qmail-accounts.lock
}
# an account whose home appears (or becomes its own) after the build:
# qmail-getpw takes it at once
ok acct qtrch "$T/home/qtrch"
rm -rf "$T/home/qtrch"
ok "$Q/bin/qmail-rcptcheck-rebuild"
want 550 qtrch@r.test
mkdir -p "$T/home/qtrch/Maildir"
want 550 qtrch@r.test
chown -R qtrch "$T/home/qtrch"
want 250 qtrch@r.test
# an account added since whose name extends an owner's at a break
# character takes the local part from it
ok "$Q/bin/qmail-rcptcheck-rebuild"
want 550 "$U-sub@r.test"
ok acct "$U-sub" "$T/home/$U-sub"
mkdir -p "$T/home/$U-sub"
chown "$U-sub" "$T/home/$U-sub"
want 250 "$U-sub@r.test"
want 550 "$U-nope@r.test"
# a sticky home (its user is editing .qmail files: delivery waits)
ok "$Q/bin/qmail-rcptcheck-rebuild"
want 550 "$M-bogus@r.test"
chmod +t "$HM"
want 250 "$M-bogus@r.test"
chmod -t "$HM"
# a home the build could not look at: delivery defers, so all is taken
ok acct qtrcf "$T/home/qtrcf"
rm -rf "$T/home/qtrcf"
ln -s qtrcf "$T/home/qtrcf"
out=$("$Q/bin/qmail-rcptcheck-rebuild" 2>&1)
like "$out" "warning: unable to stat $T/home/qtrcf \(Too many levels of symbolic links\): taking every address of qtrcf as deliverable" \
  "rebuild: a home it cannot stat is said"
want 250 qtrcf-anything@r.test
rm -f "$T/home/qtrcf"
# an alias account delivery cannot use defers everything it would take
chown root "$Q/alias"
out=$("$Q/bin/qmail-rcptcheck-rebuild" 2>&1)
like "$out" "warning: the alias account cannot take mail now" "rebuild: an unusable alias account is said"
want 250 postmaster@r.test
want 250 nosuch@r.test
chown qtalias "$Q/alias"
ok "$Q/bin/qmail-rcptcheck-rebuild"
want 550 nosuch@r.test

# a cdb of the older format (no version key): accepted, logged once
if command -v cdb >/dev/null; then
  cp "$Q/users/rcptcheck.cdb" "$T/rcptcheck.new"
  printf '+4,0:=joe->\n\n' | cdb -c "$Q/users/rcptcheck.cdb"
  chgrp qtnofiles "$Q/users/rcptcheck.cdb"
  chmod 0640 "$Q/users/rcptcheck.cdb"
  : >"$T/smtpd.log"
  is "$(codes nosuch@r.test other@r.test | tr '\n' ' ')" "250 250 " "older cdb format: recipients accepted"
  is "$(grep -c 'older format' "$T/smtpd.log")" 1 "older cdb format: logged once"
  : >"$T/qmtpd.log"
  is "$(qmtp nosuch@r.test other@r.test)" "KK" "qmail-qmtpd: older cdb format, recipients accepted"
  is "$(grep -c 'older format' "$T/qmtpd.log")" 1 "qmail-qmtpd: older cdb format logged once"
  cp "$T/rcptcheck.new" "$Q/users/rcptcheck.cdb"
else
  t_skip 4 "no cdb tool"
fi

nok grep -q 'ERROR: AddressSanitizer\|runtime error' "$T/smtpd.log" "$T/qmtpd.log"
t_done
