#!/bin/bash
# qmail-upq: after a rebuild with another conf-split, moves every file of
# the hashed queue directories into the subdirectory its id now belongs to
# (id mod split), creates missing subdirectories with their parent's owner
# and mode, and removes the empty ones beyond the new split (qmail-upq(8)).
# Entries directly in a hashed directory (qmail-1.03's flat todo/ and
# intd/) are put in their subdirectories the same way.
#
# Safety: it holds lock/sendmutex throughout, so it refuses to run while
# qmail-send runs and qmail-send cannot start under it; lock/upq exists
# until a run has put every file in place, and qmail-send will not start
# while it does; each file moves by
# one rename(2) within the queue's file system that never replaces an
# existing name (mv -n: renameat2 RENAME_NOREPLACE), so an interruption
# leaves every file in exactly one place, old or new, and a second run
# finishes the job.  Exit 0 done, 100 usage, 111 trouble (see the messages;
# nothing was lost).
set -u
umask 077
PATH=/usr/bin:/bin:/usr/sbin:/sbin
export PATH LC_ALL=C

home=@QMAILHOME@
split=@SPLIT@
me=qmail-upq
# the directories named queue/DIR/N/id, N = id mod split (INTERNALS.md)
hashed="mess intd todo info local remote"

die() { echo "$me: fatal: $1" >&2; exit "${2:-111}"; }
warn() { echo "$me: warning: $1" >&2; status=111; }

[ $# -eq 0 ] || die "usage: qmail-upq" 100
[ "$(id -u)" = 0 ] || die "must run as root" 100
[[ $split =~ ^[0-9]+$ ]] && [ "$split" -ge 1 ] || die "bad split compiled in: $split"
cd "$home/queue" || die "unable to switch to $home/queue"
[ -f lock/sendmutex ] || die "no $home/queue/lock/sendmutex: not a queue"

# qmail-send holds an exclusive flock on lock/sendmutex while it runs;
# taking it ourselves both checks and keeps it from starting meanwhile
exec 9>>lock/sendmutex || die "unable to open lock/sendmutex"
flock -n 9 || die "qmail-send is running: stop it first (svc -d), then run qmail-upq"

# lock/upq marks a queue that may be half rehashed: qmail-send refuses to
# start while it exists (it would take a message whose files are split
# between old and new subdirectories for a stale one and remove it), so an
# interrupted run is noticed and simply run again
if [ ! -e lock/upq ]; then
  : >lock/upq && sync lock/upq lock || die "unable to create lock/upq"
fi

tmp=$(mktemp -d) || die "unable to create a temporary directory"
trap 'rm -rf "$tmp"' EXIT
status=0
qdev=$(stat -c %d .) || die "unable to stat $home/queue"

# a queue file name: a decimal id we can compute with (64-bit arithmetic)
is_id() { [[ $1 =~ ^[0-9]{1,18}$ ]]; }

for d in $hashed; do
  [ -d "$d" ] || die "no $home/queue/$d"
  own=$(stat -c %u:%g "$d") && mode=$(stat -c %a "$d") || die "unable to stat $d"
  # the subdirectories the new split needs, like their parent (install/instance
  # gives each hashed directory and its subdirectories the same owner and mode)
  for ((i = 0; i < split; i++)); do
    if [ ! -d "$d/$i" ]; then
      mkdir "$d/$i.new.$$" && chown "$own" "$d/$i.new.$$" && chmod "$mode" "$d/$i.new.$$" &&
        mv -T "$d/$i.new.$$" "$d/$i" || die "unable to create $d/$i"
    fi
  done
  # mv falls back to copying across file systems: refuse that outright
  for sd in "$d" "$d"/*; do
    [ -d "$sd" ] || continue
    [ "$(stat -c %d "$sd")" = "$qdev" ] || die "$sd is on another file system than $home/queue"
  done
  # a queue of qmail-1.03's layout keeps todo/ and intd/ flat: each such
  # entry goes into its subdirectory like any misplaced file
  for f in "$d"/*; do
    id=${f##*/}
    [ -e "$f" ] && [ ! -d "$f" ] && is_id "$id" || continue
    t=$((10#$id % split))
    if [ -e "$d/$t/$id" ]; then
      if [ "$f" -ef "$d/$t/$id" ]; then rm -f "$f"; else warn "$f stays: $d/$t/$id exists and is another file"; fi
    else
      mv -n -T -- "$f" "$d/$t/$id" || warn "could not move $f"
      [ -e "$f" ] && warn "$f stays: could not move it to $d/$t"
    fi
  done
  for sd in "$d"/*; do
    s=${sd##*/}
    [ -d "$sd" ] && [[ $s =~ ^[0-9]+$ ]] || continue
    rm -f "$tmp"/t.*
    (
      cd "$sd" || exit 111
      for f in *; do
        [ -e "$f" ] || continue
        if ! is_id "$f"; then
          echo "$me: warning: left alone, not a queue file: $sd/$f" >&2
          continue
        fi
        t=$((10#$f % split))
        [ "$t" = "$s" ] || printf '%s\n' "$f" >>"$tmp/t.$t"
      done
      for l in "$tmp"/t.*; do
        [ -e "$l" ] || continue
        t=${l##*/t.}
        # -n: never replace a file already there (a clash is reported below)
        xargs -r -a "$l" mv -n -t "../$t" -- || exit 111
      done
    ) || warn "could not move all files out of $sd"
    # whatever is still misplaced: a second link of the file already in
    # place (from a hard-link copy) goes; a different file is reported
    for f in "$sd"/*; do
      [ -e "$f" ] || continue
      id=${f##*/}
      is_id "$id" || continue
      t=$((10#$id % split))
      [ "$t" = "$s" ] && continue
      if [ "$f" -ef "$d/$t/$id" ]; then
        rm -f "$f"
      else
        warn "$f stays: $d/$t/$id exists and is another file"
      fi
    done
  done
  # the subdirectories beyond the new split, now empty
  for sd in "$d"/*; do
    s=${sd##*/}
    [[ $s =~ ^[0-9]+$ ]] && [ -d "$sd" ] || continue
    if [ "$s" -ge "$split" ]; then
      # still holding something: a clash reported above, or files that
      # are no queue files (qmail-send ignores those)
      rmdir "$sd" 2>/dev/null || echo "$me: $sd is not empty: left in place" >&2
    fi
  done
done

# the renames must be on disk before qmail-send may start again
sync || warn "sync failed"
if [ "$status" = 0 ]; then
  rm -f lock/upq && sync lock || die "unable to remove lock/upq"
else
  echo "$me: lock/upq kept: qmail-send will not start until a run succeeds" >&2
fi
n=0
for d in $hashed; do
  for ((i = 0; i < split; i++)); do
    for f in "$d/$i"/*; do [ -e "$f" ] && n=$((n + 1)); done
  done
done
echo "$me: $n queue files in place for split $split"
exit $status
