/* tcpto: the memory of hosts that recently timed out (QMAILHOME/queue/
 * lock/tcpto), shared by every qmail-remote.
 *
 * Our format (not qmail's 16-byte IPv4 records): the file is a sequence of
 * TCPTO_REC-byte records, its size a multiple of TCPTO_REC (at most
 * TCPTO_FILE_MAX; install/instance creates 1024 zero bytes = 32 empty
 * slots).  A record:
 *   byte 0      family: 0 empty slot, 4 IPv4, 6 IPv6
 *   byte 1      timeouts counted (saturates at 255)
 *   bytes 2-7   zero
 *   bytes 8-15  time of the last counted timeout, seconds since the
 *               epoch, big-endian
 *   bytes 16-31 address (IPv4 in the first 4 bytes, rest zero)
 * A timeout is counted only if it came at least TCPTO_GAP seconds after
 * the last counted one (parallel deliveries to one dead host count once).
 * A host with at least 2 counted timeouts is skipped for a while after the
 * last one (the caller picks the window, randomised, so that not every
 * qmail-remote retries the host at once).  A successful connection clears
 * the record.  When every slot is taken, the oldest record is replaced.
 * The file is read and rewritten under an exclusive flock. */
#ifndef TCPTO_H
#define TCPTO_H
#include <stddef.h>
#include <time.h>
#include "dns.h"
#include "sa.h"

#define TCPTO_REC 32
#define TCPTO_FILE_MAX 65536
#define TCPTO_GAP 120
/* skip window: 64 to 96 minutes (qmail's range) */
#define TCPTO_WINDOW_MIN 3840
#define TCPTO_WINDOW_SPAN 1920

/* in-memory operations on the file's bytes (len is rounded down to whole
 * records); exposed for tests */
int tcpto_scan(const unsigned char *b, size_t len, const dns_ip_t *ip, time_t now,
               unsigned long window);                 /* 1: skip this host */
void tcpto_note(unsigned char *b, size_t len, const dns_ip_t *ip, time_t now, int timedout);
/* record i: 1 used (fills ip, count, last), 0 empty */
int tcpto_rec(const unsigned char *b, size_t i, dns_ip_t *ip, unsigned *count, time_t *last);

/* qmail-tcpto's line for a record, as qmail prints it:
 * "IP timed out N seconds ago; # recent timeouts: K\n" (N is 0 if last
 * is in the future); appended to out, false if out of memory */
int tcpto_line(sa_t *out, const dns_ip_t *ip, unsigned count, time_t last, time_t now);

/* the file: problems with it are ignored (it is an optimisation) */
int tcpto_dead(const char *path, const dns_ip_t *ip, unsigned long window);
void tcpto_mark(const char *path, const dns_ip_t *ip, int timedout);
/* forgets every host: overwrites the file with zeros, keeping its size,
 * under its lock (qmail-tcpok, and qmail-rspawn at start as qmail's
 * does); 0, or -1 with errno */
int tcpto_clear(const char *path);
#endif
