#!/bin/bash
# qmail-queue (commit, Received line, envelope file, hostile envelopes,
# big and binary messages, bounded memory, fsync order), qmail-clean's
# protocol, qmail-qread and qmail-qstat.  Nothing is delivered: qmail-send
# is never started.
. "$(dirname "$0")/lib.sh"
t_init

ok inst_new q || t_done
user_new qq
U=qtqq
UID_U=$(id -u $U)
QQ=$Q/bin/qmail-queue
D=$T/data
F=$(dirname "$0")/fakes
mkdir -p "$D"
chmod 0755 "$D"
split=$(head -n 1 "$(dirname "$0")/../../conf-split")
ADDR_MAX=1002 # QUEUE_ENVADDR_MAX in src/lib/queue.h (qmail's limit)

# qq USER MSG ENV: runs qmail-queue as USER with MSG on fd 0 and ENV on
# fd 1; prints its exit code
qq() {
  as_user "$1" sh -c '"$1" <"$2" 1<"$3"; echo $? >&2' sh "$QQ" "$2" "$3" 2>&1
}
# env FILE RECORDS...: writes an envelope; each record gets its NUL, and
# the final empty record is added unless the last argument is -
mkenv() {
  local f=$1 r
  shift
  : >"$f"
  for r in "$@"; do
    [ "$r" = - ] && return 0
    printf '%s\0' "$r" >>"$f"
  done
  printf '\0' >>"$f"
}
files() { find "$Q/queue/mess" "$Q/queue/intd" "$Q/queue/todo" "$Q/queue/pid" -type f | sort; }
nfiles() { files | wc -l; }
wipe() { find "$Q/queue/mess" "$Q/queue/intd" "$Q/queue/todo" "$Q/queue/pid" -type f -delete; }
the_mess() { find "$Q/queue/mess" -type f | head -n 1; }
# length of the first line (the Received line) of the queued message
rlen() { head -n 1 "$(the_mess)" | wc -c; }

printf 'Subject: hi\n\nbody\n' >"$D/msg"

# ---- a normal message ----------------------------------------------------
mkenv "$D/env" Fa@b Tc@d Te@f
is "$(qq $U "$D/msg" "$D/env")" 0 "normal message: exit 0"
m=$(the_mess)
id=${m##*/}
is "$(files | wc -l)" 3 "mess, intd and todo exist"
is "$(stat -c %i "$m")" "$id" "message id is the inode of the mess file"
is "$m" "$Q/queue/mess/$((id % split))/$id" "mess file hashed by id mod split"
is "$(stat -c '%U %a %h' "$m")" "qtqmailq 644 1" "mess file owner, mode, links"
td=$Q/queue/todo/$((id % split))/$id
it=$Q/queue/intd/$((id % split))/$id
ok test -f "$td"
is "$(stat -c %i "$td")" "$(stat -c %i "$it")" "todo is a hard link of intd"
is "$(stat -c '%U %a' "$td")" "qtqmailq 644" "todo owner and mode"
rcvd=$(head -n 1 "$m")
like "$rcvd" "^Received: \(qmail [0-9]+ invoked by uid $UID_U\); (Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{1,2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} \+0000\$" "Received line"
ok cmp <(tail -n +2 "$m") "$D/msg"
qpid=$(printf '%s\n' "$rcvd" | sed -E 's/^Received: \(qmail ([0-9]+) .*/\1/')
printf 'u%s\0p%s\0Fa@b\0Tc@d\0Te@f\0' "$UID_U" "$qpid" >"$D/want"
# between this boot's id and the trailer (qsum.h): uid, pid, sender, recipients
ok python3 "$F/envcore.py" "$td" "$m"
ok cmp <(python3 "$F/envcore.py" "$td" "$m") "$D/want"

# ---- qmail-qstat and qmail-qread on a message not yet preprocessed -------
is "$("$Q/bin/qmail-qstat")" "messages in queue: 1
messages in queue but not yet preprocessed: 1" "qmail-qstat"
out=$("$Q/bin/qmail-qread")
like "$out" "^[0-9]{1,2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT  #$id  $(stat -c %s "$m")  <a@b>  not preprocessed
	todo	c@d
	todo	e@f\$" "qmail-qread: message in todo"
# a qmail group member cannot read info/: it sees todo/, with one warning
gout=$(setpriv --reuid=$U --regid=qtqmail --clear-groups "$Q/bin/qmail-qread" 2>"$D/err"; echo "rc=$?")
is "$gout" "$out
rc=111" "qmail-qread as a qmail group member: same listing, exit 111"
is "$(grep -c 'warning: showing only messages not yet preprocessed' "$D/err")" 1 "qmail-qread: one warning about info/"

# ---- as if qmail-send had preprocessed it (qmails writes these) ------------
n=$((id % split))
as_user qtqmails sh -c "
  cd '$Q/queue' &&
  printf 'Fa\001b@x\0' >info/$n/$id &&
  printf 'Tl1@x\0Dl2@x\0' >local/$n/$id &&
  printf 'Dr1@y\0Tr\n2@y\0' >remote/$n/$id &&
  echo failure >bounce/$id &&
  touch -d '2020-01-02 03:04:05 UTC' info/$n/$id"
rm -f "$td" "$it"
want="2 Jan 2020 03:04:05 GMT  #$id  $(stat -c %s "$m")  <a_b@x>  bouncing
	local	l1@x
  done	local	l2@x
  done	remote	r1@y
	remote	r_2@y"
is "$("$Q/bin/qmail-qread")" "$want" "qmail-qread: preprocessed, done, bouncing, unprintables"
is "$(as_user qtqmails "$Q/bin/qmail-qread")" "$want" "qmail-qread works for qmails"
is "$("$Q/bin/qmail-qstat")" "messages in queue: 1
messages in queue but not yet preprocessed: 0" "qmail-qstat after preprocessing"
rm -f "$Q/queue/info/$n/$id" "$Q/queue/local/$n/$id" "$Q/queue/remote/$n/$id" "$Q/queue/bounce/$id"
wipe

# ---- who is calling -------------------------------------------------------
for pair in "qtalias:by alias" "qtqmaild:from network" "qtqmails:for bounce"; do
  who=${pair%%:*}
  is "$(qq "$who" "$D/msg" "$D/env")" 0 "queued as $who"
  like "$(head -n 1 "$(the_mess)")" "^Received: \(qmail [0-9]+ invoked ${pair#*:}\); " "Received: invoked ${pair#*:}"
  wipe
done

# ---- hostile envelopes: right code, nothing left behind ----------------------
long=$(head -c $ADDR_MAX /dev/zero | tr '\0' x)
hostile() { # code name records...
  local code=$1 name=$2
  shift 2
  mkenv "$D/henv" "$@"
  is "$(qq $U "$D/msg" "$D/henv")" "$code" "$name: exit $code"
  is "$(nfiles)" 0 "$name: nothing left in the queue"
  wipe
}
hostile 11 "recipient of ADDR_MAX+1 bytes" Fa@b "T${long}y"
hostile 11 "sender of ADDR_MAX+1 bytes" "F${long}y" Tc@d
hostile 11 "overlong recipient after good ones" Fa@b Tc@d Te@f "T${long}${long}"
hostile 54 "no final NUL" Fa@b Tc@d -
hostile 54 "no records at all" -
hostile 91 "unknown letter" Fa@b Xc@d
hostile 91 "lowercase letter" Fa@b tc@d
hostile 91 "second F" Fa@b Tc@d Fe@f
hostile 91 "no F" Tc@d
hostile 91 "only the final NUL"
hostile 91 "overlong record with a bad letter" "X${long}y"
printf 'Fa@b\0Tc@d' >"$D/henv"
is "$(qq $U "$D/msg" "$D/henv")" 54 "record cut in the middle: exit 54"
is "$(nfiles)" 0 "record cut in the middle: nothing left"
printf 'Fa@b\0Tc@d\0\0Tjunk after the end' >"$D/henv"
is "$(qq $U "$D/msg" "$D/henv")" 0 "bytes after the final NUL are ignored"
wipe

mkenv "$D/env" "F${long}" "T${long}"
is "$(qq $U "$D/msg" "$D/env")" 0 "addresses of exactly ADDR_MAX bytes: exit 0"
qpid=$(head -n 1 "$(the_mess)" | sed -E 's/^Received: \(qmail ([0-9]+) .*/\1/')
ok cmp <(python3 "$F/envcore.py" "$(find "$Q/queue/todo" -type f)" "$(the_mess)") <(printf 'u%s\0p%s\0F%s\0T%s\0' "$UID_U" "$qpid" "$long" "$long")
wipe
mkenv "$D/env" F
is "$(qq $U "$D/msg" "$D/env")" 0 "empty sender, no recipients: exit 0"
wipe

# ---- messages ---------------------------------------------------------------
mkenv "$D/env" Fa@b Tc@d
: >"$D/empty"
is "$(qq $U "$D/empty" "$D/env")" 0 "empty message: exit 0"
is "$(wc -l <"$(the_mess)") $(wc -c <"$(the_mess)")" "1 $(rlen)" "empty message: just the Received line"
wipe

head -c 300007 /dev/urandom >"$D/bin"
printf '\0\0\0' >>"$D/bin"
is "$(qq $U "$D/bin" "$D/env")" 0 "binary message with NULs: exit 0"
ok cmp <(tail -c +$(($(rlen) + 1)) "$(the_mess)") "$D/bin"
wipe

head -c 20000000 /dev/urandom >"$D/big"
is "$(qq $U "$D/big" "$D/env")" 0 "20 MB message: exit 0"
ok cmp <(tail -c +$(($(rlen) + 1)) "$(the_mess)") "$D/big"
wipe
rm -f "$D/big"

# ---- hostile callers -----------------------------------------------------------
mkenv "$D/env" Fa@b Tc@d
is "$(as_user $U sh -c 'umask 777; "$1" <"$2" 1<"$3" 2>&-; echo $? >&2' sh "$QQ" "$D/msg" "$D/env" 2>&1)" 0 "umask 777 and closed stderr: exit 0"
is "$(stat -c %a "$(the_mess)") $(stat -c %a "$(find "$Q/queue/todo" -type f)")" "644 644" "umask 777: files still 0644"
wipe
is "$(as_user $U sh -c '"$1" 0<&- 1<"$2"; echo $? >&2' sh "$QQ" "$D/env" 2>&1)" 54 "closed fd 0: exit 54"
is "$(as_user $U sh -c '"$1" <"$2" 1>&-; echo $? >&2' sh "$QQ" "$D/msg" 2>&1)" 54 "closed fd 1: exit 54"
is "$(nfiles)" 0 "closed fds: nothing left"
is "$(as_user $U env -i QMAILHOME=/nonexistent LD_LIBRARY_PATH=/nonexistent TZ=/etc/passwd IFS=/ sh -c 'trap "" ALRM PIPE; "$1" <"$2" 1<"$3"; echo $? >&2' sh "$QQ" "$D/msg" "$D/env" 2>&1)" 0 "hostile environment and ignored signals: exit 0"
like "$(head -n 1 "$(the_mess)")" "\+0000\$" "hostile environment: date still UTC"
wipe
# a message arriving through a pipe that stays non-blocking
is "$(as_user $U python3 -c '
import os, subprocess, sys
r, w = os.pipe()
os.set_blocking(r, False)
p = subprocess.Popen([sys.argv[1]], stdin=r, stdout=open(sys.argv[2], "rb"))
os.close(r)
import time
for i in range(5):
    time.sleep(0.05)
    os.write(w, b"line %d\n" % i)
os.close(w)
print(p.wait())' "$QQ" "$D/env")" 0 "non-blocking stdin: exit 0"
is "$(tail -n +2 "$(the_mess)" | wc -l)" 5 "non-blocking stdin: whole message"
wipe

# ---- many recipients in bounded memory -------------------------------------------
# maxrss of one qmail-queue run, in KiB
rss() {
  as_user $U python3 -c '
import resource, subprocess, sys
rc = subprocess.call([sys.argv[1]], stdin=open(sys.argv[2], "rb"), stdout=open(sys.argv[3], "rb"))
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$QQ" "$D/msg" "$1"
}
mkrcpts() { # count file [pad]
  local pad
  pad=$(head -c "${3:-100}" /dev/zero | tr '\0' p)
  { printf 'Fsender@x\0'; seq "$1" | sed "s/.*/Tr&.$pad@example.com/" | tr '\n' '\0'; printf '\0'; } >"$2"
}
mkrcpts 100 "$D/env100"
mkrcpts 100000 "$D/env100k"
set -- $(rss "$D/env100")
rc_small=$1 rss_small=$2
wipe
set -- $(rss "$D/env100k")
rc_big=$1 rss_big=$2
is "$rc_small $rc_big" "0 0" "100 and 100000 recipients (12 MB of envelope): exit 0"
# b, u, p, F, 100000 T, c
is "$(tr -cd '\0' <"$(find "$Q/queue/todo" -type f)" | wc -c)" 100005 "100000 recipients all in the todo file"
t_diag "max RSS: 100 recipients ${rss_small} KiB, 100000 recipients ${rss_big} KiB"
ok test $((rss_big - rss_small)) -lt 8192
wipe
rm -f "$D/env100k"
# a bigger envelope than qmail-send will hold in memory is refused for
# good (31), never queued to sit there undeliverable
mkrcpts 45000 "$D/envbig" 400
is "$(qq $U "$D/msg" "$D/envbig")" 31 "an envelope over 16 MiB (45000 recipients of 420 bytes): exit 31"
is "$(nfiles)" 0 "... and nothing left in the queue"
wipe
rm -f "$D/envbig"

# ---- fsync order (strace) ----------------------------------------------------------
# the calls on queue names of one run (as "link X;" and "fsync X;"), in
# order, with fsync(fd) turned into the name; a call that another thread
# interrupted ("<unfinished ...>", then "<... fsync resumed>") is put
# together where it ended.  $1 = noboot: with /dev/null as the boot id
syncseq() {
  local run=(strace -u $U -f -qq -e trace=openat,link,linkat,fsync,fdatasync -o "$D/strace"
    sh -c '"$1" <"$2" 1<"$3"' sh "$QQ" "$D/msg" "$D/env")
  if [ "${1:-}" = noboot ]; then
    unshare -m --propagation private sh -c \
      'mount --bind /dev/null /proc/sys/kernel/random/boot_id && exec "$@"' sh "${run[@]}"
  else
    "${run[@]}"
  fi
  awk '
    / <unfinished \.\.\.>$/ { l = $0; sub(/ <unfinished \.\.\.>$/, "", l); pend[$1] = l; next }
    /^[0-9]+ +<\.\.\. [a-z0-9_]+ resumed>/ { l = $0; sub(/^[0-9]+ +<\.\.\. [a-z0-9_]+ resumed>/, "", l); print pend[$1] l; next }
    { print }
  ' "$D/strace" | awk '
    /openat\(/ && / = [0-9]+$/ { split($0, a, "\""); fd = $NF; name[fd] = a[2]; next }
    /link(at)?\(/ { split($0, a, "\""); n = 0; for (i = 2; i in a; i += 2) last = a[i]; printf "link %s;", last; next }
    /fsync\(|fdatasync\(/ { match($0, /sync\([0-9]+/); fd = substr($0, RSTART + 5, RLENGTH - 5); printf "fsync %s;", name[fd] }
  ' | sed -E 's|pid/[0-9]+\.[0-9]+\.[1-9];|pid/P;|g'
}
# the ;-separated items of $1, sorted
sorted() { printf '%s' "$1" | tr ';' '\n' | sort | tr '\n' ';'; }
if command -v strace >/dev/null; then
  mkenv "$D/env" Fa@b Tc@d
  seq=$(syncseq)
  m=$(the_mess)
  id=${m##*/}
  n=$((id % split))
  # with a boot id: the todo link comes first, then four syncs at once
  # (message and mess/N may have started before it; envelope and todo/N
  # after), and only then the answer
  pre=${seq%%link todo/*}
  is "${pre%%;*};|$(sorted "${seq#"link mess/$n/$id;"}")" \
    "link mess/$n/$id;|fsync intd/$n/$id;fsync mess/$n;fsync pid/P;fsync todo/$n;link todo/$n/$id;" \
    "one round of syncs: message, envelope, mess dir, todo dir"
  case $pre in
    *intd/*|*todo/*) ok false "the syncs of envelope and todo dir come after the link: $seq" ;;
    *) ok true "the syncs of envelope and todo dir come after the link" ;;
  esac
  ok python3 "$F/envcore.py" "$Q/queue/todo/$n/$id" "$m"
  wipe
  # without one (no /proc to read it from): the old order, and no 'b' or 'c'
  if unshare -m --propagation private true 2>/dev/null; then
    seq=$(syncseq noboot)
    m=$(the_mess)
    id=${m##*/}
    n=$((id % split))
    pre=${seq%%link todo/*}
    post=${seq#"$pre"}
    is "${pre%%;*};|$(sorted "${pre#"link mess/$n/$id;"}")|$post" \
      "link mess/$n/$id;|fsync intd/$n/$id;fsync mess/$n;fsync pid/P;|link todo/$n/$id;fsync todo/$n;" \
      "no boot id: message, envelope and mess dir (at once), then link to todo, then todo dir"
    qpid=$(head -n 1 "$m" | sed -E 's/^Received: \(qmail ([0-9]+) .*/\1/')
    ok cmp "$Q/queue/todo/$n/$id" <(printf 'u%s\0p%s\0Fa@b\0Tc@d\0' "$UID_U" "$qpid")
    wipe
  else
    t_skip 2 "no mount namespaces here (unshare -m)"
  fi
else
  t_skip 5 "strace not installed (install/deps should add it)"
fi

# ---- qmail-clean ----------------------------------------------------------------------
mkenv "$D/env" Fa@b Tc@d
qq $U "$D/msg" "$D/env" >/dev/null
qq $U "$D/msg" "$D/env" >/dev/null
set -- $(find "$Q/queue/mess" -type f -printf '%f\n' | sort -n)
id1=$1 id2=$2
as_user qtqmailq sh -c "cd '$Q/queue/pid' && : >old.1 && : >new.1 && touch -d '3 days ago' old.1"
longreq=$(head -c 200 /dev/zero | tr '\0' 9)
printf "todo/$id1\0foop/../$id1\0todo/\0bogus\0foop/99999999999999999999999\0todo/$longreq\0foop/12a\0foop/-1\0foop/$id2\0todo/$id1\0foop/$id1\0" >"$D/req"
ans=$(as_user qtqmailq sh -c '"$1" <"$2"; echo " $?"' sh "$Q/bin/qmail-clean" "$D/req")
is "$ans" "+xxxxxxx+++ 0" "qmail-clean answers, exit 0 at EOF"
is "$(files)" "$Q/queue/pid/new.1" "qmail-clean removed the messages and the old pid file"
printf 'foop/1\0todo/1' >"$D/req"
is "$(as_user qtqmailq sh -c '"$1" <"$2"; echo " $?"' sh "$Q/bin/qmail-clean" "$D/req")" "+ 0" "qmail-clean: partial request at EOF dropped"
# a failing removal: a directory where the message file would be
mkdir "$Q/queue/mess/$((12345 % split))/12345"
chown qtqmailq "$Q/queue/mess/$((12345 % split))/12345"
printf 'foop/12345\0' >"$D/req"
is "$(as_user qtqmailq sh -c '"$1" <"$2" 2>/dev/null' sh "$Q/bin/qmail-clean" "$D/req")" "!" "qmail-clean: failed removal answers !"
rmdir "$Q/queue/mess/$((12345 % split))/12345"
wipe

t_done
