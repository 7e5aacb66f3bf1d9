#!/bin/sh
# datemail: sendmail, with a Date: line in local time put in front of the
# message (qmail-inject would add one in local time as well; this keeps
# the time the message was written, not queued, for slow pipelines).
exec @QMAILHOME@/bin/predate @QMAILHOME@/bin/sendmail ${1+"$@"}
