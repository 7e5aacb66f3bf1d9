#!/bin/sh
# mailsubj subject recipient ...: mails standard input to the recipients
# with that subject.  The recipients travel as arguments, so the To line
# is for display only; line breaks in the subject become spaces.
if [ $# -lt 2 ]; then
  echo 'mailsubj: usage: mailsubj subject recipient ...' >&2
  exit 100
fi
subject=$(printf '%s' "$1" | tr '\r\n' '  ')
shift
to=$(printf '%s' "$*" | tr '\r\n' '  ')
{
  printf 'Subject: %s\nTo: %s\n\n' "$subject" "$to"
  cat
} | @QMAILHOME@/bin/qmail-inject -a -- "$@"
