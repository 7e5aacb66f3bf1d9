# bench/lib.sh: helpers shared by the benchmarks (sourced after
# tests/e2e/lib.sh)

now() { date +%s.%N; }
calc() { awk "BEGIN{printf \"%.2f\", $1}"; }

waitn() { # CMD N [timeout s]: until CMD prints N or more
  local i=0 lim=$(( ${3:-600} * 20 ))
  until [ "$($1)" -ge "$2" ]; do
    sleep 0.05; i=$((i + 1))
    [ $i -lt $lim ] || { echo "timeout waiting for $1 >= $2" >&2; return 1; }
  done
}

# settle: before each timed run, what ../shared/bench/anchor-postfix.sh
# does before each of Postfix's (its "fresh"): sync, then wait (at most
# 5 minutes) until the machine is idle, below $QUIET percent busy (10).
# Both MTAs start from the same state.  The sync matters on ext4 without
# a journal, as here: every new inode in a block group whose inodes were
# freed in the last minutes costs a scan past each of them (the kernel
# keeps them for 6 minutes while the inode table is unwritten, 1 minute
# after).  Here, a run of 3000 messages started right after the previous
# run's Maildir files were deleted spent 4.7 ms of CPU per message, 3.6
# after a sync and 3 s, 3.2 with nothing deleted.
cpu_ticks() { awk '/^cpu /{ print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat; }
# busy_pct A B: the share of the CPUs busy between two cpu_ticks readings
busy_pct() { echo "$1 $2" | awk '{ d = ($3 + $4) - ($1 + $2); printf "%d", d ? 100 * ($3 - $1) / d : 0 }'; }
settle() {
  local i a b busy=100
  sync
  for ((i = 0; i < 300; i++)); do
    a=$(cpu_ticks); sleep 1; b=$(cpu_ticks)
    busy=$(busy_pct "$a" "$b")
    [ "$busy" -lt "${QUIET:-10}" ] && return 0
  done
  echo "# warning: machine still ${busy}% busy" >&2
}

# anchor_userdel BASE in|out: remove anchor-postfix.sh's accounts (pfb*)
# whose home is in (or out of) BASE/home.  Its setup keeps an account
# that exists already, with the home it was made with, so an account left
# by a run with another BASE would have Postfix deliver into a directory
# that is gone: "out" before a setup whose Postfix delivers locally; "in"
# after a run with a private BASE (bench/relay), whose accounts would
# otherwise be left pointing into its removed directory.
anchor_userdel() {
  local u
  for u in $(awk -F: -v h="$1/home/" -v w="$2" '$1 ~ /^pfb/ && (index($6, h) == 1) == (w == "in") { print $1 }' /etc/passwd); do
    userdel "$u" 2>/dev/null || true
  done
}
