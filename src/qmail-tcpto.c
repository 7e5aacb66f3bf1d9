/* qmail-tcpto: lists the hosts qmail-remote remembers as timing out
 * (QMAILHOME/queue/lock/tcpto; format in tcpto.h and qmail-tcpto(8)). */
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
  sa_t f = SA_INIT, line = SA_INIT;
  time_t now = time(0);
  int r;
  if (chdir(auto_qmail) == -1) die_sys(111, "unable to switch to ", auto_qmail);
  r = read_file("queue/lock/tcpto", &f, TCPTO_FILE_MAX);
  if (r == -1) die_sys(111, "unable to read queue/lock/tcpto");
  for (size_t i = 0; r == 1 && (i + 1) * TCPTO_REC <= f.len; ++i) {
    dns_ip_t ip;
    unsigned count;
    time_t last;
    if (!tcpto_rec((const unsigned char *)f.s, i, &ip, &count, &last)) continue;
    line.len = 0;
    if (!tcpto_line(&line, &ip, count, last, now)) die_nomem();
    buf_put(buf1, line.s, line.len);
  }
  if (buf_flush(buf1) == -1) die_sys(111, "unable to write output");
  sa_free(&f);
  sa_free(&line);
  return 0;
}
