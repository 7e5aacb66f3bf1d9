/* prot: looking up the instance's accounts and dropping privileges.
 * Account names come from conf-users (compiled into auto.c) and are looked
 * up at run time, as notqmail does, so numeric ids never go stale. */
#ifndef PROT_H
#define PROT_H
#include <sys/types.h>

/* 0 and the ids, or -1 (errno ENOENT if there is no such user/group) */
int ids_user(const char *name, uid_t *uid, gid_t *gid);
int ids_group(const char *name, gid_t *gid);

/* setgroups to just gid, then gid, then uid; then checks that all of them
 * stuck (and that uid 0 cannot be regained).  0 or -1. */
int prot_drop(uid_t uid, gid_t gid);

#endif
