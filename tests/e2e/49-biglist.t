#!/bin/bash
# A recipient list that rewriting makes longer than qmail-send loads as one
# channel file (64 MB; here a 200-character virtualdomains prefix on 900000
# short addresses): preprocessing leaves the recipients beyond out, and the
# bounce names the first of them and the count.  Before, the message sat in
# the queue for good, with a warning every two minutes.
. "$(dirname "$0")/lib.sh"
t_init

ok inst_new b || t_done
# nothing is delivered: the test reads the queue files
echo 0 >"$Q/control/concurrencylocal"
echo 0 >"$Q/control/concurrencyremote"
pre=$(head -c 200 /dev/zero | tr '\0' p)
echo "v.test:$pre" >"$Q/control/virtualdomains"
D=$T/data
mkdir -p "$D"
# the envelope, and what preprocessing must keep: records "T<pre>-<addr>\0"
# while the file stays within 64 MB
python3 - "$D" "$pre" <<'PY'
import sys
d, pre = sys.argv[1], sys.argv[2].encode()
n, cap, size, first = 900000, 64 << 20, 0, None
with open(d + "/env", "wb") as f:
    f.write(b"Fs@b.test\0")
    for i in range(n):
        a = b"u%d@v.test" % i
        f.write(b"T" + a + b"\0")
        r = len(pre) + 1 + len(a) + 2
        if first is None and size + r <= cap: size += r
        elif first is None: first = i
    f.write(b"\0")
with open(d + "/want", "w") as f:
    print(size, first, n - first, file=f)
PY
read -r size first skipped <"$D/want"
t_diag "expect $skipped recipients left out, a local file of $size bytes"
printf 'Subject: many\n\nhello\n' >"$D/m"
ok inst_start ./Maildir/
queue() { "$Q/bin/qmail-queue" <"$D/m" 1<"$D/env"; }
ok queue
logged() { inst_log | grep -q "recipients left out"; }
ok wait_for 120 logged
id=$(inst_log | sed -n 's/^new msg \([0-9]*\)$/\1/p' | tail -n 1)
like "$(inst_log)" "warning: msg $id: $skipped recipients left out: the list is too long for one queue file" \
  "the log names the message and the count"
lf=$(ls "$Q"/queue/local/*/"$id")
ok test -f "$lf"
is "$(stat -c %s "$lf")" "$size" "the local file holds the recipients up to 64 MB"
printf '<u%s@v.test>:\nThis message has more recipients than one queue file can hold once their addresses are rewritten (64 MB). This address and %s more later in the list were not tried. Send the message in smaller parts. (#5.5.3)\n\n' \
  "$first" "$((skipped - 1))" >"$D/bounce"
ok cmp "$D/bounce" "$Q/queue/bounce/$id"
unreadable() { inst_log | grep -q "unable to read"; }
nok unreadable

# ---- a local file over 64 MB, as a queue taken over from elsewhere can
# hold one: qmail-send writes it anew without its done records, keeps the
# pending recipients that fit and bounces the rest in one paragraph.
# Before, it was retried every two minutes for good.
ok inst_stop
user_new bl
python3 - "$lf" "$D" <<'PY'
import sys
lf, d = sys.argv[1], sys.argv[2]
cap, rec = 64 << 20, b"Tqtbl@b.test\0"
n = cap // len(rec) + 1000          # pending: 1000 more than fit
with open(lf, "wb") as f:
    f.write(b"Dqtbl@b.test\0" * 100000)  # done: these go
    f.write(rec * n)
with open(d + "/want2", "w") as f:
    k = cap // len(rec)
    print(k * len(rec), n - k, file=f)
PY
read -r size2 skipped2 <"$D/want2"
cp "$Q/queue/bounce/$id" "$D/bounce2"
printf '<qtbl@b.test>:\nThis message has more recipients than one queue file can hold once their addresses are rewritten (64 MB). This address and %s more later in the list were not tried. Send the message in smaller parts. (#5.5.3)\n\n' \
  "$((skipped2 - 1))" >>"$D/bounce2"
echo 1 >"$Q/control/concurrencylocal"
lines=$(inst_log | wc -l)
ok svc -u "$Q/supervise/qmail-send"
shrunk() { inst_log | tail -n +$((lines + 1)) | grep -q "was too big to load"; }
ok wait_for 120 shrunk
ok inst_stop
log=$(inst_log | tail -n +$((lines + 1)))
like "$log" "warning: msg $id: $skipped2 recipients left out: the list is too long for one queue file" \
  "an oversized local file: the log counts the recipients left out"
like "$log" "warning: msg $id: local/[0-9]+/$id was too big to load: rewritten with its $((size2 / 13)) pending recipients" \
  "and says it rewrote the file"
is "$(stat -c %s "$lf")" "$size2" "the done records went, the pending ones that fit stayed"
ok cmp "$D/bounce2" "$Q/queue/bounce/$id"
like "$log" "starting delivery [0-9]+: msg $id to local qtbl@b.test" "deliveries go on from the new file"
is "$(find "$Q/queue/local" -name '*.new' | wc -l)" 0 "no temporary file is left"
t_done
