#!/bin/sh
# mkqueue.sh HOME [SPLIT]: a bare queue and control dir for fake runs
h=$1; split=${2:-23}
mkdir -p "$h/control" "$h/bin" "$h/queue/pid" "$h/queue/bounce" "$h/queue/lock"
for d in mess intd todo info local remote; do
  i=0
  while [ $i -lt $split ]; do mkdir -p "$h/queue/$d/$i"; i=$((i + 1)); done
done
: > "$h/queue/lock/sendmutex"
[ -p "$h/queue/lock/trigger" ] || mkfifo -m 0622 "$h/queue/lock/trigger"
