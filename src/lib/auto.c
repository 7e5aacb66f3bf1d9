/* values come from the Makefile; see auto.h */
#include "auto.h"

#if !defined(AUTO_QMAIL) || !defined(AUTO_SPLIT) || !defined(AUTO_BREAK) || !defined(AUTO_SPAWN)
#error "auto.c must be compiled with the AUTO_* definitions from the Makefile"
#endif

const char auto_qmail[] = AUTO_QMAIL;
const unsigned auto_split = AUTO_SPLIT;
const char auto_break[] = AUTO_BREAK;
const unsigned auto_spawn = AUTO_SPAWN;
const char auto_usera[] = AUTO_USER_ALIAS;
const char auto_userd[] = AUTO_USER_QMAILD;
const char auto_userl[] = AUTO_USER_QMAILL;
const char auto_userp[] = AUTO_USER_QMAILP;
const char auto_userq[] = AUTO_USER_QMAILQ;
const char auto_userr[] = AUTO_USER_QMAILR;
const char auto_users[] = AUTO_USER_QMAILS;
const char auto_groupq[] = AUTO_GROUP_QMAIL;
const char auto_groupn[] = AUTO_GROUP_NOFILES;
