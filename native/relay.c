/*
 * The relay thread: epoll (edge-triggered) + splice(2) through one pipe per direction.
 * See relay.h for the interface and the threading rules. The pitfalls this file guards
 * against, each covered by a test (test/proxy/native-relay.test.ts, native/test):
 *   1. fd ownership: relay_engine_add dup()s both fds, so the JS sockets can be
 *      destroyed at once without closing ours.
 *   2. An epoll registration belongs to the open file description, not the fd: closing
 *      our dup while another fd (a JS socket not yet destroyed) shares the description
 *      leaves the registration alive, and its events would point at freed memory. So
 *      every fd is EPOLL_CTL_DEL'ed before it is closed.
 *   3. Both fds of one connection can be in the same epoll batch: a connection finished
 *      by the first event is only marked closed and put on a dead list; it is freed after
 *      the batch, and events for closed connections are skipped.
 *   4. Connections are registered only by the relay thread, from a queue woken through
 *      an eventfd, so a connection that finishes before both its fds are registered (or
 *      that is already finished when handed over) cannot race with event processing.
 *   5. splice returns EAGAIN for the socket or the pipe: we only read from a socket when
 *      the direction's pipe is empty, so EAGAIN on the read means the socket is empty,
 *      and EAGAIN on the write means the destination is full (wait for its EPOLLOUT).
 *   6. SIGPIPE: splice into a socket whose peer is gone raises SIGPIPE (splice has no
 *      MSG_NOSIGNAL); the relay thread blocks every signal and SIGPIPE is ignored.
 */
#define _GNU_SOURCE
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Bytes asked of one splice from a socket (the default pipe holds 64 KiB). */
#define CHUNK (64 * 1024)
/* Splice rounds per direction per wakeup before other connections get a turn. */
#define BUDGET 16
#define MAX_EVENTS 256

struct conn;

/* One socket of a connection; epoll's data.ptr points here. */
struct endpoint {
  struct conn *c;
  int fd;
  int registered;
};

/* One direction: bytes read from one socket wait in the pipe until written to the other. */
struct direction {
  int pipe_r, pipe_w;
  size_t pending;  /* bytes in the pipe */
  int src_eof;     /* the source sent FIN */
  int shut;        /* FIN passed on (shutdown(SHUT_WR) of the destination) */
  double bytes;    /* bytes delivered to the destination */
};

struct conn {
  struct endpoint ep[2]; /* 0 = a, 1 = b */
  struct direction d[2]; /* 0 = a -> b, 1 = b -> a */
  uint32_t slot;
  uint32_t idle_ms;
  int64_t active_at_ms;
  int closed;
  int again;             /* on the ready list: its budget ran out with work left */
  struct conn *prev, *next; /* live list */
  struct conn *dead_link;   /* dead list (freed after the batch) */
  struct conn *ready_link;  /* ready list */
};

enum cmd_type { CMD_ADD, CMD_CLOSE, CMD_STOP };

struct cmd {
  enum cmd_type type;
  uint32_t slot;
  uint32_t idle_ms;
  int fd[2];
  int pipe_fd[2][2];
  struct cmd *next;
};

struct relay_engine {
  int epfd, evfd;
  pthread_t thread;
  pthread_mutex_t mu;
  struct cmd *head, *tail; /* guarded by mu */
  /* Relay-thread state below. */
  double *counters;
  uint32_t capacity;
  struct conn **by_slot;
  struct conn *live;
  uint32_t live_count;
  uint32_t min_idle_ms;
  struct conn *dead;
  struct conn *ready;
  int64_t now_ms;
  int64_t swept_at_ms;
  int stopping;
  relay_close_cb on_close;
  void *ctx;
};

static int64_t monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_quietly(int fd) {
  if (fd >= 0) close(fd);
}

/* Deregisters (pitfall 2) and closes every fd, reports the close, defers the free (3). */
static void finish(struct relay_engine *e, struct conn *c, enum relay_reason reason,
                   int err) {
  if (c->closed) return;
  c->closed = 1;
  for (int i = 0; i < 2; i++) {
    if (c->ep[i].registered) epoll_ctl(e->epfd, EPOLL_CTL_DEL, c->ep[i].fd, NULL);
    close_quietly(c->ep[i].fd);
    close_quietly(c->d[i].pipe_r);
    close_quietly(c->d[i].pipe_w);
  }
  if (c->prev != NULL) c->prev->next = c->next;
  else e->live = c->next;
  if (c->next != NULL) c->next->prev = c->prev;
  e->by_slot[c->slot] = NULL;
  e->live_count--;
  if (e->live_count == 0) e->min_idle_ms = 0;
  e->counters[2 * c->slot] = c->d[0].bytes;
  e->counters[2 * c->slot + 1] = c->d[1].bytes;
  struct relay_event ev = {c->slot, reason, err, c->d[0].bytes, c->d[1].bytes};
  e->on_close(e->ctx, &ev);
  c->dead_link = e->dead;
  e->dead = c;
}

/*
 * Moves what it can in direction i. Returns 0 when it must wait for an event (or the
 * direction is finished), 1 when the budget ran out with work left, -errno on error.
 */
static int move(struct relay_engine *e, struct conn *c, int i) {
  struct direction *d = &c->d[i];
  int src = c->ep[i].fd, dst = c->ep[1 - i].fd;
  for (int round = 0; round < BUDGET; round++) {
    if (d->pending > 0) {
      ssize_t n = splice(d->pipe_r, NULL, dst, NULL, d->pending,
                         SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return 0; /* destination full: wait for its EPOLLOUT */
        return -errno;
      }
      d->pending -= (size_t)n;
      d->bytes += (double)n;
      e->counters[2 * c->slot + i] = d->bytes;
      c->active_at_ms = e->now_ms;
      continue;
    }
    if (d->src_eof) {
      if (!d->shut) {
        d->shut = 1;
        /* ENOTCONN: the destination is already gone; the other direction will say so. */
        if (shutdown(dst, SHUT_WR) < 0 && errno != ENOTCONN) return -errno;
      }
      return 0;
    }
    /* The pipe is empty here, so EAGAIN can only mean the source has nothing (5). */
    ssize_t n = splice(src, NULL, d->pipe_w, NULL, CHUNK, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) {
      d->pending = (size_t)n;
      c->active_at_ms = e->now_ms;
    } else if (n == 0) {
      d->src_eof = 1;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN) {
      return 0;
    } else {
      return -errno;
    }
  }
  return 1;
}

/* Runs both directions; finishes the connection when both are done or one failed. */
static void pump(struct relay_engine *e, struct conn *c) {
  int more = 0;
  for (int i = 0; i < 2; i++) {
    int r = move(e, c, i);
    if (r < 0) {
      finish(e, c, RELAY_ERROR, -r);
      return;
    }
    more |= r;
  }
  if (c->d[0].shut && c->d[1].shut) {
    finish(e, c, RELAY_DONE, 0);
  } else if (more && !c->again) {
    /* Edge-triggered: no new event will come for data already there, so come back. */
    c->again = 1;
    c->ready_link = e->ready;
    e->ready = c;
  }
}

static void add_conn(struct relay_engine *e, struct cmd *cmd) {
  struct conn *c = calloc(1, sizeof *c);
  if (c == NULL || e->by_slot[cmd->slot] != NULL) {
    /* Out of memory, or the owner reused a live slot (a bug): refuse, report, close. */
    struct relay_event ev = {cmd->slot, RELAY_ERROR, c == NULL ? ENOMEM : EBUSY, 0, 0};
    for (int i = 0; i < 2; i++) {
      close(cmd->fd[i]);
      close(cmd->pipe_fd[i][0]);
      close(cmd->pipe_fd[i][1]);
    }
    free(c);
    e->on_close(e->ctx, &ev);
    return;
  }
  c->slot = cmd->slot;
  c->idle_ms = cmd->idle_ms;
  c->active_at_ms = e->now_ms;
  for (int i = 0; i < 2; i++) {
    c->ep[i].c = c;
    c->ep[i].fd = cmd->fd[i];
    c->d[i].pipe_r = cmd->pipe_fd[i][0];
    c->d[i].pipe_w = cmd->pipe_fd[i][1];
  }
  c->next = e->live;
  if (e->live != NULL) e->live->prev = c;
  e->live = c;
  e->by_slot[c->slot] = c;
  e->live_count++;
  if (c->idle_ms > 0 && (e->min_idle_ms == 0 || c->idle_ms < e->min_idle_ms))
    e->min_idle_ms = c->idle_ms;
  e->counters[2 * c->slot] = 0;
  e->counters[2 * c->slot + 1] = 0;
  for (int i = 0; i < 2; i++) {
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                             .data.ptr = &c->ep[i]};
    if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, c->ep[i].fd, &ev) < 0) {
      finish(e, c, RELAY_ERROR, errno);
      return;
    }
    c->ep[i].registered = 1;
  }
  /* Bytes (or a FIN) may have arrived before registration: look now (4). */
  pump(e, c);
}

static void run_commands(struct relay_engine *e) {
  uint64_t n;
  if (read(e->evfd, &n, sizeof n) < 0) {
    /* EAGAIN: another wakeup already drained it; the queue is read below regardless. */
  }
  pthread_mutex_lock(&e->mu);
  struct cmd *list = e->head;
  e->head = e->tail = NULL;
  pthread_mutex_unlock(&e->mu);
  while (list != NULL) {
    struct cmd *cmd = list;
    list = cmd->next;
    switch (cmd->type) {
    case CMD_ADD:
      add_conn(e, cmd);
      break;
    case CMD_CLOSE: {
      /* NULL: it already finished and its close event is on the way. */
      struct conn *c = e->by_slot[cmd->slot];
      if (c != NULL) finish(e, c, RELAY_FORCED, 0);
      break;
    }
    case CMD_STOP:
      e->stopping = 1;
      break;
    }
    free(cmd);
  }
}

static void free_dead(struct relay_engine *e) {
  while (e->dead != NULL) {
    struct conn *c = e->dead;
    e->dead = c->dead_link;
    free(c);
  }
}

/* Idle timeout: closes connections with no byte either way for their idle_ms. */
static void sweep(struct relay_engine *e) {
  struct conn *c = e->live;
  while (c != NULL) {
    struct conn *next = c->next;
    if (c->idle_ms > 0 && e->now_ms - c->active_at_ms >= (int64_t)c->idle_ms)
      finish(e, c, RELAY_IDLE, 0);
    c = next;
  }
  e->swept_at_ms = e->now_ms;
}

/* An eighth of the shortest idle timeout, within [10 ms, 1 s] (as the JS sweeper). */
static int sweep_period_ms(const struct relay_engine *e) {
  if (e->min_idle_ms == 0) return 1000;
  uint32_t p = e->min_idle_ms / 8;
  return p < 10 ? 10 : p > 1000 ? 1000 : (int)p;
}

static void *thread_main(void *arg) {
  struct relay_engine *e = arg;
  struct epoll_event events[MAX_EVENTS];
  e->now_ms = e->swept_at_ms = monotonic_ms();
  while (!e->stopping) {
    int timeout = e->ready != NULL ? 0 : e->live_count > 0 ? sweep_period_ms(e) : -1;
    int n = epoll_wait(e->epfd, events, MAX_EVENTS, timeout);
    if (n < 0 && errno != EINTR) break; /* EBADF/EINVAL: cannot happen with our own fd */
    e->now_ms = monotonic_ms();
    for (int k = 0; k < n; k++) {
      struct endpoint *ep = events[k].data.ptr;
      if (ep == NULL) {
        run_commands(e);
      } else if (!ep->c->closed) {
        pump(e, ep->c);
      }
    }
    if (e->now_ms - e->swept_at_ms >= sweep_period_ms(e)) sweep(e);
    /* Connections whose budget ran out get another round (closed ones drop out here,
     * before free_dead, so the new ready list holds live connections only). */
    struct conn *ready = e->ready;
    e->ready = NULL;
    while (ready != NULL) {
      struct conn *c = ready;
      ready = c->ready_link;
      c->again = 0;
      if (!c->closed) pump(e, c);
    }
    free_dead(e);
  }
  while (e->live != NULL) finish(e, e->live, RELAY_STOPPED, 0);
  free_dead(e);
  return NULL;
}

static void enqueue(struct relay_engine *e, struct cmd *cmd) {
  cmd->next = NULL;
  pthread_mutex_lock(&e->mu);
  if (e->tail != NULL) e->tail->next = cmd;
  else e->head = cmd;
  e->tail = cmd;
  pthread_mutex_unlock(&e->mu);
  uint64_t one = 1;
  /* Can only fail with EAGAIN when the counter is near 2^64: then it is signalled anyway. */
  if (write(e->evfd, &one, sizeof one) < 0) return;
}

struct relay_engine *relay_engine_start(double *counters, uint32_t capacity,
                                        relay_close_cb on_close, void *ctx) {
  struct sigaction old;
  /* Pitfall 6: Node already ignores SIGPIPE; a plain C host may not. */
  if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
    signal(SIGPIPE, SIG_IGN);
  struct relay_engine *e = calloc(1, sizeof *e);
  if (e == NULL) return NULL;
  e->by_slot = calloc(capacity, sizeof *e->by_slot);
  e->counters = counters;
  e->capacity = capacity;
  e->on_close = on_close;
  e->ctx = ctx;
  e->epfd = epoll_create1(EPOLL_CLOEXEC);
  e->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  pthread_mutex_init(&e->mu, NULL);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  int saved = 0;
  if (e->by_slot == NULL || e->epfd < 0 || e->evfd < 0 ||
      epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->evfd, &ev) < 0) {
    saved = e->by_slot == NULL ? ENOMEM : errno;
  } else {
    /* Every signal blocked on the relay thread: they belong to the JS thread (6). */
    sigset_t all, prev;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &prev);
    saved = pthread_create(&e->thread, NULL, thread_main, e);
    pthread_sigmask(SIG_SETMASK, &prev, NULL);
    if (saved == 0) return e;
  }
  close_quietly(e->epfd);
  close_quietly(e->evfd);
  pthread_mutex_destroy(&e->mu);
  free(e->by_slot);
  free(e);
  errno = saved;
  return NULL;
}

int relay_engine_add(struct relay_engine *e, uint32_t slot, int fd_a, int fd_b,
                     uint32_t idle_ms) {
  if (slot >= e->capacity) return -EINVAL;
  struct cmd *cmd = calloc(1, sizeof *cmd);
  if (cmd == NULL) return -ENOMEM;
  cmd->type = CMD_ADD;
  cmd->slot = slot;
  cmd->idle_ms = idle_ms;
  int src[2] = {fd_a, fd_b};
  int made = 0, err = 0;
  /* Pitfall 1: our own descriptors, so the caller may close (destroy) its sockets. */
  for (; made < 2; made++) {
    cmd->fd[made] = fcntl(src[made], F_DUPFD_CLOEXEC, 0);
    if (cmd->fd[made] < 0) {
      err = errno;
      break;
    }
    if (pipe2(cmd->pipe_fd[made], O_NONBLOCK | O_CLOEXEC) < 0) {
      err = errno;
      close(cmd->fd[made]);
      break;
    }
  }
  if (err != 0) {
    for (int i = 0; i < made; i++) {
      close(cmd->fd[i]);
      close(cmd->pipe_fd[i][0]);
      close(cmd->pipe_fd[i][1]);
    }
    free(cmd);
    return -err;
  }
  enqueue(e, cmd);
  return 0;
}

int relay_engine_close(struct relay_engine *e, uint32_t slot) {
  if (slot >= e->capacity) return -EINVAL;
  struct cmd *cmd = calloc(1, sizeof *cmd);
  if (cmd == NULL) return -ENOMEM;
  cmd->type = CMD_CLOSE;
  cmd->slot = slot;
  enqueue(e, cmd);
  return 0;
}

void relay_engine_stop(struct relay_engine *e) {
  struct cmd *cmd = calloc(1, sizeof *cmd);
  if (cmd != NULL) {
    cmd->type = CMD_STOP;
    enqueue(e, cmd);
  } else {
    e->stopping = 1; /* best effort; the thread sees it after its next wakeup */
    uint64_t one = 1;
    if (write(e->evfd, &one, sizeof one) < 0) { /* see enqueue */ }
  }
  pthread_join(e->thread, NULL);
  /* Commands queued after STOP (none in normal use): release their descriptors. */
  for (struct cmd *c = e->head; c != NULL;) {
    struct cmd *next = c->next;
    if (c->type == CMD_ADD) {
      for (int i = 0; i < 2; i++) {
        close(c->fd[i]);
        close(c->pipe_fd[i][0]);
        close(c->pipe_fd[i][1]);
      }
    }
    free(c);
    c = next;
  }
  close(e->epfd);
  close(e->evfd);
  pthread_mutex_destroy(&e->mu);
  free(e->by_slot);
  free(e);
}
