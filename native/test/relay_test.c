/*
 * Sanitizer driver for the relay engine (native/relay.c), without Node: built with
 * -fsanitize=address,undefined by native/test/run-sanitizers.sh (npm run test:native).
 * Each case drives one pitfall of issue #14 through socketpairs; ASan turns a
 * use-after-free (an event for a freed connection) or a leak into a failure, and every
 * wait is bounded. Exit status 0 = all passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../relay.h"

#define SLOTS 1024
#define CHECK(cond, ...)                                                  \
  do {                                                                    \
    if (!(cond)) {                                                        \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                \
      fprintf(stderr, __VA_ARGS__);                                       \
      fprintf(stderr, "\n");                                              \
      exit(1);                                                            \
    }                                                                     \
  } while (0)

static double counters[2 * SLOTS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct relay_event events[SLOTS]; /* close event per slot */
static int closed[SLOTS];
static int nclosed;
#define LOG_MAX 4096
static struct relay_event event_log[LOG_MAX]; /* every event, in order */
static int nlog;
/* The bytes of the last HELLO event (its pointer is valid during the callback only). */
static unsigned char last_hello[RELAY_HELLO_MAX];
static uint32_t last_hello_len;

static void on_events(void *ctx, const struct relay_event *evs, uint32_t n) {
  (void)ctx;
  CHECK(n > 0, "empty batch");
  pthread_mutex_lock(&mu);
  for (uint32_t k = 0; k < n; k++) {
    const struct relay_event *ev = &evs[k];
    if (ev->type == RELAY_EV_HELLO) {
      CHECK(ev->hello != NULL && ev->hello_len <= RELAY_HELLO_MAX, "hello %u bytes",
            ev->hello_len);
      memcpy(last_hello, ev->hello, ev->hello_len);
      last_hello_len = ev->hello_len;
    }
    if (nlog < LOG_MAX) event_log[nlog++] = *ev;
    if (ev->type != RELAY_EV_CLOSED) continue;
    uint32_t slot = ev->id & 0xffff;
    events[slot] = *ev;
    closed[slot]++;
    nclosed++;
  }
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
}

/*
 * Waits (at most 10 s) for the next event of `type` (for `id`, or any id when id ==
 * RELAY_NO_ID) after log position *cursor; returns it and moves the cursor past it.
 */
static struct relay_event wait_event(int *cursor, enum relay_event_type type, uint32_t id) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 10;
  pthread_mutex_lock(&mu);
  for (;;) {
    for (; *cursor < nlog; (*cursor)++) {
      struct relay_event ev = event_log[*cursor];
      if (ev.type == type && (id == RELAY_NO_ID || ev.id == id)) {
        (*cursor)++;
        pthread_mutex_unlock(&mu);
        return ev;
      }
    }
    if (pthread_cond_timedwait(&cv, &mu, &deadline) == ETIMEDOUT) {
      pthread_mutex_unlock(&mu);
      CHECK(0, "timed out waiting for event type %d (id %u)", type, id);
    }
  }
}

/* Waits (at most 10 s) until `n` close events in total have arrived. */
static void wait_closed(int n) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 10;
  pthread_mutex_lock(&mu);
  while (nclosed < n) {
    if (pthread_cond_timedwait(&cv, &mu, &deadline) == ETIMEDOUT) {
      pthread_mutex_unlock(&mu);
      CHECK(0, "timed out: %d of %d close events", nclosed, n);
    }
  }
  pthread_mutex_unlock(&mu);
}

/* A relayed connection: `client` and `member` are the outer ends the test drives. */
struct pair {
  int client, member; /* test's ends */
  int a, b;           /* handed to the engine (dup()ed there) */
};

static struct pair make_pair(void) {
  int x[2], y[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, x) == 0, "socketpair");
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, y) == 0, "socketpair");
  /* The engine's ends are non-blocking, as libuv's sockets are. */
  fcntl(x[1], F_SETFL, O_NONBLOCK);
  fcntl(y[0], F_SETFL, O_NONBLOCK);
  struct pair p = {x[0], y[1], x[1], y[0]};
  return p;
}

static void read_exact(int fd, char *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    CHECK(r > 0, "read returned %zd (errno %d) after %zu of %zu", r, errno, got, n);
    got += (size_t)r;
  }
}


/* Open fds of this process. */
static int open_fds(void) {
  int n = 0;
  for (int fd = 0; fd < 65536; fd++)
    if (fcntl(fd, F_GETFD) >= 0) n++;
  return n;
}

/* A listening TCP socket on 127.0.0.1, port chosen by the kernel. */
static int tcp_listener(int backlog, uint16_t *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK(fd >= 0, "socket");
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0, "bind");
  CHECK(listen(fd, backlog) == 0, "listen");
  socklen_t len = sizeof a;
  CHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0, "getsockname");
  *port = ntohs(a.sin_port);
  return fd;
}

/* A blocking client connection to 127.0.0.1:port. */
static int tcp_connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK(fd >= 0, "socket");
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0, "connect: %s", strerror(errno));
  return fd;
}

static struct relay_verdict route_to(uint32_t id, uint16_t port, uint32_t connect_ms) {
  struct relay_verdict v;
  memset(&v, 0, sizeof v);
  v.id = id;
  struct sockaddr_in *a = (struct sockaddr_in *)&v.addr;
  a->sin_family = AF_INET;
  a->sin_port = htons(port);
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  v.addr_len = sizeof *a;
  v.connect_ms = connect_ms;
  return v;
}

static struct relay_verdict reject(uint32_t id) {
  struct relay_verdict v;
  memset(&v, 0, sizeof v);
  v.id = id;
  v.reject = 1;
  return v;
}

/* A port nothing listens on (bound, closed: refused until someone takes it). */
static uint16_t dead_port(void) {
  uint16_t port;
  close(tcp_listener(1, &port));
  return port;
}

/*
 * Native accept and connect (issue #14 step two), on a second engine: real TCP sockets
 * on 127.0.0.1. Each case is one thing the relay thread must get right.
 */
static void accept_cases(void) {
  static double counters2[2 * 64];
  struct relay_engine *e = relay_engine_start(counters2, 64, 8, on_events, NULL);
  CHECK(e != NULL, "start: %s", strerror(errno));
  int cursor = nlog;
  uint16_t lport, mport;
  int lfd = tcp_listener(128, &lport);
  int mfd = tcp_listener(128, &mport);
  CHECK(relay_engine_listen(e, 3, lfd) == 0, "listen");

  /* 8. Accepted, routed, connected; bytes both ways, half-close each way. */
  {
    int client = tcp_connect(lport);
    struct relay_event acc = wait_event(&cursor, RELAY_EV_ACCEPTED, RELAY_NO_ID);
    CHECK(acc.listener == 3, "listener %u", acc.listener);
    CHECK(strcmp(acc.peer, "127.0.0.1") == 0, "peer %s", acc.peer);
    CHECK((acc.id & 0xffff) >= 8, "accepted slot %u below accept_base", acc.id & 0xffff);
    /* Always reported (a PROXY header's destination), tracing or not. */
    CHECK(strcmp(acc.local, "127.0.0.1") == 0 && acc.local_port == lport,
          "local address %s:%u, want 127.0.0.1:%u", acc.local, acc.local_port, lport);
    /* The client speaks before any verdict: its bytes wait in the kernel. */
    CHECK(write(client, "hello", 5) == 5, "write");
    struct relay_verdict v = route_to(acc.id, mport, 2000);
    CHECK(relay_engine_submit(e, &v, 1) == 0, "submit");
    int member = accept(mfd, NULL, NULL);
    CHECK(member >= 0, "member accept");
    struct relay_event con = wait_event(&cursor, RELAY_EV_CONNECTED, acc.id);
    CHECK(con.connect_ms >= 0 && con.connect_ms < 2000, "connect_ms %f", con.connect_ms);
    char buf[5], c;
    read_exact(member, buf, 5);
    CHECK(memcmp(buf, "hello", 5) == 0, "early bytes");
    shutdown(client, SHUT_WR);
    CHECK(read(member, &c, 1) == 0, "FIN to the member");
    CHECK(write(member, "world", 5) == 5, "write member");
    shutdown(member, SHUT_WR);
    read_exact(client, buf, 5);
    CHECK(memcmp(buf, "world", 5) == 0, "reply");
    CHECK(read(client, &c, 1) == 0, "FIN to the client");
    struct relay_event end = wait_event(&cursor, RELAY_EV_CLOSED, acc.id);
    CHECK(end.reason == RELAY_DONE && end.bytes_a_to_b == 5 && end.bytes_b_to_a == 5,
          "reason %d bytes %f %f", end.reason, end.bytes_a_to_b, end.bytes_b_to_a);
    close(client);
    close(member);
  }

  /* 9. A refused connect is reported; the owner routes elsewhere and it connects. */
  {
    int client = tcp_connect(lport);
    struct relay_event acc = wait_event(&cursor, RELAY_EV_ACCEPTED, RELAY_NO_ID);
    struct relay_verdict v = route_to(acc.id, dead_port(), 2000);
    CHECK(relay_engine_submit(e, &v, 1) == 0, "submit");
    struct relay_event failed = wait_event(&cursor, RELAY_EV_CONNECT_FAILED, acc.id);
    CHECK(failed.err == ECONNREFUSED, "err %d", failed.err);
    v = route_to(acc.id, mport, 2000);
    CHECK(relay_engine_submit(e, &v, 1) == 0, "submit");
    int member = accept(mfd, NULL, NULL);
    wait_event(&cursor, RELAY_EV_CONNECTED, acc.id);
    close(member);
    close(client);
    wait_event(&cursor, RELAY_EV_CLOSED, acc.id);
  }

  /* 10. Reject: the client sees the close; a second verdict for the dead id is ignored. */
  {
    int client = tcp_connect(lport);
    struct relay_event acc = wait_event(&cursor, RELAY_EV_ACCEPTED, RELAY_NO_ID);
    struct relay_verdict v = reject(acc.id);
    CHECK(relay_engine_submit(e, &v, 1) == 0, "submit");
    char c;
    CHECK(read(client, &c, 1) <= 0, "client closed");
    struct relay_event end = wait_event(&cursor, RELAY_EV_CLOSED, acc.id);
    CHECK(end.reason == RELAY_FORCED, "reason %d", end.reason);
    v = route_to(acc.id, mport, 2000); /* stale: must touch nothing */
    CHECK(relay_engine_submit(e, &v, 1) == 0, "submit");
    CHECK(relay_engine_close(e, acc.id) == 0, "close stale");
    close(client);
  }

  /* 10b. PROXY protocol (issue #23): the accept reports the local address; the header of
   *      the verdict reaches the member before the client's bytes (sent before the
   *      verdict), and a retry after a refused connect writes the new verdict's header. */
  {
    int client = tcp_connect(lport);
    struct relay_event acc = wait_event(&cursor, RELAY_EV_ACCEPTED, RELAY_NO_ID);
    CHECK(strcmp(acc.local, "127.0.0.1") == 0, "local %s", acc.local);
    CHECK(acc.local_port == lport, "local port %u, listener %u", acc.local_port, lport);
    CHECK(write(client, "hello", 5) == 5, "write");
    struct relay_verdict v = route_to(acc.id, dead_port(), 2000);
    v.header = (const unsigned char *)"FIRST\n";
    v.header_len = 6;
    CHECK(relay_engine_submit(e, &v, 1) == 0, "submit");
    wait_event(&cursor, RELAY_EV_CONNECT_FAILED, acc.id);
    v = route_to(acc.id, mport, 2000);
    char second[] = "SECOND\n";
    v.header = (const unsigned char *)second;
    v.header_len = 7;
    CHECK(relay_engine_submit(e, &v, 1) == 0, "submit");
    memset(second, 'x', sizeof second - 1); /* submit copied it */
    int member = accept(mfd, NULL, NULL);
    CHECK(member >= 0, "member accept");
    wait_event(&cursor, RELAY_EV_CONNECTED, acc.id);
    char buf[12];
    read_exact(member, buf, 12);
    CHECK(memcmp(buf, "SECOND\nhello", 12) == 0, "header then bytes: %.12s", buf);
    close(member);
    close(client);
    struct relay_event end = wait_event(&cursor, RELAY_EV_CLOSED, acc.id);
    CHECK(end.bytes_a_to_b == 5, "the header is not counted as client bytes: %f",
          end.bytes_a_to_b);
  }

  /* 11. Connect timeout: a member whose accept queue is full drops our SYN. */
  {
    uint16_t fport;
    int full = tcp_listener(0, &fport);
    int fillers[4], nfill = 0;
    for (; nfill < 4; nfill++) {
      fillers[nfill] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(fport),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
      if (connect(fillers[nfill], (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS)
        break;
    }
    usleep(50000);
    int client = tcp_connect(lport);
    struct relay_event acc = wait_event(&cursor, RELAY_EV_ACCEPTED, RELAY_NO_ID);
    struct relay_verdict v = route_to(acc.id, fport, 150);
    CHECK(relay_engine_submit(e, &v, 1) == 0, "submit");
    struct relay_event failed = wait_event(&cursor, RELAY_EV_CONNECT_FAILED, acc.id);
    CHECK(failed.err == ETIMEDOUT, "err %d (%s)", failed.err, strerror(failed.err));
    v = reject(acc.id);
    CHECK(relay_engine_submit(e, &v, 1) == 0, "submit");
    wait_event(&cursor, RELAY_EV_CLOSED, acc.id);
    close(client);
    for (int i = 0; i < nfill; i++) close(fillers[i]);
    close(full);
  }

  /* 12. A client that resets while waiting for its verdict is closed and reported. */
  {
    int client = tcp_connect(lport);
    struct relay_event acc = wait_event(&cursor, RELAY_EV_ACCEPTED, RELAY_NO_ID);
    struct linger lg = {1, 0};
    setsockopt(client, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(client); /* RST */
    struct relay_event end = wait_event(&cursor, RELAY_EV_CLOSED, acc.id);
    CHECK(end.reason == RELAY_ERROR, "reason %d", end.reason);
    struct relay_verdict v = route_to(acc.id, mport, 2000); /* late verdict: ignored */
    CHECK(relay_engine_submit(e, &v, 1) == 0, "submit");
  }

  /* 13. Many at once, in one batch of verdicts; every slot comes back. */
  {
    int clients[40], members[40];
    uint32_t ids[40];
    struct relay_verdict vs[40];
    for (int i = 0; i < 40; i++) clients[i] = tcp_connect(lport);
    for (int i = 0; i < 40; i++) {
      ids[i] = wait_event(&cursor, RELAY_EV_ACCEPTED, RELAY_NO_ID).id;
      vs[i] = route_to(ids[i], mport, 2000);
    }
    CHECK(relay_engine_submit(e, vs, 40) == 0, "submit");
    for (int i = 0; i < 40; i++) members[i] = accept(mfd, NULL, NULL);
    for (int i = 0; i < 40; i++) {
      close(clients[i]);
      close(members[i]);
    }
    for (int i = 0; i < 40; i++) wait_event(&cursor, RELAY_EV_CLOSED, ids[i]);
  }

  /* 13b. Pipes are held only while bytes wait in them: 20 relays that moved bytes both
   *      ways hold their sockets, plus a few pooled pipes, not 2 pipes each. */
  {
    int base = open_fds();
    int clients[20], members[20];
    uint32_t ids[20];
    for (int i = 0; i < 20; i++) {
      clients[i] = tcp_connect(lport);
      ids[i] = wait_event(&cursor, RELAY_EV_ACCEPTED, RELAY_NO_ID).id;
      struct relay_verdict v = route_to(ids[i], mport, 2000);
      CHECK(relay_engine_submit(e, &v, 1) == 0, "submit");
      members[i] = accept(mfd, NULL, NULL);
      wait_event(&cursor, RELAY_EV_CONNECTED, ids[i]);
      char buf[2];
      CHECK(write(clients[i], "ab", 2) == 2 && write(members[i], "cd", 2) == 2, "write");
      read_exact(members[i], buf, 2);
      read_exact(clients[i], buf, 2);
    }
    int held = open_fds() - base; /* 20 x (2 test ends + 2 relay sockets) + pooled pipes */
    CHECK(held >= 80 && held <= 80 + 8, "%d fds for 20 idle relays (80 + at most 8 pooled)",
          held);
    for (int i = 0; i < 20; i++) {
      close(clients[i]);
      close(members[i]);
    }
    for (int i = 0; i < 20; i++) wait_event(&cursor, RELAY_EV_CLOSED, ids[i]);
    CHECK(open_fds() == base, "fds %d after every relay closed, %d before", open_fds(), base);
  }

  /* 14. Past the accept slots (56 here) a connection is closed at once, reported
   *     with RELAY_NO_ID. */
  {
    int clients[57];
    uint32_t ids[56];
    for (int i = 0; i < 57; i++) clients[i] = tcp_connect(lport);
    int dropped = 0, got = 0;
    while (got + dropped < 57) {
      struct relay_event acc = wait_event(&cursor, RELAY_EV_ACCEPTED, RELAY_NO_ID);
      if (acc.id == RELAY_NO_ID) dropped++;
      else ids[got++] = acc.id;
    }
    CHECK(dropped == 1 && got == 56, "dropped %d accepted %d", dropped, got);
    for (int i = 0; i < 56; i++) {
      struct relay_verdict v = reject(ids[i]);
      CHECK(relay_engine_submit(e, &v, 1) == 0, "submit");
    }
    for (int i = 0; i < 56; i++) wait_event(&cursor, RELAY_EV_CLOSED, ids[i]);
    for (int i = 0; i < 57; i++) close(clients[i]);
  }

  /* 15. Unlisten: nothing more is accepted (the caller's socket keeps listening). */
  {
    CHECK(relay_engine_unlisten(e, 3) == 0, "unlisten");
    int client = tcp_connect(lport); /* completes in the kernel's queue */
    usleep(100000);
    pthread_mutex_lock(&mu);
    for (int k = cursor; k < nlog; k++)
      CHECK(event_log[k].type != RELAY_EV_ACCEPTED, "accepted after unlisten");
    pthread_mutex_unlock(&mu);
    close(client);
    CHECK(relay_engine_listen(e, 3, lfd) == 0, "listen again");
    /* The one queued meanwhile is accepted now: reject it. */
    struct relay_event old = wait_event(&cursor, RELAY_EV_ACCEPTED, RELAY_NO_ID);
    struct relay_verdict v = reject(old.id);
    CHECK(relay_engine_submit(e, &v, 1) == 0, "submit");
    wait_event(&cursor, RELAY_EV_CLOSED, old.id);
  }

  /* 16. Out of fds: accept4 fails with EMFILE; the listener rests (no busy loop on a
   *      level-triggered fd) and accepts the waiting connection once fds are back. */
  {
    int h1 = -1, h2 = -1;
    for (int fd = 0; fd < 65536 && h2 < 0; fd++) {
      if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
        if (h1 < 0) h1 = fd;
        else h2 = fd;
      }
    }
    struct rlimit old_limit, low;
    CHECK(getrlimit(RLIMIT_NOFILE, &old_limit) == 0, "getrlimit");
    low = old_limit;
    low.rlim_cur = (rlim_t)h2; /* only h1 is free below the limit */
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0, "setrlimit");
    int client = tcp_connect(lport); /* takes h1: the relay thread's accept4 gets EMFILE */
    usleep(150000);
    pthread_mutex_lock(&mu);
    for (int k = cursor; k < nlog; k++)
      CHECK(event_log[k].type != RELAY_EV_ACCEPTED, "accepted without a free fd");
    pthread_mutex_unlock(&mu);
    CHECK(setrlimit(RLIMIT_NOFILE, &old_limit) == 0, "setrlimit restore");
    struct relay_event acc = wait_event(&cursor, RELAY_EV_ACCEPTED, RELAY_NO_ID);
    struct relay_verdict v = reject(acc.id);
    CHECK(relay_engine_submit(e, &v, 1) == 0, "submit");
    wait_event(&cursor, RELAY_EV_CLOSED, acc.id);
    close(client);
  }

  /* 17. Stop with connections waiting, connecting and relaying: each reported stopped. */
  {
    int c1 = tcp_connect(lport), c2 = tcp_connect(lport);
    struct relay_verdict v;
    struct relay_event a1 = wait_event(&cursor, RELAY_EV_ACCEPTED, RELAY_NO_ID);
    wait_event(&cursor, RELAY_EV_ACCEPTED, RELAY_NO_ID);
    v = route_to(a1.id, mport, 2000);
    relay_engine_submit(e, &v, 1);
    int m1 = accept(mfd, NULL, NULL);
    wait_event(&cursor, RELAY_EV_CONNECTED, a1.id);
    relay_engine_stop(e); /* no callback after this: the log is final */
    int stopped = 0;
    for (int k = cursor; k < nlog; k++)
      if (event_log[k].type == RELAY_EV_CLOSED && event_log[k].reason == RELAY_STOPPED)
        stopped++;
    CHECK(stopped == 2, "%d connections reported stopped, expected 2", stopped);
    close(c1);
    close(c2);
    close(m1);
  }
  close(lfd);
  close(mfd);
}

/* Whether an event of `type` for `id` is in the log after position `from`. */
static int logged(int from, enum relay_event_type type, uint32_t id) {
  pthread_mutex_lock(&mu);
  int found = 0;
  for (int k = from; k < nlog && !found; k++)
    found = event_log[k].type == type && event_log[k].id == id;
  pthread_mutex_unlock(&mu);
  return found;
}

/*
 * 18. Tracing for the access log (relay_engine_trace), on a third engine: the local
 *     address with the accept (as always), a TLS client's first record handed over once (HELLO), no
 *     HELLO for other clients, first-byte times with the close and in `firsts`.
 */
static void trace_cases(void) {
  static double counters3[2 * 16], firsts[2 * 16];
  struct relay_engine *e = relay_engine_start(counters3, 16, 0, on_events, NULL);
  CHECK(e != NULL, "start: %s", strerror(errno));
  CHECK(relay_engine_trace(e, firsts) == 0, "trace");
  int cursor = nlog;
  uint16_t lport, mport;
  int lfd = tcp_listener(16, &lport);
  int mfd = tcp_listener(16, &mport);
  CHECK(relay_engine_listen(e, 0, lfd) == 0, "listen");
  /* A TLS handshake record header (22, TLS 1.0, 40 bytes), 40 bytes of body, then more. */
  unsigned char hello[5 + 40 + 7];
  memset(hello, 'h', sizeof hello);
  hello[0] = 22, hello[1] = 3, hello[2] = 1, hello[3] = 0, hello[4] = 40;
  for (int tls = 1; tls >= 0; tls--) {
    int client = tcp_connect(lport);
    struct relay_event acc = wait_event(&cursor, RELAY_EV_ACCEPTED, RELAY_NO_ID);
    CHECK(strcmp(acc.local, "127.0.0.1") == 0, "local %s", acc.local);
    CHECK(acc.local_port == lport, "local port %u, listener %u", acc.local_port, lport);
    int from = cursor;
    struct relay_verdict v = route_to(acc.id, mport, 2000);
    CHECK(relay_engine_submit(e, &v, 1) == 0, "submit");
    int member = accept(mfd, NULL, NULL);
    CHECK(member >= 0, "member accept");
    wait_event(&cursor, RELAY_EV_CONNECTED, acc.id);
    usleep(20000); /* the first bytes come measurably after the relay started */
    const char *plain = "GET / HTTP/1.0\r\n\r\n";
    size_t n = tls ? sizeof hello : strlen(plain);
    CHECK(write(client, tls ? (const void *)hello : (const void *)plain, n) == (ssize_t)n,
          "write");
    char buf[sizeof hello];
    read_exact(member, buf, n);
    if (tls) {
      struct relay_event h = wait_event(&cursor, RELAY_EV_HELLO, acc.id);
      (void)h;
      pthread_mutex_lock(&mu);
      CHECK(last_hello_len == 45 && memcmp(last_hello, hello, 45) == 0,
            "hello: %u bytes, the record (45) expected", last_hello_len);
      pthread_mutex_unlock(&mu);
    }
    CHECK(write(member, "ok", 2) == 2, "write member");
    read_exact(client, buf, 2);
    close(client);
    close(member);
    struct relay_event end = wait_event(&cursor, RELAY_EV_CLOSED, acc.id);
    CHECK(end.first_ms[0] >= 15 && end.first_ms[0] < 5000, "first from client %f ms",
          end.first_ms[0]);
    CHECK(end.first_ms[1] >= end.first_ms[0], "first from member %f ms before client's %f",
          end.first_ms[1], end.first_ms[0]);
    uint32_t slot = acc.id & 0xffff;
    CHECK(firsts[2 * slot] == end.first_ms[0] && firsts[2 * slot + 1] == end.first_ms[1],
          "live first-byte times %f %f", firsts[2 * slot], firsts[2 * slot + 1]);
    CHECK(tls == logged(from, RELAY_EV_HELLO, acc.id), "HELLO only for TLS (tls %d)", tls);
  }
  relay_engine_stop(e);
  close(lfd);
  close(mfd);
}

int main(void) {
  struct relay_engine *e = relay_engine_start(counters, SLOTS, SLOTS, on_events, NULL);
  CHECK(e != NULL, "start: %s", strerror(errno));
  int expected = 0;

  /* 1. Bytes both ways, half-close each way, our copies closed at once (fd ownership). */
  {
    struct pair p = make_pair();
    CHECK(relay_engine_add(e, 0, p.a, p.b, 0) == 0, "add");
    close(p.a); /* the engine holds dup()s */
    close(p.b);
    char out[100000], in[100000];
    for (size_t i = 0; i < sizeof out; i++) out[i] = (char)(i * 7);
    /* A writer thread would be needed past the socket buffers; 100 kB fits them. */
    CHECK(write(p.client, out, sizeof out) == (ssize_t)sizeof out, "write");
    shutdown(p.client, SHUT_WR);
    read_exact(p.member, in, sizeof in);
    CHECK(memcmp(in, out, sizeof in) == 0, "bytes differ a->b");
    char c;
    CHECK(read(p.member, &c, 1) == 0, "no FIN passed on to the member");
    CHECK(write(p.member, "reply", 5) == 5, "write reply");
    shutdown(p.member, SHUT_WR);
    char r[5];
    read_exact(p.client, r, 5);
    CHECK(memcmp(r, "reply", 5) == 0, "reply differs");
    CHECK(read(p.client, &c, 1) == 0, "no FIN passed on to the client");
    wait_closed(++expected);
    CHECK(events[0].reason == RELAY_DONE, "reason %d", events[0].reason);
    CHECK(events[0].bytes_a_to_b == 100000 && events[0].bytes_b_to_a == 5, "bytes %f %f",
          events[0].bytes_a_to_b, events[0].bytes_b_to_a);
    close(p.client);
    close(p.member);
  }

  /* 2. Registration belongs to the file description: our originals stay open after the
   *    engine closed its dups, then their peers make noise. Without EPOLL_CTL_DEL before
   *    close, events would arrive for freed connections (ASan: heap-use-after-free). */
  {
    struct pair ps[100];
    for (int i = 0; i < 100; i++) {
      ps[i] = make_pair();
      CHECK(relay_engine_add(e, (uint32_t)(1 + i), ps[i].a, ps[i].b, 0) == 0, "add");
    }
    for (int i = 0; i < 100; i++) relay_engine_close(e, (uint32_t)(1 + i));
    expected += 100;
    wait_closed(expected);
    for (int i = 0; i < 100; i++) {
      CHECK(events[1 + i].reason == RELAY_FORCED, "forced");
      if (write(ps[i].client, "noise", 5) < 0) { /* a closed peer is fine */ }
      if (write(ps[i].member, "noise", 5) < 0) { /* idem */ }
    }
    usleep(100000); /* give stale registrations (if any) time to fire: ASan would see it */
    for (int i = 0; i < 100; i++) {
      close(ps[i].a);
      close(ps[i].b);
      close(ps[i].client);
      close(ps[i].member);
    }
  }

  /* 3. Both fds of one connection in one epoll batch: both peers close at once. */
  {
    struct pair ps[300];
    for (int i = 0; i < 300; i++) {
      ps[i] = make_pair();
      CHECK(relay_engine_add(e, (uint32_t)(200 + i), ps[i].a, ps[i].b, 0) == 0, "add");
      close(ps[i].a);
      close(ps[i].b);
    }
    usleep(50000); /* let the thread register them (not needed for correctness) */
    for (int i = 0; i < 300; i++) {
      close(ps[i].client);
      close(ps[i].member);
    }
    expected += 300;
    wait_closed(expected);
  }

  /* 4. Finished before registration: data and both FINs are there before the hand-over. */
  {
    struct pair p = make_pair();
    CHECK(write(p.client, "early", 5) == 5, "write");
    shutdown(p.client, SHUT_WR);
    shutdown(p.member, SHUT_WR);
    CHECK(relay_engine_add(e, 600, p.a, p.b, 0) == 0, "add");
    close(p.a);
    close(p.b);
    char buf[5], c;
    read_exact(p.member, buf, 5);
    CHECK(memcmp(buf, "early", 5) == 0, "early bytes");
    CHECK(read(p.member, &c, 1) == 0, "FIN");
    wait_closed(++expected);
    CHECK(events[600].reason == RELAY_DONE, "reason %d", events[600].reason);
    close(p.client);
    close(p.member);
  }

  /* 5. EAGAIN on the destination and SIGPIPE: the member stops reading, then goes away
   *    while the client still has bytes queued. */
  {
    struct pair p = make_pair();
    fcntl(p.client, F_SETFL, O_NONBLOCK);
    CHECK(relay_engine_add(e, 700, p.a, p.b, 0) == 0, "add");
    close(p.a);
    close(p.b);
    char chunk[65536];
    memset(chunk, 'z', sizeof chunk);
    for (int i = 0; i < 64; i++)
      if (write(p.client, chunk, sizeof chunk) < 0) break; /* EAGAIN: buffers full */
    usleep(50000);
    close(p.member); /* splice into it now fails with EPIPE (and would raise SIGPIPE) */
    wait_closed(++expected);
    CHECK(events[700].reason == RELAY_ERROR, "reason %d", events[700].reason);
    close(p.client);
  }

  /* 6. Idle timeout. */
  {
    struct pair p = make_pair();
    CHECK(relay_engine_add(e, 800, p.a, p.b, 100) == 0, "add");
    close(p.a);
    close(p.b);
    wait_closed(++expected);
    CHECK(events[800].reason == RELAY_IDLE, "reason %d", events[800].reason);
    close(p.client);
    close(p.member);
  }

  /* 7. Stop with live connections: each is reported as stopped, nothing leaks. */
  {
    struct pair ps[10];
    for (int i = 0; i < 10; i++) {
      ps[i] = make_pair();
      CHECK(relay_engine_add(e, (uint32_t)(900 + i), ps[i].a, ps[i].b, 0) == 0, "add");
      close(ps[i].a);
      close(ps[i].b);
    }
    relay_engine_stop(e);
    expected += 10;
    wait_closed(expected);
    for (int i = 0; i < 10; i++) {
      CHECK(events[900 + i].reason == RELAY_STOPPED, "reason");
      close(ps[i].client);
      close(ps[i].member);
    }
  }

  for (int s = 0; s < SLOTS; s++) CHECK(closed[s] <= 1, "slot %d closed %d times", s, closed[s]);
  accept_cases();
  trace_cases();
  printf("relay_test: all passed (%d relayed connections, native accept cases 8-17, "
         "tracing 18)\n",
         expected);
  return 0;
}
