/* auto: build-time configuration (conf-home, conf-split, conf-break,
 * conf-spawn, conf-users), compiled from -D flags the Makefile derives from
 * the conf-* files.  Only auto.c differs between two instances. */
#ifndef AUTO_H
#define AUTO_H

extern const char auto_qmail[];   /* QMAILHOME, e.g. /var/qmail */
extern const unsigned auto_split; /* queue hash width */
extern const char auto_break[];   /* user/extension break characters */
extern const unsigned auto_spawn; /* concurrency ceiling, <= 255 */
extern const char auto_usera[], auto_userd[], auto_userl[], auto_userp[],
    auto_userq[], auto_userr[], auto_users[];
extern const char auto_groupq[], auto_groupn[]; /* qmail, nofiles */

#endif
