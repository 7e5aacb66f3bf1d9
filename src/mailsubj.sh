#!/bin/sh
# mailsubj subject recipient ...: mails standard input to the recipients
# with that subject.  As in qmail, the recipients go into the To field,
# joined by ", ", and qmail-inject takes them from there, so an argument
# may be any address list ('Carol <carol@y.org>').  Line breaks in the
# subject or the recipients become spaces.
if [ $# -lt 2 ]; then
  echo 'mailsubj: usage: mailsubj subject recipient ...' >&2
  exit 100
fi
subject=$(printf '%s' "$1" | tr '\r\n' '  ')
shift
to=
for r in "$@"; do
  to=${to:+"$to, "}$r
done
to=$(printf '%s' "$to" | tr '\r\n' '  ')
{
  printf 'Subject: %s\nTo: %s\n\n' "$subject" "$to"
  cat
} | @QMAILHOME@/bin/qmail-inject
