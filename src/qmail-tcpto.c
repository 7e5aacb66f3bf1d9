/* qmail-tcpto: lists the hosts qmail-remote remembers as timing out
 * (QMAILHOME/queue/lock/tcpto; format in tcpto.h and qmail-tcpto(8)). */
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>
#include "auto.h"
#include "buf.h"
#include "die.h"
#include "dns.h"
#include "fdio.h"
#include "sa.h"
#include "tcpto.h"

const char *PROG = "qmail-tcpto";

int main(int argc, char **argv)
{
  sa_t f = SA_INIT;
  time_t now = time(0);
  int r;
  if (chdir(auto_qmail) == -1) die_sys(111, "unable to switch to ", auto_qmail);
  r = read_file("queue/lock/tcpto", &f, TCPTO_FILE_MAX);
  if (r == -1) die_sys(111, "unable to read queue/lock/tcpto");
  for (size_t i = 0; r == 1 && (i + 1) * TCPTO_REC <= f.len; ++i) {
    dns_ip_t ip;
    unsigned count;
    time_t last;
    char a[INET6_ADDRSTRLEN + 1];
    if (!tcpto_rec((const unsigned char *)f.s, i, &ip, &count, &last)) continue;
    dns_ip_fmt(&ip, a);
    buf_puts(buf1, a);
    buf_puts(buf1, " timed out ");
    buf_putulong(buf1, count);
    buf_puts(buf1, count == 1 ? " time, last " : " times, last ");
    buf_putulong(buf1, now >= last ? (unsigned long)(now - last) : 0);
    buf_puts(buf1, " seconds ago");
    if (count >= 2 && now >= last && now - last < TCPTO_WINDOW_MIN + TCPTO_WINDOW_SPAN)
      buf_puts(buf1, "; skipped for now");
    buf_puts(buf1, "\n");
  }
  if (buf_flush(buf1) == -1) die_sys(111, "unable to write output");
  sa_free(&f);
  return 0;
}
