# tests/e2e/lib.sh: helpers for the end-to-end tests (TAP), run as root.
#
#   . "$(dirname "$0")/lib.sh"; t_init
#   inst_new a; user_new alice; inst_start
#   ok some command; is "$got" "$want" name; like "$got" 'regex' name
#   t_done
#
# Every instance lives under the per-script temp dir $T (removed at exit
# unless KEEP=1) and runs under the qt-prefixed accounts of $T/conf-users.
# Test users are qt<name>.  tests/run removes all of them after a run.
#
# Functions: t_init ok nok is like t_diag t_driver t_skip t_done inst_new user_new
# home_of inst_start inst_stop inst_log as_user wait_for maildir_count;
# extras: inst_reinstall (re-run install/instance on $Q).
# Names starting with _t_ are private.

# the helpers use bash features; re-run a script started by another shell
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

_T_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
_T_PREFIX=${TMPDIR:-/tmp}/qmail-test.
_T_LOCK=/run/lock/qmail-accounts.lock
[ -d /run/lock ] || _T_LOCK=/tmp/qmail-accounts.lock
case ${BUILD:-} in
  '') _T_BUILD=$_T_REPO/build ;;
  /*) _T_BUILD=$BUILD ;;
  *) _T_BUILD=$_T_REPO/$BUILD ;;
esac
_t_n=0
_t_fail=0
_t_started=()
Q=
T=

# ---- TAP -----------------------------------------------------------------

t_init() {
  T=$(mktemp -d "${_T_PREFIX}XXXXXX") || { echo "Bail out! cannot make temp dir"; exit 1; }
  # instance accounts must reach their directories below $T
  chmod 0755 "$T"
  echo $$ >"$T/.owner"
  [ "${KEEP:-}" = 1 ] && : >"$T/.keep"
  cat >"$T/conf-users" <<'EOF'
group.qmail    qtqmail
group.nofiles  qtnofiles
alias    qtalias
qmaild   qtqmaild
qmaill   qtqmaill
qmailp   qtqmailp
qmailq   qtqmailq
qmailr   qtqmailr
qmails   qtqmails
EOF
  trap _t_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  export PATH="$PATH:/usr/sbin:/sbin"
}

_t_result() { # status name
  local name=${2//#/\\#}
  _t_n=$((_t_n + 1))
  if [ "$1" = 0 ]; then
    echo "ok $_t_n - $name"
  else
    _t_fail=$((_t_fail + 1))
    echo "not ok $_t_n - $name"
  fi
}

# ok CMD...: passes if CMD exits 0; its output is shown only on failure
ok() {
  local rc=0
  "$@" >"$T/.out" 2>&1 || rc=$?
  _t_result "$rc" "$*"
  if [ "$rc" != 0 ]; then
    t_diag "exit $rc; output:"
    sed 's/^/#   /' "$T/.out" | head -n 50 >&2
  fi
  return "$rc"
}

# nok CMD...: passes if CMD fails
nok() {
  local rc=0
  "$@" >"$T/.out" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    _t_result 0 "fails: $*"
    return 0
  fi
  _t_result 1 "fails: $*"
  t_diag "succeeded unexpectedly; output:"
  sed 's/^/#   /' "$T/.out" | head -n 50 >&2
  return 1
}

is() {
  if [ "$1" = "$2" ]; then
    _t_result 0 "$3"
    return 0
  fi
  _t_result 1 "$3"
  t_diag "got:      '$1'"
  t_diag "expected: '$2'"
  return 1
}

# like GOT REGEX NAME: bash extended regex match anywhere in GOT
like() {
  if [[ $1 =~ $2 ]]; then
    _t_result 0 "$3"
    return 0
  fi
  _t_result 1 "$3"
  t_diag "got:      '$1'"
  t_diag "expected to match: $2"
  return 1
}

# diagnostics go to stderr so prove shows them without -v
t_diag() { printf '# %s\n' "$*" | sed '2,$s/^/# /' >&2; }

# t_driver SCRIPT ARGS...: runs a test driver (python3 SCRIPT ARGS) that
# prints "PASS name" / "FAIL name :: detail" lines; each becomes a TAP
# result, and the driver must finish with exit 0
t_driver() {
  local rc l
  python3 "$@" >"$T/driver.out" 2>"$T/driver.err"
  rc=$?
  while IFS= read -r l; do
    case $l in
      PASS\ *) _t_result 0 "${l#PASS }" ;;
      FAIL\ *) _t_result 1 "${l#FAIL }" ;;
    esac
  done <"$T/driver.out"
  is "$rc" 0 "$(basename "$1") finished"
  [ "$rc" = 0 ] || sed 's/^/# /' "$T/driver.err" | tail -n 20 >&2
}

t_skip() {
  local i
  for ((i = 0; i < $1; i++)); do
    _t_n=$((_t_n + 1))
    echo "ok $_t_n # skip $2"
  done
}

t_done() {
  echo "1..$_t_n"
  if [ "$_t_fail" != 0 ]; then
    t_diag "failed $_t_fail of $_t_n"
    exit 1
  fi
  exit 0
}

# ---- waiting -------------------------------------------------------------

_t_usec() { # seconds (may be fractional) -> microseconds
  awk -v s="$1" 'BEGIN { printf "%d\n", s * 1000000 }'
}
_t_now() { local t=${EPOCHREALTIME/[.,]/}; echo "$t"; }

# wait_for SECONDS CMD...: retries CMD (output discarded) every 0.05 s
wait_for() {
  local end
  end=$(($(_t_now) + $(_t_usec "$1")))
  shift
  while :; do
    "$@" >/dev/null 2>&1 && return 0
    [ "$(_t_now)" -ge "$end" ] && return 1
    sleep 0.05
  done
}

maildir_count() {
  find "$1/new" "$1/cur" -mindepth 1 -maxdepth 1 -type f 2>/dev/null | wc -l
}

# ---- accounts ------------------------------------------------------------

home_of() { getent passwd "$1" | cut -d: -f6; }

# user_new NAME: local user qtNAME, home $T/home/qtNAME with ~/Maildir
user_new() {
  local u=qt$1 h=$T/home/qt$1 gid g
  mkdir -p "$T/home"
  chmod 0755 "$T/home"
  {
    flock 9
    if ! getent passwd "$u" >/dev/null; then
      if getent group "$u" >/dev/null; then g=(-g "$u"); else g=(-U); fi
      useradd "${g[@]}" -M -d "$h" -s /bin/sh -c "qmail test user" "$u" || return 1
    elif [ "$(home_of "$u")" != "$h" ]; then
      # left over from an earlier script of this run: move it here
      usermod -d "$h" "$u" || return 1
    fi
  } 9>>"$_T_LOCK"
  gid=$(id -g "$u")
  mkdir -p "$h/Maildir/cur" "$h/Maildir/new" "$h/Maildir/tmp"
  chown -R "$u:$gid" "$h"
  chmod 0755 "$h"
  chmod 0700 "$h/Maildir" "$h/Maildir/cur" "$h/Maildir/new" "$h/Maildir/tmp"
}

# as_user USER CMD...: run CMD with USER's uid, gid and groups, HOME set
as_user() {
  local u=$1 h
  shift
  h=$(home_of "$u")
  [ -n "$h" ] || { echo "as_user: no such user $u" >&2; return 111; }
  setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups \
    env HOME="$h" USER="$u" LOGNAME="$u" "$@"
}

# session_private PROG IP PORT UID GID [PREFIX]: a client connects to
# PORT and sends PREFIX (none by default); the session, program PROG of
# UID, makes itself private (proc_private(): not dumpable, so its /proc
# files belong to root) and a process of UID:GID, a session somebody
# subverted, cannot read its environment
session_private() {
  local prog=$1 ip=$2 port=$3 uid=$4 gid=$5 holder pid= i rc=1
  python3 -c 'import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
s.sendall(sys.argv[3].encode())
time.sleep(30)' "$ip" "$port" "${6:-}" &
  holder=$!
  for ((i = 0; i < 200; i++)); do
    pid=$(pgrep -n -u "$uid" -x "$prog") &&
      [ "$(stat -c %u "/proc/$pid/environ" 2>/dev/null)" = 0 ] && rc=0 && break
    sleep 0.05
  done
  [ $rc = 0 ] && setpriv --reuid="$uid" --regid="$gid" --clear-groups cat "/proc/$pid/environ" >/dev/null 2>&1 &&
    rc=1
  kill $holder 2>/dev/null
  return $rc
}

# ---- instances -----------------------------------------------------------

# re-runs install/instance on $Q (as inst_new did, without changing me etc.)
inst_reinstall() {
  local q=${1:-$Q} out
  out=$T/.install.$(basename "$q")
  if ! env SAN="${INST_SAN:-1}" CONF_USERS="$T/conf-users" BUILD="$_T_BUILD" \
    O="$T/.build/$(basename "$q")" "$_T_REPO/install/instance" "$q" >"$out" 2>&1; then
    sed 's/^/inst: /' "$out" >&2
    return 1
  fi
}

inst_new() {
  local q=$T/$1
  inst_reinstall "$q" || return 1
  printf '%s\n' "$1.test" >"$q/control/me"
  printf '%s\n' "$1.test" localhost >"$q/control/locals"
  printf '%s\n' "$1.test" localhost >"$q/control/rcpthosts"
  # the accounts are shared by all instances; qmail-getpw gives the alias
  # account this instance's $Q/alias whatever its passwd home says
  Q=$q
}

_t_shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

_t_logcount() {
  local f=$1/log/qmail-send/current
  if [ -f "$f" ]; then wc -l <"$f"; else echo 0; fi
}
_t_started_since() { # instance, lines before
  local f=$1/log/qmail-send/current
  [ -f "$f" ] && tail -n +"$(($2 + 1))" "$f" | grep -q 'status: local'
}
_t_svc_down() { svstat "$1" 2>/dev/null | grep -q ': down'; }
_t_svc_up() { svstat "$1" 2>/dev/null | grep -q ': up'; }

# pids of processes whose cwd or executable is below $1 (never ourselves)
_t_pids_under() {
  local p c e self=" $$ $BASHPID $PPID "
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    case $self in *" $p "*) continue ;; esac
    c=$(readlink "/proc/$p/cwd" 2>/dev/null) || continue
    e=$(readlink "/proc/$p/exe" 2>/dev/null)
    case "$c/" in "$1"/*) echo "$p"; continue ;; esac
    case "$e" in "$1"/*) echo "$p" ;; esac
  done
}

_t_env_line() {
  local v out=
  for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
    [ -n "${!v:-}" ] && out="$out $v=$(_t_shq "${!v}")"
  done
  printf '%s' "$out"
}

# inst_start [DEFAULTDELIVERY]: run $Q's qmail-send under a private svscan
inst_start() {
  local q=$Q dd=${1:-./Maildir/} name sv scan before
  name=$(basename "$q")
  sv=$q/supervise/qmail-send
  scan=$T/svc/$name
  if [ ! -x "$q/bin/qmail-start" ] || [ ! -x "$q/bin/qmail-send" ]; then
    echo "inst_start: $q/bin has no qmail-start/qmail-send" >&2
    return 1
  fi
  # as install/instance writes it, minus softlimit: the sanitizer runtime
  # needs terabytes of address space
  cat >"$sv/run.new" <<EOF
#!/bin/sh
exec 2>&1
exec env - PATH="$q/bin:/usr/bin:/bin"$(_t_env_line) \\
  $q/bin/qmail-start $(_t_shq "$dd")
EOF
  chmod 0755 "$sv/run.new"
  mv -f "$sv/run.new" "$sv/run"
  before=$(_t_logcount "$q")
  _t_svc_up "$sv" && return 0
  if [ -f "$T/.svscan.$name" ] && kill -0 "$(cat "$T/.svscan.$name")" 2>/dev/null; then
    svc -u "$sv"
  else
    mkdir -p "$scan"
    ln -sfn "$sv" "$scan/qmail-send"
    (cd / && exec setsid svscan "$scan" </dev/null >>"$T/svscan.$name.log" 2>&1) &
    echo $! >"$T/.svscan.$name"
    _t_started+=("$q")
  fi
  if ! wait_for 60 _t_started_since "$q" "$before"; then
    echo "inst_start: no 'status:' line in $q/log/qmail-send/current within 60s" >&2
    inst_log | tail -n 20 | sed 's/^/log: /' >&2
    tail -n 20 "$T/svscan.$name.log" 2>/dev/null | sed 's/^/svscan: /' >&2
    return 1
  fi
}

# inst_stop: svc -d and wait until qmail-send and its helpers are gone
inst_stop() {
  local sv=$Q/supervise/qmail-send
  svc -d "$sv" || return 1
  wait_for 60 _t_svc_down "$sv" || { echo "inst_stop: $sv still up" >&2; return 1; }
  wait_for 30 _t_no_helpers "$Q"
}
_t_no_helpers() { [ -z "$(_t_pids_under "$1/bin")" ]; }

# inst_log: the qmail-send log so far, without timestamps
inst_log() {
  local d=$Q/log/qmail-send f
  for f in "$d"/@*.[su] "$d/current"; do
    [ -f "$f" ] && cat "$f"
  done | sed -E 's/^@[0-9a-f]{24} //'
}

_t_cleanup() {
  local rc=$? q name pid i
  for q in "${_t_started[@]}"; do
    name=$(basename "$q")
    pid=$(cat "$T/.svscan.$name" 2>/dev/null)
    # svscan first, so it does not restart what we stop
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    svc -dx "$q/supervise/qmail-send" 2>/dev/null
  done
  for q in "${_t_started[@]}"; do
    wait_for 20 _t_svc_gone "$q/supervise/qmail-send"
    svc -dx "$q/supervise/qmail-send/log" 2>/dev/null
  done
  if [ -n "$T" ] && [ -d "$T" ]; then
    for ((i = 0; i < 100; i++)); do
      [ -z "$(_t_pids_under "$T")" ] && break
      sleep 0.1
    done
    for pid in $(_t_pids_under "$T"); do kill -KILL "$pid" 2>/dev/null; done
    if [ "${KEEP:-}" = 1 ]; then
      echo "# KEEP=1: kept $T" >&2
    else
      rm -rf "$T"
    fi
  fi
  exit "$rc"
}
# supervise for the service no longer runs (svok fails)
_t_svc_gone() { ! svok "$1" 2>/dev/null; }

# in_syslog_ns OUT CMD...: runs CMD in a private mount namespace whose
# /dev (a tmpfs) holds null, zero, urandom and a /dev/log datagram socket;
# every message it receives is appended to OUT as one line (LF as \n).
# The machine's own /dev/log is never touched.
in_syslog_ns() {
  local out=$1
  shift
  unshare -m --propagation private bash -c '
    out=$1; shift
    mount -t tmpfs -o mode=0755 tmpfs /dev || exit 1
    mknod -m 0666 /dev/null c 1 3 && mknod -m 0666 /dev/zero c 1 5 && mknod -m 0666 /dev/urandom c 1 9 || exit 1
    python3 - "$out" <<"PY" &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
os.chmod("/dev/log", 0o666)
open(sys.argv[1] + ".ready", "w").close()
s.settimeout(2)
with open(sys.argv[1], "ab") as f:
    try:
        while True:
            f.write(s.recv(65536).replace(b"\n", b"\\n") + b"\n")
            f.flush()
    except socket.timeout:
        pass
PY
    rcv=$!
    for i in $(seq 100); do [ -e "$out.ready" ] && break; sleep 0.05; done
    "$@"
    wait "$rcv"
  ' in_syslog_ns "$out" "$@"
}
