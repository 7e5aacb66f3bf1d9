/* qreceipt: a .qmail helper.  If the header of the message on stdin has a
 * Notice-Requested-Upon-Delivery-To: field naming the address given, it
 * queues a short delivery notice to $SENDER, with the empty envelope
 * sender so the notice itself can never cause a notice or a bounce
 * (qreceipt(1)).  Exit codes per qmail-command(8). */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "buf.h"
#include "date.h"
#include "die.h"
#include "hdr.h"
#include "num.h"
#include "proc.h"
#include "queue.h"
#include "sa.h"

const char *PROG = "qreceipt";

#define USAGE "qreceipt youraddress"
#define FIELD "Notice-Requested-Upon-Delivery-To"
/* one header field, and the whole header, read at most: a notice request
 * is a line or two, and the message is already delivered, so a header
 * beyond these bounds just ends the search (no notice) */
#define FIELD_MAX ((size_t)64 << 10)
#define HEADER_MAX ((size_t)4 << 20)
/* the original Message-ID is quoted in the notice only up to this size */
#define MSGID_MAX 200

/* an envelope address as a header address: split at the last '@', local
 * part quoted when needed; false if it holds control characters */
static bool fmt_addr(sa_t *out, const char *addr)
{
  hdr_addr_t a = HDR_ADDR_INIT;
  const char *at = strrchr(addr, '@');
  bool ok;
  if (at) {
    if (!sa_copyb(&a.local, addr, (size_t)(at - addr)) || !sa_copys(&a.domain, at + 1)) die_nomem();
    a.has_domain = true;
  } else if (!sa_copys(&a.local, addr)) {
    die_nomem();
  }
  ok = hdr_addr_fmt(out, &a);
  hdr_addr_free(&a);
  return ok;
}

/* a Message-ID worth quoting: printable ASCII without blanks, bounded */
static bool msgid_ok(const char *s, size_t n)
{
  if (n == 0 || n > MSGID_MAX) return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f) return false;
  return true;
}

/* the value of field f without blanks and the line ends around it */
static void field_value(const sa_t *f, const char **v, size_t *n)
{
  size_t off = hdr_value_off(f->s, f->len), end = f->len;
  while (off < end && (f->s[off] == ' ' || f->s[off] == '\t')) off++;
  while (end > off && (f->s[end - 1] == '\n' || f->s[end - 1] == ' ' || f->s[end - 1] == '\t' ||
                       f->s[end - 1] == '\r'))
    end--;
  *v = f->s + off;
  *n = end - off;
}

/* does any address of the field's value, in its envelope form, equal me
 * (ignoring case, see qreceipt(1))? */
static bool names_me(const sa_t *f, const char *me, hdr_alist_t *al, sa_t *tmp)
{
  size_t off = hdr_value_off(f->s, f->len);
  int r = hdr_alist_parse(al, f->s + off, f->len - off);
  if (r == -1) die_nomem();
  if (r == 0) return false; /* unparsable: not a request we understand */
  for (size_t i = 0; i < al->n; i++) {
    if (al->a[i].null) continue;
    tmp->len = 0;
    if (!hdr_addr_env(tmp, al->a + i)) continue; /* a NUL inside */
    if (!strcasecmp(tmp->s, me)) return true;
  }
  return false;
}

int main(int argc, char **argv)
{
  const char *me, *sender = env_get("SENDER"), *r;
  /* static: still reachable at exit, so the leak checker stays quiet */
  static sa_t f, tmp, msgid, to, from, m;
  static hdr_alist_t al;
  hdr_rd_t rd;
  size_t total = 0;
  bool asked = false;
  char date[DATE_LEN], num[FMT_ULONG];
  int rr;
  qq_t q;

  if (argc != 2 || !argv[1][0]) die_usage(USAGE);
  me = argv[1];
  if (!sender) die_perm("SENDER not set");
  /* nobody to tell: the empty sender (bounces, notices like ours) and
   * qmail-send's double-bounce sender */
  if (!*sender || !strcmp(sender, "#@[]")) return 0;
  if (strlen(sender) > QUEUE_ADDR_MAX) return 0;

  hdr_rd_init(&rd, buf0, FIELD_MAX);
  while ((rr = hdr_rd_next(&rd, &f)) == 1) {
    const char *v;
    size_t n;
    /* total cannot wrap: each field is at most FIELD_MAX */
    total += f.len;
    if (total > HEADER_MAX) break;
    if (hdr_is(f.s, f.len, FIELD) && !asked && names_me(&f, me, &al, &tmp)) asked = true;
    if (hdr_is(f.s, f.len, "Message-ID") && !msgid.len) {
      field_value(&f, &v, &n);
      if (msgid_ok(v, n) && !sa_copyb(&msgid, v, n)) die_nomem();
    }
  }
  if (rr == -1 && errno != E2BIG) die_sys(111, "unable to read message");
  hdr_rd_free(&rd);
  if (!asked) return 0;

  if (!fmt_addr(&to, sender)) return 0; /* control characters: no header for it */
  if (!fmt_addr(&from, me)) die_perm("address has control characters: ", me);
  date_rfc5322_local(date, time(0));
  if (!sa_cats(&m, "Date: ") || !sa_cats(&m, date) || !sa_cats(&m, "\nFrom: <") ||
      !sa_cat(&m, &from) || !sa_cats(&m, ">\nTo: <") || !sa_cat(&m, &to) ||
      !sa_cats(&m, ">\nSubject: delivery notice\nAuto-Submitted: auto-replied\n"))
    die_nomem();
  if (msgid.len && (!sa_cats(&m, "In-Reply-To: ") || !sa_cat(&m, &msgid) || !sa_cats(&m, "\n")))
    die_nomem();
  if (!sa_cats(&m, "\nThis is an automatic notice: your message") ||
      (msgid.len && (!sa_cats(&m, "\n  ") || !sa_cat(&m, &msgid))) ||
      !sa_cats(&m, "\nhas been delivered to <") || !sa_cat(&m, &from) ||
      !sa_cats(&m, ">.\n\nIt carried a " FIELD ": header field\n"
                   "asking for this notice.  Nothing needs to be done about it.\n"))
    die_nomem();

  /* a qmail-queue that dies early must show up as its exit code, not as
   * this process killed by SIGPIPE */
  sig_ignore(SIGPIPE);
  if (qq_open(&q, true) == -1) die_sys(111, "unable to fork for qmail-queue");
  qq_put(&q, m.s, m.len);
  qq_from(&q, ""); /* the empty sender: no notice or bounce can follow */
  qq_to(&q, sender);
  r = qq_close(&q);
  /* the pid of qmail-queue is known only now when qmail-queued ran it */
  num[fmt_ulong(num, (unsigned long)q.pid)] = 0;
  if (*r) die_(*r == 'D' ? 100 : 111, 0, r + 1, (const char *)0);
  say_(0, "sent delivery notice to ", sender, ": qp ", num, (const char *)0);
  return 0;
}
