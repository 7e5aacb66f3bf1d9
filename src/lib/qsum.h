/* qsum: recognising a queue entry that a system crash left incomplete.
 *
 * qmail-queue links its envelope into todo/ before the syncs of the
 * message and the envelope have finished (all of them end before it
 * answers), so that the disk does them in one round.  A process that dies
 * there leaves a complete message, whose files are in the page cache.
 * Only a crash of the whole system can leave a todo entry whose files are
 * not all on disk, and such a message was never acknowledged.
 *
 * So the envelope starts with the boot id of the system that wrote it
 * (record 'b') and ends with a trailer (record 'c'): the message's length,
 * a checksum of the message file and one of the envelope records between
 * the two.  qmail-send checks the trailer only for an entry written before
 * the current boot; an entry without 'b' (written in the old order, or by
 * qmail) is taken as it is.
 *
 * The checksum is a 64-bit hash of the bytes in 8-byte words: good at
 * noticing blocks of zeros or a cut-off end, and no defence against
 * anyone, which it does not need to be (only the kernel writes these). */
#ifndef QSUM_H
#define QSUM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t h, len;
  unsigned char part[8];
  unsigned npart;
} qsum_t;
#define QSUM_INIT {0x6a09e667f3bcc908u, 0, {0}, 0}

void qsum_add(qsum_t *, const void *, size_t);
/* the sum of everything added so far (s is left as it was) */
uint64_t qsum_end(const qsum_t *);

/* a boot id is 36 characters: hex digits and '-' */
#define QSUM_BOOTID 36
/* the running system's boot id into out (NUL-terminated): true, or false
 * if /proc does not give a well-formed one (out is then "") */
bool qsum_bootid(char out[QSUM_BOOTID + 1]);

/* the trailer's text (after the 'c'): "<messlen>.<messsum>.<envsum>",
 * the sums as 16 hex digits; out needs QSUM_TRAILER bytes; returns the
 * length (no NUL written) */
#define QSUM_TRAILER (20 + 1 + 16 + 1 + 16)
size_t qsum_trailer(char *out, uint64_t messlen, uint64_t messsum, uint64_t envsum);

/* the check of one entry: envfd the envelope (todo file) and messfd the
 * message, both read from their start.  1 complete; 0 incomplete (no
 * 'c' as the last record, or lengths or sums that differ); -1 a read
 * error (errno).  An envelope without a 'b' first record is complete. */
int qsum_check(int envfd, int messfd);

#endif
