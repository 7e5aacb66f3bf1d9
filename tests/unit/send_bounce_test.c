/* send_bounce: log sanitising, bounce envelopes (normal, VERP, double,
 * triple), paragraphs, header/intro texts and the limited message copy. */
#include <string.h>
#include <unistd.h>
#include "send_bounce.h"
#include "t.h"

static int put(void *arg, const char *s, size_t n) { return sa_catb(arg, s, n) ? 0 : -1; }

static void copy(const char *msg, size_t max, const char *want, const char *name)
{
  int p[2];
  sa_t out = SA_INIT;
  if (pipe(p) == -1) return;
  (void)!write(p[1], msg, strlen(msg));
  close(p[1]);
  OK(bounce_copy(p[0], max, put, &out) == 0 && out.len == strlen(want) &&
         (!out.len || !memcmp(out.s, want, out.len)),
     name);
  if (out.len != strlen(want) || (out.len && memcmp(out.s, want, out.len)))
    printf("#   got '%.*s'\n", (int)out.len, out.s ? out.s : "");
  close(p[0]);
  sa_free(&out);
}

int main(void)
{
  {
    char s[] = "did 0+1+0\nqp 12%x\t\x7f\x80~!";
    text_logsafe(s, sizeof s - 1);
    EQ_STR(s, "did_0+1+0/qp_12_x___~!", "logsafe");
  }
  {
    sa_t f = SA_INIT, t = SA_INIT;
    OK(bounce_envelope("joe@x.test", "postmaster", "h.test", &f, &t) == BOUNCE_NORMAL &&
           f.len == 0 && !strcmp(t.s, "joe@x.test"),
       "normal bounce envelope");
    OK(bounce_envelope("list@x.test-@[]", "pm", "h", &f, &t) == BOUNCE_NORMAL &&
           !strcmp(t.s, "list@x.test"),
       "VERP sender reduced");
    OK(bounce_envelope("", "pm", "h.test", &f, &t) == BOUNCE_DOUBLE && !strcmp(f.s, "#@[]") &&
           !strcmp(t.s, "pm@h.test"),
       "double bounce envelope");
    OK(bounce_envelope("#@[]", "pm", "h", &f, &t) == BOUNCE_TRIPLE, "triple bounce");
    OK(bounce_envelope("-@[]", "pm", "h", &f, &t) == BOUNCE_NORMAL && !strcmp(t.s, "-@[]"),
       "VERP marker without @ is not VERP");
    sa_free(&f);
    sa_free(&t);
  }
  {
    sa_t p = SA_INIT;
    const char *r = "Sorry, no mailbox here by that name. (#5.1.1)\n";
    OK(bounce_paragraph(&p, "u@x.test", r, strlen(r)) == 0, "paragraph");
    EQ_MEM(p.s, p.len, "<u@x.test>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n",
           strlen("<u@x.test>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n"), "paragraph text");
    p.len = 0;
    r = "\nline one\n\n\nline two\n\n";
    bounce_paragraph(&p, "a\nb@x", r, strlen(r));
    EQ_MEM(p.s, p.len, "<a_b@x>:\n/line one\n//line two\n\n",
           strlen("<a_b@x>:\n/line one\n//line two\n\n"), "blank lines as qmail marks them, LF in address");
    sa_free(&p);
  }
  {
    sa_t h = SA_INIT;
    bounce_head(&h, BOUNCE_NORMAL, "Mon, 1 Jan 2024 00:00:00 +0000", "MAILER-DAEMON", "h.test", "joe@x");
    OK(h.s && !strncmp(h.s, "Date: Mon, 1 Jan 2024 00:00:00 +0000\nFrom: MAILER-DAEMON@h.test\nTo: joe@x\n"
                           "Subject: failure notice\n\nHi. This is the qmail-send program at h.test.\n", 145),
       "header and QSBMF opening");
    OK(strstr(h.s, "permanent") && h.s[h.len - 1] == '\n' && h.s[h.len - 2] == '\n', "intro ends a paragraph");
    h.len = 0;
    bounce_head(&h, BOUNCE_DOUBLE, "d", "M", "h", "pm@h");
    OK(strstr(h.s, "Hi. This is the qmail-send program at h.\n") && strstr(h.s, "postmaster"), "double intro");
    h.len = 0;
    bounce_tail(&h, BOUNCE_NORMAL, "joe@x");
    EQ_MEM(h.s, h.len, "--- Below this line is a copy of the message.\n\nReturn-Path: <joe@x>\n",
           strlen("--- Below this line is a copy of the message.\n\nReturn-Path: <joe@x>\n"), "tail");
    h.len = 0;
    bounce_tail(&h, BOUNCE_DOUBLE, "");
    OK(!strncmp(h.s, "--- Below this line is the original bounce.\n\nReturn-Path: <>\n", h.len), "double tail");
    h.len = 0;
    bounce_tail(&h, BOUNCE_NORMAL, "list-@[]");
    OK(strstr(h.s, "\nReturn-Path: <list-@[]>\n") != 0, "tail: a lone -@[] is no VERP");
    h.len = 0;
    bounce_tail(&h, BOUNCE_NORMAL, "a b@x-@[]");
    OK(strstr(h.s, "\nReturn-Path: <\"a b\"@x>\n") != 0, "tail: VERP suffix dropped, local part quoted");
    h.len = 0;
    bounce_head(&h, BOUNCE_NORMAL, "d", "MAILER DAEMON", "h.test", "a b@x");
    OK(strstr(h.s, "\nFrom: \"MAILER DAEMON\"@h.test\nTo: \"a b\"@x\n") != 0, "head: From and To quoted");
    sa_free(&h);
  }
  copy("A: b\nC: d\n\nbody1\nbody2\n", 0, "A: b\nC: d\n\nbody1\nbody2\n", "copy whole");
  copy("A: b\n\n12345\n67890\nabc\n", 12, "A: b\n\n12345\n67890\n", "limit cuts after a whole line");
  copy("A: b\n\n12345\n67890\nabc\n", 9, "A: b\n\n12345\n", "limit drops the partial line");
  copy("A: b\n\n12345\n", 6, "A: b\n\n12345\n", "limit exactly the body");
  copy("A: b\nno body, no end", 3, "A: b\nno body, no end\n", "header only kept whole, LF added");
  copy("A: b\n\nxyz", 0, "A: b\n\nxyz\n", "missing final LF added");
  copy("", 10, "", "empty message");
  copy("\nbody\n", 2, "\n", "empty header");
  return t_done();
}
