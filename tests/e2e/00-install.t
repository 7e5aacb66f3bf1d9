#!/bin/bash
# install/instance: the tree, owners, modes, control files, re-run safety
. "$(dirname "$0")/lib.sh"
t_init

ok inst_new inst || { t_done; }

# perm PATH "owner:group mode" -- owner, group and octal mode of PATH
perm() { is "$(stat -c '%U:%G %a' "$Q/$1")" "$2" "$1 is $2"; }
tree() {
  perm . "root:qtqmail 755"
  perm bin "root:qtqmail 755"
  perm control "root:qtqmail 755"
  perm users "root:qtqmail 755"
  perm alias "qtalias:qtqmail 755"
  perm sock "qtqmailq:qtqmail 755"
  perm queue "qtqmailq:qtqmail 750"
  perm queue/pid "qtqmailq:qtqmail 700"
  perm queue/mess "qtqmailq:qtqmail 750"
  perm queue/intd "qtqmailq:qtqmail 700"
  perm queue/todo "qtqmailq:qtqmail 750"
  perm queue/info "qtqmails:qtqmail 700"
  perm queue/local "qtqmails:qtqmail 700"
  perm queue/remote "qtqmails:qtqmail 700"
  perm queue/bounce "qtqmails:qtqmail 700"
  perm queue/lock "qtqmailq:qtqmail 750"
  perm queue/lock/sendmutex "qtqmails:qtqmail 600"
  perm queue/lock/trigger "qtqmails:qtqmail 622"
  perm queue/lock/tcpto "qtqmailr:qtqmail 644"
  perm log/qmail-send "qtqmaill:qtnofiles 750"
}
tree

split=$(head -n 1 "$(dirname "$0")/../../conf-split")
# every hashed directory has exactly 0..split-1, with its parent's owner/mode
hashed() {
  local d i want
  for d in mess intd todo info local remote; do
    want=$(stat -c '%U:%G %a' "$Q/queue/$d")
    for ((i = 0; i < split; i++)); do
      [ "$(stat -c '%U:%G %a' "$Q/queue/$d/$i")" = "$want" ] || { echo "queue/$d/$i"; return 1; }
    done
    [ "$(find "$Q/queue/$d" -mindepth 1 | wc -l)" = "$split" ] || { echo "$d count"; return 1; }
  done
}
ok hashed
ok test -p "$Q/queue/lock/trigger"
is "$(stat -c %s "$Q/queue/lock/tcpto")" 1024 "tcpto has 1024 bytes"
is "$(tr -d '\0' <"$Q/queue/lock/tcpto" | wc -c)" 0 "tcpto is all zeros"

# the queue is closed to everybody but the qmail accounts
user_new bob
nok as_user qtbob ls "$Q/queue"
nok as_user qtbob cat "$Q/queue/lock/tcpto"
ok as_user qtbob ls "$Q/control"

# qmail-queue is the only set-id file; programs have their modes
setid=$(cd "$Q" && find . -perm /6000 | sort)
if [ -e "$Q/bin/qmail-queue" ]; then
  is "$setid" "./bin/qmail-queue" "only bin/qmail-queue is set-id"
  perm bin/qmail-queue "qtqmailq:qtqmail 4711"
else
  is "$setid" "" "no set-id file (qmail-queue not built yet)"
  t_skip 1 "qmail-queue not built yet"
fi
for p in qmail-start qmail-lspawn qmail-newu; do
  if [ -e "$Q/bin/$p" ]; then perm "bin/$p" "root:qtqmail 700"; else t_skip 1 "$p not built yet"; fi
done
for p in qmail-send qmail-clean qmail-rspawn qmail-remote qmail-local qmail-getpw qmail-queued; do
  if [ -e "$Q/bin/$p" ]; then perm "bin/$p" "root:qtqmail 711"; else t_skip 1 "$p not built yet"; fi
done
# everything that was built is installed
built=$(cd "$T/.build/inst" && for f in *; do [ -f "$f" ] && [ -x "$f" ] && echo "$f"; done | sort)
is "$(ls "$Q/bin" | sort)" "$built" "bin/ holds every built program"
is "$(find "$Q" -name "*.new.*")" "" "no temp files left"

# control files
is "$(cat "$Q/control/me")" "inst.test" "control/me"
is "$(cat "$Q/control/defaultdelivery")" "./Maildir/" "control/defaultdelivery"
for f in "$(dirname "$0")"/../../control-defaults/*; do
  [ -f "$f" ] || continue
  b=$(basename "$f")
  is "$(cat "$Q/control/$b")" "$(cat "$f")" "control/$b from control-defaults"
done
perm control/me "root:qtqmail 644"

# alias
is "$(cat "$Q/alias/.qmail-postmaster")" "./Maildir/" "alias/.qmail-postmaster"
for a in mailer-daemon root abuse hostmaster; do ok test -s "$Q/alias/.qmail-$a"; done
perm alias/Maildir "qtalias:qtnofiles 700"
perm alias/Maildir/new "qtalias:qtnofiles 700"
# whatever the passwd home of the shared alias account, this instance's
# qmail-getpw hands it $Q/alias
is "$("$Q/bin/qmail-getpw" qtnosuchname | tr '\0' '\n' | sed -n 4p)" "$Q/alias" "alias account's home"

# manual pages, where qmail installs them
perm man/man8/qmail-send.8 "root:qtqmail 644"
ok test -f "$Q/man/man5/dot-qmail.5"
ok test -f "$Q/man/man1/maildirmake.1"
# service directories
ok grep -q "qmail-start" "$Q/supervise/qmail-send/run"
ok grep -q '^exec 2>&1' "$Q/supervise/qmail-send/run"
ok grep -q "setuidgid qtqmaill multilog t .* $Q/log/qmail-send\$" "$Q/supervise/qmail-send/log/run"
ok test -x "$Q/supervise/qmail-send/run"
ok test -x "$Q/supervise/qmail-send/log/run"
ok sh -n "$Q/supervise/qmail-send/run"
# the sanitizer build gets no memory limit, only the files limit
nok grep -q 'softlimit -m' "$Q/supervise/qmail-send/run"
# the whole of control/defaultdelivery is the default delivery, as with
# LWQ's `cat` (|dot-forward .forward, then ./Maildir/), CRs dropped
printf '#!/bin/sh\nprintf "%%s" "$1" >%s/dd.arg\n' "$T" >"$T/fake-start"
chmod 755 "$T/fake-start"
cp "$Q/control/defaultdelivery" "$T/dd.saved"
printf '|dot-forward .forward\r\n./Maildir/\r\n' >"$Q/control/defaultdelivery"
sed "s|$Q/bin/qmail-start|$T/fake-start|" "$Q/supervise/qmail-send/run" >"$T/run.copy"
sh "$T/run.copy" >/dev/null 2>&1
is "$(cat "$T/dd.arg" 2>/dev/null)" $'|dot-forward .forward\n./Maildir/' "run passes every line of control/defaultdelivery"
cp "$T/dd.saved" "$Q/control/defaultdelivery"

# re-running keeps edits and repairs modes
echo 7 >"$Q/control/concurrencylocal"
echo "other.test" >"$Q/control/me"
echo "# edited" >"$Q/alias/.qmail-root"
chmod 0777 "$Q/queue/mess/3" "$Q/queue"
chown root "$Q/queue/lock/trigger"
ok inst_reinstall
is "$(cat "$Q/control/concurrencylocal")" 7 "edited control file kept"
is "$(cat "$Q/control/me")" "other.test" "edited control/me kept"
is "$(cat "$Q/alias/.qmail-root")" "# edited" "edited .qmail-root kept"
tree
ok hashed
ok inst_reinstall
tree

# run scripts: an unedited one is replaced (quietly), an edited one kept
# with the new version beside it, and a warning
run=$Q/supervise/qmail-smtpd/run
orig=$(cat "$run")
ok test -f "$Q/supervise/qmail-smtpd/.run.installed"
ok inst_reinstall
is "$(cat "$run")" "$orig" "re-run: the unedited run script as before"
ok test ! -e "$run.new"
nok grep -q warning "$T/.install.$(basename "$Q")"
sed -i 's/^exec /# site: rblsmtpd added here\nexec /' "$run"
edited=$(cat "$run")
ok inst_reinstall
is "$(cat "$run")" "$edited" "re-run: an edited run script is kept"
is "$(cat "$run.new")" "$orig" "... with this version's beside it as run.new"
like "$(cat "$T/.install.$(basename "$Q")")" "warning: kept $run, which was edited; this version's is $run.new" \
  "... and a warning"
ok test -x "$run.new"
mv -f "$run.new" "$run"
ok inst_reinstall
is "$(cat "$run")" "$orig" "back to the installed version: replaced quietly again"
ok test ! -e "$run.new"
echo '# site edit' >>"$Q/tcpd/smtp.build"
ok inst_reinstall
ok grep -q '# site edit' "$Q/tcpd/smtp.build"

# the tcpserver run scripts look qmaild and nofiles up by name at every
# start, and refuse to start with root's ids or none (tcpserver's -u 0,
# or an empty -u, would leave the sessions as root).  A fake env stands
# in for the final exec, so nothing listens.
fk=$T/fakebin
mkdir -p "$fk"
printf '#!/bin/sh\necho started "$@"\n' >"$fk/env"
chmod 755 "$fk/env"
for r in qmail-smtpd qmail-qmtpd qmail-qmqpd; do
  f=$Q/supervise/$r/run
  nok grep -q -- '-u [0-9]' "$f"
  out=$(PATH=$fk:$PATH sh "$f")
  like "$out" "-u $(id -u qtqmaild) -g $(getent group qtnofiles | cut -d: -f3) " "$r: ids looked up at start"
done
printf '#!/bin/sh\necho 0\n' >"$fk/id"
printf '#!/bin/sh\nexit 2\n' >"$fk/getent"
chmod 755 "$fk/id" "$fk/getent"
out=$(PATH=$fk:$PATH sh "$Q/supervise/qmail-smtpd/run")
is "$?:$out" "111:unable to look up account qtqmaild and group qtnofiles, or they are root's" \
  "a run script does not start tcpserver as root"
rm "$fk/id"
out=$(PATH=$fk:$PATH sh "$Q/supervise/qmail-qmtpd/run")
is "$?:$out" "111:unable to look up account qtqmaild and group qtnofiles, or they are root's" \
  "... nor without its group"
rm -r "$fk"

# a second instance with POSTMASTER set forwards the alias addresses
export POSTMASTER=admin@example.test
ok inst_new second
unset POSTMASTER
is "$(cat "$Q/alias/.qmail-postmaster")" "&admin@example.test" "POSTMASTER forwards"
ok test ! -e "$Q/alias/Maildir"

# usage errors
nok "$(dirname "$0")/../../install/instance" relative/path
nok "$(dirname "$0")/../../install/instance" "/tmp/has space"

# the release build links qmail-smtpd static-pie (Makefile STATIC_PROGS);
# the tests run the sanitizer build, so check here that it starts at all
rel=$_T_REPO/build/rel/default/qmail-smtpd
if [ -x "$rel" ]; then
  like "$(printf 'QUIT\r\n' | "$rel" 2>&1 | head -n 1)" "^(220|421) " \
    "release qmail-smtpd starts and answers"
  is "$(readelf -lW "$rel" | grep -c 'INTERP')" 0 "release qmail-smtpd is linked statically"
  like "$(readelf -hW "$rel" | grep 'Type:')" "DYN" "... and is position-independent"
  like "$(readelf -dW "$rel" | grep 'FLAGS_1')" "NOW" "... with full RELRO"
else
  t_skip 4 "no release build (make progs)"
fi
t_done
