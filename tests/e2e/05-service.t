#!/bin/bash
# qmail-send under daemontools: svscan starts it, svc -d/-u stop and
# restart it, its log goes through multilog
. "$(dirname "$0")/lib.sh"
t_init

ok inst_new svc || t_done
sv=$Q/supervise/qmail-send
if [ ! -x "$Q/bin/qmail-start" ] || [ ! -x "$Q/bin/qmail-send" ]; then
  t_skip 14 "qmail-start/qmail-send not built yet"
  t_done
fi

ok inst_start
like "$(svstat "$sv")" ": up \(pid [0-9]+\)" "svstat: qmail-send up"
like "$(svstat "$sv/log")" ": up \(pid [0-9]+\)" "svstat: log up"
like "$(inst_log)" "status: local 0/$(cat "$Q/control/concurrencylocal") remote 0/$(cat "$Q/control/concurrencyremote")" "status line in the log"
# the log is written by the instance's logger account, with timestamps
is "$(stat -c %U "$Q/log/qmail-send/current")" qtqmaill "log owned by qtqmaill"
like "$(head -n 1 "$Q/log/qmail-send/current")" "^@[0-9a-f]{24} " "multilog timestamps"

ok inst_stop
like "$(svstat "$sv")" ": down" "svstat: down after svc -d"
like "$(inst_log)" "status: exiting" "qmail-send logged its exit"

n=$(inst_log | grep -c 'status: local')
ok svc -u "$sv"
ok wait_for 60 eval '[ "$(inst_log | grep -c "status: local")" -gt '"$n"' ]'
like "$(svstat "$sv")" ": up \(pid [0-9]+\)" "svstat: up again after svc -u"
ok inst_stop
# memory errors and undefined behaviour (exit-time leaks are not counted)
is "$(inst_log | grep -E 'ERROR: AddressSanitizer|runtime error' | head -n 3)" "" "no sanitizer errors in the log"

t_done
