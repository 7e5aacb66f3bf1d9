#!/bin/bash
# recipient validation at RCPT time (users/rcptcheck.cdb written by
# qmail-rcptcheck-rebuild), with qmail-smtpd run directly as qmaild/nofiles
# on a pipe: .qmail files in a dash directory (qmail-pw2u -/), which
# account owns a local part (users/cdb, then the password database, then
# the alias account: only the owner's .qmail files count), and .qmail
# files or aliases made after the last rebuild.
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

nok grep -q 'ERROR: AddressSanitizer\|runtime error' "$T/smtpd.log"
t_done
