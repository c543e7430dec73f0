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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
static struct relay_event events[SLOTS];
static int closed[SLOTS];
static int nclosed;

static void on_close(void *ctx, const struct relay_event *ev) {
  (void)ctx;
  pthread_mutex_lock(&mu);
  events[ev->slot] = *ev;
  closed[ev->slot]++;
  nclosed++;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
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

int main(void) {
  struct relay_engine *e = relay_engine_start(counters, SLOTS, on_close, NULL);
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
  printf("relay_test: all passed (%d connections)\n", expected);
  return 0;
}
