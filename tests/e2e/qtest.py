"""What the Python drivers of tests/e2e share (imported from the driver's
own directory; not a test itself: tests/run runs only *.t)."""
import os
import time


def check(name, cond, detail=''):
    """one PASS/FAIL line for t_driver in lib.sh"""
    print(('PASS ' if cond else 'FAIL ') + name + ('' if cond else ' :: ' + repr(detail)[:300]),
          flush=True)


def queue_empty(q):
    """no message file left in instance q's queue"""
    for _root, _dirs, files in os.walk(os.path.join(q, 'queue', 'mess')):
        if files:
            return False
    return True


def wait_queue_empty(q, secs=30):
    end = time.time() + secs
    while time.time() < end:
        if queue_empty(q):
            return True
        time.sleep(0.1)
    return False


def maildir_msgs(md):
    """the paths of the messages in Maildir md (new/ and cur/)"""
    out = []
    for sub in ('new', 'cur'):
        for f in os.listdir(os.path.join(md, sub)):
            out.append(os.path.join(md, sub, f))
    return out


def wait_count(md, n, secs=60):
    """waits until Maildir md holds n messages; how many it holds"""
    end = time.time() + secs
    while time.time() < end:
        c = len(maildir_msgs(md))
        if c >= n:
            return c
        time.sleep(0.1)
    return len(maildir_msgs(md))
