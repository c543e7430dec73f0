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
 * Native accept and connect (issue #14 step two): a connection accepted here waits
 * (PENDING) for the owner's verdict, connects (CONNECTING) to the address it names,
 * and only then relays. The client fd is registered at accept so a client that resets
 * while it waits is closed and reported at once; its bytes (and FIN) wait in the kernel
 * until the relay starts, which looks at once (4).
 */
#define _GNU_SOURCE
#include "relay.h"
#include "proxy_header.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
/* Connections accepted per listener per wakeup before others get a turn. */
#define ACCEPT_BATCH 64
/* Empty pipes kept for reuse while any connection is open (each is 2 fds). */
#define PIPE_POOL 64
/* How long a listener rests after accept4 ran out of fds or memory. */
#define ACCEPT_PAUSE_MS 100

struct conn;

/* What epoll's data.ptr points at: the first field of an endpoint or a listener. */
enum watch_kind { WATCH_ENDPOINT = 1, WATCH_LISTENER = 2 };

/* One socket of a connection; epoll's data.ptr points here. */
struct endpoint {
  enum watch_kind kind;
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

/* PENDING: accepted, waiting for a verdict; CONNECTING: member leg in progress. */
enum conn_state { C_PENDING, C_CONNECTING, C_RELAYING };

struct conn {
  struct endpoint ep[2]; /* 0 = a (client), 1 = b (member) */
  struct direction d[2]; /* 0 = a -> b, 1 = b -> a */
  uint32_t id;
  uint32_t slot;
  enum conn_state state;
  uint32_t idle_ms;
  uint32_t connect_ms;
  int64_t active_at_ms;
  struct timespec connect_started;
  int closed;
  int again;             /* on the ready list: its budget ran out with work left */
  int closer;            /* first side to send FIN, -1 none yet (the access log's closer) */
  int err_side;          /* side whose socket failed (RELAY_ERROR), -1 unknown */
  struct conn *prev, *next; /* live list */
  struct conn *dead_link;   /* dead list (freed after the batch) */
  struct conn *ready_link;  /* ready list */
  /* Tracing (relay_engine_trace) only: */
  int traced;                     /* relaying_since is set */
  int hello_done;                 /* the client's first bytes were peeked (or cannot be) */
  struct timespec relaying_since;
  double first_ms[2];             /* relaying_since to the first byte read from a, b */
  struct relay_header header; /* PROXY protocol header for the member (proxy_header.h) */
};

/* A listening socket; epoll's data.ptr points here. fd is guarded by the engine's lmu. */
struct listener {
  enum watch_kind kind;
  uint32_t index;
  int fd;          /* our dup, -1 when not listening */
  int paused;      /* out of fds: deregistered until the engine's resume_at_ms */
};

enum cmd_type { CMD_ADD, CMD_CLOSE, CMD_STOP, CMD_VERDICT, CMD_TRACE };

struct cmd {
  enum cmd_type type;
  uint32_t slot; /* CMD_ADD: slot; CMD_CLOSE: id */
  uint32_t idle_ms;
  int fd[2];
  int pipe_fd[2][2];
  struct relay_verdict verdict; /* CMD_VERDICT (header: see `header`) */
  struct relay_header header;   /* CMD_VERDICT: the verdict's header, copied at submit */
  double *firsts;               /* CMD_TRACE */
  struct cmd *next;
};

struct relay_engine {
  int epfd, evfd;
  pthread_t thread;
  pthread_mutex_t mu;
  struct cmd *head, *tail; /* guarded by mu */
  pthread_mutex_t lmu;     /* guards listeners[].fd against unlisten during an accept */
  struct listener listeners[RELAY_MAX_LISTENERS];
  /* Relay-thread state below. */
  double *counters;
  uint32_t capacity;
  uint32_t accept_base;
  uint16_t *gen;          /* generation per slot (accepted connections) */
  uint32_t *free_slots;   /* stack of free accept slots */
  uint32_t free_count;
  int listeners_paused;    /* written by the relay thread under lmu */
  int pool[PIPE_POOL][2];  /* empty pipes: a direction holds one only while bytes wait */
  uint32_t pooled;
  int64_t resume_at_ms;   /* when paused listeners are registered again */
  struct relay_event *out; /* events of this loop iteration */
  uint32_t out_len, out_cap;
  uint32_t min_connect_ms;
  struct conn **by_slot;
  struct conn *live;
  uint32_t live_count;
  uint32_t min_idle_ms;
  struct conn *dead;
  struct conn *ready;
  int64_t now_ms;
  int64_t swept_at_ms;
  int stopping;
  relay_events_cb on_events;
  void *ctx;
  double *firsts;          /* tracing on: first-byte times per slot (relay_engine_trace) */
};

static int64_t monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_quietly(int fd) {
  if (fd >= 0) close(fd);
}

/* Queues an event for the end of this loop iteration (flush); drops it without memory. */
static struct relay_event *emit(struct relay_engine *e, enum relay_event_type type,
                                uint32_t id) {
  if (e->out_len == e->out_cap) {
    uint32_t cap = e->out_cap == 0 ? 64 : 2 * e->out_cap;
    struct relay_event *grown = realloc(e->out, cap * sizeof *grown);
    if (grown == NULL) return NULL;
    e->out = grown;
    e->out_cap = cap;
  }
  struct relay_event *ev = &e->out[e->out_len++];
  memset(ev, 0, sizeof *ev);
  ev->type = type;
  ev->id = id;
  return ev;
}

static void release_hellos(struct relay_engine *e);

/* One callback per loop iteration carries every event to the owner (addon: one JS call). */
static void flush(struct relay_engine *e) {
  if (e->out_len == 0) return;
  e->on_events(e->ctx, e->out, e->out_len);
  release_hellos(e);
  e->out_len = 0;
}

static double ms_since(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/*
 * Tracing for the access log (relay_engine_trace), kept apart from the relay itself: with
 * it off (e->firsts NULL) none of this runs. Nothing here is per byte: one clock read when
 * a connection starts relaying and one per direction at its first byte, one getsockname
 * per accept, and one MSG_PEEK of the client's first read, which never waits for more.
 */

/* Starts the first-byte clock of a connection that relays from now on. */
static void trace_relaying(struct relay_engine *e, struct conn *c) {
  c->traced = 1;
  clock_gettime(CLOCK_MONOTONIC, &c->relaying_since);
  e->firsts[2 * c->slot] = 0;
  e->firsts[2 * c->slot + 1] = 0;
}

/* The first byte was read from side i: when, after relaying started (0 stays "none"). */
static void note_first_byte(struct relay_engine *e, struct conn *c, int i) {
  double ms = ms_since(&c->relaying_since);
  if (ms < 0.001) ms = 0.001;
  c->first_ms[i] = ms;
  e->firsts[2 * c->slot + i] = ms;
}

/*
 * Peeks the client's first bytes once, right before the first splice from it would read
 * them, and reports them (HELLO) when they start a TLS handshake record: TypeScript reads
 * the SNI from them (src/proxy/sni.ts). Returns 0 when the socket holds nothing yet (as a
 * splice would have said with EAGAIN: wait for its event), 1 to splice. What is peeked is
 * what is already there, as the JS path's first chunk: a ClientHello split over reads
 * gives its first part, and no byte is held back waiting for the rest.
 */
static int peek_hello(struct relay_engine *e, struct conn *c, int fd) {
  unsigned char buf[RELAY_HELLO_MAX];
  ssize_t n = recv(fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
  c->hello_done = 1; /* bytes, a FIN or an error: the splice sees them as well */
  if (n < 5 || buf[0] != 22) return 1; /* not a TLS handshake record (RFC 8446 §5.1) */
  size_t len = 5 + ((size_t)buf[3] << 8 | buf[4]);
  if (len > (size_t)n) len = (size_t)n;
  unsigned char *copy = malloc(len);
  if (copy == NULL) return 1; /* no SNI in the log; the relay goes on */
  memcpy(copy, buf, len);
  struct relay_event *ev = emit(e, RELAY_EV_HELLO, c->id);
  if (ev == NULL) {
    free(copy);
    return 1;
  }
  ev->hello = copy;
  ev->hello_len = (uint32_t)len;
  return 1;
}

/* The owner has had the batch: the HELLO copies are freed (valid during the call only). */
static void release_hellos(struct relay_engine *e) {
  for (uint32_t k = 0; k < e->out_len; k++) {
    if (e->out[k].type == RELAY_EV_HELLO) free((void *)e->out[k].hello);
  }
}

/*
 * Pipes are borrowed per direction only while bytes wait in them: an idle relay holds
 * its two sockets (2 fds, not 6), and short connections reuse pipes instead of making
 * and closing two each. pending == 0 means empty: it counts every byte in and out.
 */
static int borrow_pipe(struct relay_engine *e, struct direction *d) {
  if (e->pooled > 0) {
    e->pooled--;
    d->pipe_r = e->pool[e->pooled][0];
    d->pipe_w = e->pool[e->pooled][1];
    return 0;
  }
  int p[2];
  if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0) return errno;
  d->pipe_r = p[0];
  d->pipe_w = p[1];
  return 0;
}

/* Gives an empty pipe back to the pool; one still holding bytes (an error) is closed. */
static void return_pipe(struct relay_engine *e, struct direction *d) {
  if (d->pipe_r < 0) return;
  if (d->pending == 0 && e->pooled < PIPE_POOL) {
    e->pool[e->pooled][0] = d->pipe_r;
    e->pool[e->pooled][1] = d->pipe_w;
    e->pooled++;
  } else {
    close(d->pipe_r);
    close(d->pipe_w);
  }
  d->pipe_r = d->pipe_w = -1;
}

static void trim_pipes(struct relay_engine *e) {
  while (e->pooled > 0) {
    e->pooled--;
    close(e->pool[e->pooled][0]);
    close(e->pool[e->pooled][1]);
  }
}

/*
 * Deregisters (pitfall 2) and closes every fd, reports the close, defers the free (3).
 * Even sockets this thread accepted or connected are DEL'ed: a fork() elsewhere in the
 * process (child_process.spawn before its exec) briefly shares every description, and
 * a registration outliving our close would report events for freed memory.
 */
static void finish(struct relay_engine *e, struct conn *c, enum relay_reason reason,
                   int err) {
  if (c->closed) return;
  c->closed = 1;
  for (int i = 0; i < 2; i++) {
    if (c->ep[i].registered)
      epoll_ctl(e->epfd, EPOLL_CTL_DEL, c->ep[i].fd, NULL);
    close_quietly(c->ep[i].fd);
    return_pipe(e, &c->d[i]);
  }
  if (c->prev != NULL) c->prev->next = c->next;
  else e->live = c->next;
  if (c->next != NULL) c->next->prev = c->prev;
  e->by_slot[c->slot] = NULL;
  if (c->slot >= e->accept_base) e->free_slots[e->free_count++] = c->slot;
  e->live_count--;
  if (e->live_count == 0) {
    e->min_idle_ms = e->min_connect_ms = 0;
    trim_pipes(e); /* nothing open: hold no fd beyond the listeners */
  }
  e->counters[2 * c->slot] = c->d[0].bytes;
  e->counters[2 * c->slot + 1] = c->d[1].bytes;
  struct relay_event *ev = emit(e, RELAY_EV_CLOSED, c->id);
  if (ev != NULL) {
    ev->reason = reason;
    ev->err = err;
    ev->bytes_a_to_b = c->d[0].bytes;
    ev->bytes_b_to_a = c->d[1].bytes;
    ev->closer = reason == RELAY_ERROR ? c->err_side : c->closer;
    ev->first_ms[0] = c->first_ms[0];
    ev->first_ms[1] = c->first_ms[1];
  }
  c->dead_link = e->dead;
  e->dead = c;
}

/*
 * Moves what it can in direction i. Returns 0 when it must wait for an event (or the
 * direction is finished), 1 when the budget ran out with work left, -errno on error.
 */
static int move_some(struct relay_engine *e, struct conn *c, int i) {
  struct direction *d = &c->d[i];
  int src = c->ep[i].fd, dst = c->ep[1 - i].fd;
  for (int round = 0; round < BUDGET; round++) {
    if (d->pending > 0) {
      ssize_t n = splice(d->pipe_r, NULL, dst, NULL, d->pending,
                         SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return 0; /* destination full: wait for its EPOLLOUT */
        c->err_side = 1 - i;
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
        if (shutdown(dst, SHUT_WR) < 0 && errno != ENOTCONN) {
          c->err_side = 1 - i;
          return -errno;
        }
      }
      return 0;
    }
    if (d->pipe_w < 0) {
      int err = borrow_pipe(e, d);
      if (err != 0) return -err;
    }
    /* The peek replaces the splice that would have found nothing (EAGAIN). */
    if (i == 0 && c->traced && !c->hello_done && !peek_hello(e, c, src)) return 0;
    /* The pipe is empty here, so EAGAIN can only mean the source has nothing (5). */
    ssize_t n = splice(src, NULL, d->pipe_w, NULL, CHUNK, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) {
      if (c->traced && c->first_ms[i] == 0) note_first_byte(e, c, i);
      d->pending = (size_t)n;
      c->active_at_ms = e->now_ms;
    } else if (n == 0) {
      d->src_eof = 1;
      if (c->closer < 0) c->closer = i;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN) {
      return 0;
    } else {
      c->err_side = i;
      return -errno;
    }
  }
  return 1;
}

/* move_some, then the direction's pipe goes back to the pool if it is empty. */
static int move(struct relay_engine *e, struct conn *c, int i) {
  int r = move_some(e, c, i);
  if (c->d[i].pending == 0) return_pipe(e, &c->d[i]);
  return r;
}

/* Runs both directions; finishes the connection when both are done or one failed. */
static void pump(struct relay_engine *e, struct conn *c) {
  int more = 0;
  if (e->firsts != NULL && !c->traced) trace_relaying(e, c);
  /* The PROXY header precedes every client byte: a→b waits until it is all written. */
  int header_done = 1;
  if (relay_header_pending(&c->header)) {
    int r = relay_header_write(&c->header, c->ep[1].fd, c->ep[0].fd);
    if (r < 0) {
      c->err_side = 1;
      finish(e, c, RELAY_ERROR, -r);
      return;
    }
    header_done = r;
  }
  for (int i = header_done ? 0 : 1; i < 2; i++) {
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

/* Links a new connection into the live list and the slot table. */
static void link_conn(struct relay_engine *e, struct conn *c) {
  c->next = e->live;
  if (e->live != NULL) e->live->prev = c;
  e->live = c;
  e->by_slot[c->slot] = c;
  e->live_count++;
  e->counters[2 * c->slot] = 0;
  e->counters[2 * c->slot + 1] = 0;
}

/* Registers one endpoint (both directions, edge-triggered); 0 or errno. */
static int watch(struct relay_engine *e, struct endpoint *ep) {
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                           .data.ptr = ep};
  if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, ep->fd, &ev) < 0) return errno;
  ep->registered = 1;
  return 0;
}

static void note_idle(struct relay_engine *e, uint32_t idle_ms) {
  if (idle_ms > 0 && (e->min_idle_ms == 0 || idle_ms < e->min_idle_ms))
    e->min_idle_ms = idle_ms;
}

static struct conn *new_conn(void) {
  struct conn *c = calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  c->closer = c->err_side = -1;
  for (int i = 0; i < 2; i++) {
    c->ep[i].kind = WATCH_ENDPOINT;
    c->ep[i].c = c;
    c->ep[i].fd = -1;
    c->d[i].pipe_r = c->d[i].pipe_w = -1;
  }
  return c;
}

static void add_conn(struct relay_engine *e, struct cmd *cmd) {
  struct conn *c = new_conn();
  if (c == NULL || e->by_slot[cmd->slot] != NULL) {
    /* Out of memory, or the owner reused a live slot (a bug): refuse, report, close. */
    for (int i = 0; i < 2; i++) {
      close(cmd->fd[i]);
      close(cmd->pipe_fd[i][0]);
      close(cmd->pipe_fd[i][1]);
    }
    free(c);
    struct relay_event *ev = emit(e, RELAY_EV_CLOSED, cmd->slot);
    if (ev != NULL) {
      ev->reason = RELAY_ERROR;
      ev->err = c == NULL ? ENOMEM : EBUSY;
      ev->closer = -1;
    }
    return;
  }
  c->id = c->slot = cmd->slot;
  c->state = C_RELAYING;
  c->idle_ms = cmd->idle_ms;
  c->active_at_ms = e->now_ms;
  for (int i = 0; i < 2; i++) {
    c->ep[i].fd = cmd->fd[i];
    c->d[i].pipe_r = cmd->pipe_fd[i][0];
    c->d[i].pipe_w = cmd->pipe_fd[i][1];
  }
  link_conn(e, c);
  note_idle(e, c->idle_ms);
  for (int i = 0; i < 2; i++) {
    int err = watch(e, &c->ep[i]);
    if (err != 0) {
      finish(e, c, RELAY_ERROR, err);
      return;
    }
  }
  /* Bytes (or a FIN) may have arrived before registration: look now (4). */
  pump(e, c);
}

/* Client address as Node's remoteAddress gives it ("::ffff:1.2.3.4" on a v6 socket). */
static void format_peer(const struct sockaddr_storage *ss, char *out, uint32_t *port) {
  const void *src = NULL;
  *port = 0;
  if (ss->ss_family == AF_INET) {
    src = &((const struct sockaddr_in *)ss)->sin_addr;
    *port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
  } else if (ss->ss_family == AF_INET6) {
    src = &((const struct sockaddr_in6 *)ss)->sin6_addr;
    *port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
  }
  if (src == NULL || inet_ntop(ss->ss_family, src, out, RELAY_PEER_LEN) == NULL) out[0] = 0;
}

/* Tracing: the address and port the client connected to, formatted as its peer's. */
static void note_local(int fd, struct relay_event *ev) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
    format_peer(&ss, ev->local, &ev->local_port);
}

static void pause_listeners(struct relay_engine *e) {
  pthread_mutex_lock(&e->lmu);
  for (int i = 0; i < RELAY_MAX_LISTENERS; i++) {
    struct listener *l = &e->listeners[i];
    if (l->fd >= 0 && !l->paused) {
      epoll_ctl(e->epfd, EPOLL_CTL_DEL, l->fd, NULL);
      l->paused = 1;
    }
  }
  /* Under lmu: relay_engine_listen reads it to register a new listener or leave it to
   * resume_listeners. */
  e->listeners_paused = 1;
  pthread_mutex_unlock(&e->lmu);
  e->resume_at_ms = e->now_ms + ACCEPT_PAUSE_MS;
}

static void resume_listeners(struct relay_engine *e) {
  pthread_mutex_lock(&e->lmu);
  for (int i = 0; i < RELAY_MAX_LISTENERS; i++) {
    struct listener *l = &e->listeners[i];
    if (l->fd >= 0 && l->paused) {
      struct epoll_event ev = {.events = EPOLLIN, .data.ptr = l};
      epoll_ctl(e->epfd, EPOLL_CTL_ADD, l->fd, &ev);
    }
    l->paused = 0;
  }
  e->listeners_paused = 0;
  pthread_mutex_unlock(&e->lmu);
}

/*
 * Accepts up to ACCEPT_BATCH connections (the listener is level-triggered: the rest
 * come at the next wakeup). Each is registered and reported ACCEPTED; with every slot in
 * use it is closed and reported with RELAY_NO_ID (the owner counts a limit rejection).
 */
static void accept_batch(struct relay_engine *e, struct listener *l) {
  pthread_mutex_lock(&e->lmu); /* unlisten cannot close the fd under us */
  for (int k = 0; k < ACCEPT_BATCH && l->fd >= 0; k++) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        /* The connection stays queued; rest instead of spinning on a level-triggered fd. */
        pthread_mutex_unlock(&e->lmu);
        pause_listeners(e);
        return;
      }
      break; /* EAGAIN: the queue is empty (another process may have taken it) */
    }
    struct relay_event *ev;
    struct conn *c = e->free_count > 0 ? new_conn() : NULL;
    if (c == NULL) {
      close(fd);
      ev = emit(e, RELAY_EV_ACCEPTED, RELAY_NO_ID);
      if (ev != NULL) ev->listener = l->index;
      continue;
    }
    c->slot = e->free_slots[--e->free_count];
    c->id = c->slot | (uint32_t)(++e->gen[c->slot]) << 16;
    c->state = C_PENDING;
    c->ep[0].fd = fd;
    c->active_at_ms = e->now_ms;
    link_conn(e, c);
    int err = watch(e, &c->ep[0]);
    ev = emit(e, RELAY_EV_ACCEPTED, c->id);
    if (ev != NULL) {
      ev->listener = l->index;
      format_peer(&ss, ev->peer, &ev->peer_port);
      note_local(fd, ev); /* the access log's `local`, a PROXY header's destination */
    } else {
      err = ENOMEM; /* nobody would ever answer for it */
    }
    if (err != 0) finish(e, c, RELAY_ERROR, err);
  }
  pthread_mutex_unlock(&e->lmu);
}

/* The member leg is up: report, relay (bytes may be waiting: look now). */
static void established(struct relay_engine *e, struct conn *c) {
  c->state = C_RELAYING;
  c->active_at_ms = e->now_ms;
  struct relay_event *ev = emit(e, RELAY_EV_CONNECTED, c->id);
  if (ev != NULL) ev->connect_ms = ms_since(&c->connect_started);
  note_idle(e, c->idle_ms); /* pipes are borrowed when bytes come (move) */
  pump(e, c);
}

/* The member leg failed: drop it, report, and wait for the owner's next verdict. */
static void connect_failed(struct relay_engine *e, struct conn *c, int err) {
  struct endpoint *m = &c->ep[1];
  if (m->registered) epoll_ctl(e->epfd, EPOLL_CTL_DEL, m->fd, NULL); /* see finish */
  close_quietly(m->fd);
  m->fd = -1;
  m->registered = 0;
  c->state = C_PENDING;
  struct relay_event *ev = emit(e, RELAY_EV_CONNECT_FAILED, c->id);
  if (ev != NULL) ev->err = err;
  else finish(e, c, RELAY_ERROR, ENOMEM);
}

/*
 * Nagle off (issue #19), as HAProxy does on both sides: a relay forwards what arrives as
 * it arrives, so a small write (a TLS record's tail, a request after a response) must not
 * wait for the ACK of the previous one, which the receiver delays by up to 40 ms. With
 * Nagle on, a registry push through corral stalled ~40 ms per exchange. Best effort: a
 * socket that refuses it still relays, only slower.
 */
static void set_nodelay(int fd) {
  int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void start_connect(struct relay_engine *e, struct conn *c,
                          const struct relay_verdict *v, struct relay_header *header) {
  /* This member's header (a retry brings its own): written once connected (pump). */
  relay_header_move(&c->header, header);
  c->idle_ms = v->idle_ms;
  c->connect_ms = v->connect_ms;
  if (v->connect_ms > 0 && (e->min_connect_ms == 0 || v->connect_ms < e->min_connect_ms))
    e->min_connect_ms = v->connect_ms;
  clock_gettime(CLOCK_MONOTONIC, &c->connect_started);
  c->active_at_ms = e->now_ms;
  c->state = C_CONNECTING;
  int fd = socket(v->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    connect_failed(e, c, errno);
    return;
  }
  c->ep[1].fd = fd;
  set_nodelay(fd);
  if (connect(fd, (const struct sockaddr *)&v->addr, v->addr_len) == 0) {
    int err = watch(e, &c->ep[1]);
    if (err != 0) connect_failed(e, c, err);
    else established(e, c);
    return;
  }
  if (errno != EINPROGRESS) {
    connect_failed(e, c, errno);
    return;
  }
  /* Completion (or failure) is the first EPOLLOUT/EPOLLERR edge of the member fd. */
  int err = watch(e, &c->ep[1]);
  if (err != 0) connect_failed(e, c, err);
}

static void apply_verdict(struct relay_engine *e, const struct relay_verdict *v,
                          struct relay_header *header) {
  struct conn *c = e->by_slot[v->id & 0xffff];
  /* Stale (the client left meanwhile: its close event is on the way) or not waiting. */
  if (c == NULL || c->id != v->id || c->state != C_PENDING) return;
  if (v->reject) finish(e, c, RELAY_FORCED, 0);
  else start_connect(e, c, v, header);
}

/* An event on a connection that is not relaying yet. */
static void pending_event(struct relay_engine *e, struct endpoint *ep, uint32_t events) {
  struct conn *c = ep->c;
  int err = 0;
  socklen_t len = sizeof err;
  if (ep == &c->ep[0]) {
    /* The client: only a reset matters now (bytes and FIN wait for the relay). */
    if ((events & EPOLLERR) != 0) {
      if (getsockopt(ep->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err == 0)
        err = ECONNRESET;
      c->err_side = 0;
      finish(e, c, RELAY_ERROR, err);
    }
    return;
  }
  if (c->state != C_CONNECTING) return;
  if ((events & (EPOLLERR | EPOLLHUP)) != 0) {
    /* A failed connect sets EPOLLERR; SO_ERROR says why. */
    if (getsockopt(ep->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    connect_failed(e, c, err != 0 ? err : ECONNRESET);
  } else if ((events & EPOLLOUT) != 0) {
    established(e, c); /* writable without an error: the handshake completed */
  }
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
      /* Gone or another id: it already finished and its close event is on the way. */
      struct conn *c = e->by_slot[cmd->slot & 0xffff];
      if (c != NULL && c->id == cmd->slot) finish(e, c, RELAY_FORCED, 0);
      break;
    }
    case CMD_VERDICT:
      apply_verdict(e, &cmd->verdict, &cmd->header);
      break;
    case CMD_STOP:
      e->stopping = 1;
      break;
    case CMD_TRACE:
      e->firsts = cmd->firsts;
      break;
    }
    relay_header_free(&cmd->header);
    free(cmd);
  }
}

static void free_dead(struct relay_engine *e) {
  while (e->dead != NULL) {
    struct conn *c = e->dead;
    e->dead = c->dead_link;
    relay_header_free(&c->header);
    free(c);
  }
}

/* Timeouts: idle (no byte either way for idle_ms) and connect (connect_ms). */
static void sweep(struct relay_engine *e) {
  struct conn *c = e->live;
  while (c != NULL) {
    struct conn *next = c->next;
    int64_t quiet = e->now_ms - c->active_at_ms;
    if (c->state == C_RELAYING) {
      if (c->idle_ms > 0 && quiet >= (int64_t)c->idle_ms) {
        finish(e, c, RELAY_IDLE, 0);
      }
    } else if (c->state == C_CONNECTING) {
      if (c->connect_ms > 0 && quiet >= (int64_t)c->connect_ms)
        connect_failed(e, c, ETIMEDOUT);
    }
    c = next;
  }
  e->swept_at_ms = e->now_ms;
}

/* An eighth of the shortest timeout, within [10 ms, 1 s] (as the JS sweeper). */
static int sweep_period_ms(const struct relay_engine *e) {
  uint32_t shortest = e->min_idle_ms;
  if (e->min_connect_ms > 0 && (shortest == 0 || e->min_connect_ms < shortest))
    shortest = e->min_connect_ms;
  if (shortest == 0) return 1000;
  uint32_t p = shortest / 8;
  return p < 10 ? 10 : p > 1000 ? 1000 : (int)p;
}

static void *thread_main(void *arg) {
  struct relay_engine *e = arg;
  struct epoll_event events[MAX_EVENTS];
  e->now_ms = e->swept_at_ms = monotonic_ms();
  while (!e->stopping) {
    int timeout = e->ready != NULL ? 0 : e->live_count > 0 ? sweep_period_ms(e) : -1;
    if (e->listeners_paused && (timeout < 0 || timeout > ACCEPT_PAUSE_MS))
      timeout = ACCEPT_PAUSE_MS;
    int n = epoll_wait(e->epfd, events, MAX_EVENTS, timeout);
    if (n < 0 && errno != EINTR) break; /* EBADF/EINVAL: cannot happen with our own fd */
    e->now_ms = monotonic_ms();
    for (int k = 0; k < n; k++) {
      enum watch_kind *kind = events[k].data.ptr;
      if (kind == NULL) {
        run_commands(e);
      } else if (*kind == WATCH_LISTENER) {
        accept_batch(e, (struct listener *)kind);
      } else {
        struct endpoint *ep = (struct endpoint *)kind;
        if (ep->c->closed) continue;
        if (ep->c->state == C_RELAYING) pump(e, ep->c);
        else pending_event(e, ep, events[k].events);
      }
    }
    if (e->listeners_paused && e->now_ms >= e->resume_at_ms) resume_listeners(e);
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
    flush(e);
    free_dead(e);
  }
  for (uint32_t i = 0; i < RELAY_MAX_LISTENERS; i++) relay_engine_unlisten(e, i);
  while (e->live != NULL) finish(e, e->live, RELAY_STOPPED, 0);
  flush(e);
  free_dead(e);
  return NULL;
}

static void enqueue_list(struct relay_engine *e, struct cmd *first, struct cmd *last) {
  last->next = NULL;
  pthread_mutex_lock(&e->mu);
  if (e->tail != NULL) e->tail->next = first;
  else e->head = first;
  e->tail = last;
  pthread_mutex_unlock(&e->mu);
  uint64_t one = 1;
  /* Can only fail with EAGAIN when the counter is near 2^64: then it is signalled anyway. */
  if (write(e->evfd, &one, sizeof one) < 0) return;
}

static void enqueue(struct relay_engine *e, struct cmd *cmd) { enqueue_list(e, cmd, cmd); }

static void free_engine(struct relay_engine *e) {
  trim_pipes(e);
  close_quietly(e->epfd);
  close_quietly(e->evfd);
  pthread_mutex_destroy(&e->mu);
  pthread_mutex_destroy(&e->lmu);
  free(e->by_slot);
  free(e->gen);
  free(e->free_slots);
  free(e->out);
  free(e);
}

struct relay_engine *relay_engine_start(double *counters, uint32_t capacity,
                                        uint32_t accept_base, relay_events_cb on_events,
                                        void *ctx) {
  if (capacity == 0 || capacity > RELAY_MAX_SLOTS || accept_base > capacity) {
    errno = EINVAL;
    return NULL;
  }
  struct sigaction old;
  /* Pitfall 6: Node already ignores SIGPIPE; a plain C host may not. */
  if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
    signal(SIGPIPE, SIG_IGN);
  struct relay_engine *e = calloc(1, sizeof *e);
  if (e == NULL) return NULL;
  e->by_slot = calloc(capacity, sizeof *e->by_slot);
  e->gen = calloc(capacity, sizeof *e->gen);
  e->free_slots = calloc(capacity - accept_base + 1, sizeof *e->free_slots);
  /* Lowest slot on top: popped first. */
  if (e->free_slots != NULL)
    for (uint32_t s = capacity; s > accept_base; s--) e->free_slots[e->free_count++] = s - 1;
  e->counters = counters;
  e->capacity = capacity;
  e->accept_base = accept_base;
  e->on_events = on_events;
  e->ctx = ctx;
  for (uint32_t i = 0; i < RELAY_MAX_LISTENERS; i++) {
    e->listeners[i].kind = WATCH_LISTENER;
    e->listeners[i].index = i;
    e->listeners[i].fd = -1;
  }
  e->epfd = epoll_create1(EPOLL_CLOEXEC);
  e->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  pthread_mutex_init(&e->mu, NULL);
  pthread_mutex_init(&e->lmu, NULL);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  int saved = 0;
  if (e->by_slot == NULL || e->gen == NULL || e->free_slots == NULL) {
    saved = ENOMEM;
  } else if (e->epfd < 0 || e->evfd < 0 ||
             epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->evfd, &ev) < 0) {
    saved = errno;
  } else {
    /* Every signal blocked on the relay thread: they belong to the JS thread (6). */
    sigset_t all, prev;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &prev);
    saved = pthread_create(&e->thread, NULL, thread_main, e);
    pthread_sigmask(SIG_SETMASK, &prev, NULL);
    if (saved == 0) return e;
  }
  free_engine(e);
  errno = saved;
  return NULL;
}

int relay_engine_add(struct relay_engine *e, uint32_t slot, int fd_a, int fd_b,
                     uint32_t idle_ms) {
  if (slot >= e->accept_base) return -EINVAL;
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

int relay_engine_close(struct relay_engine *e, uint32_t id) {
  if ((id & 0xffff) >= e->capacity) return -EINVAL;
  struct cmd *cmd = calloc(1, sizeof *cmd);
  if (cmd == NULL) return -ENOMEM;
  cmd->type = CMD_CLOSE;
  cmd->slot = id;
  enqueue(e, cmd);
  return 0;
}

int relay_engine_listen(struct relay_engine *e, uint32_t index, int fd) {
  if (index >= RELAY_MAX_LISTENERS) return -EINVAL;
  int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (own < 0) return -errno;
  /* accept4 must never block the relay thread: O_NONBLOCK is on the file description
   * (libuv set it already; shared with the caller's fd). */
  int flags = fcntl(own, F_GETFL);
  if (flags < 0 || fcntl(own, F_SETFL, flags | O_NONBLOCK) < 0) {
    int err = errno;
    close(own);
    return -err;
  }
  /* Accepted sockets inherit TCP_NODELAY from the listening one on Linux: set once here
   * instead of once per accept (the file description is shared with JS's socket). */
  set_nodelay(own);
  struct listener *l = &e->listeners[index];
  pthread_mutex_lock(&e->lmu);
  int r = 0;
  if (l->fd >= 0) {
    r = -EBUSY;
  } else {
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = l};
    /* epoll_ctl is thread-safe; while paused, resume_listeners registers it. */
    if (!e->listeners_paused && epoll_ctl(e->epfd, EPOLL_CTL_ADD, own, &ev) < 0) r = -errno;
    else {
      l->fd = own;
      l->paused = e->listeners_paused;
    }
  }
  pthread_mutex_unlock(&e->lmu);
  if (r != 0) close(own);
  return r;
}

int relay_engine_unlisten(struct relay_engine *e, uint32_t index) {
  if (index >= RELAY_MAX_LISTENERS) return -EINVAL;
  struct listener *l = &e->listeners[index];
  pthread_mutex_lock(&e->lmu);
  if (l->fd >= 0) {
    /* DEL before close (pitfall 2): the caller's fd shares the file description. An
     * event already returned for it is skipped in accept_batch (fd < 0). */
    if (!l->paused) epoll_ctl(e->epfd, EPOLL_CTL_DEL, l->fd, NULL);
    close(l->fd);
    l->fd = -1;
    l->paused = 0;
  }
  pthread_mutex_unlock(&e->lmu);
  return 0;
}

int relay_engine_trace(struct relay_engine *e, double *firsts) {
  struct cmd *cmd = calloc(1, sizeof *cmd);
  if (cmd == NULL) return -ENOMEM;
  cmd->type = CMD_TRACE;
  cmd->firsts = firsts;
  enqueue(e, cmd);
  return 0;
}

int relay_engine_submit(struct relay_engine *e, const struct relay_verdict *v, uint32_t n) {
  struct cmd *first = NULL, *last = NULL;
  for (uint32_t i = 0; i < n; i++) {
    struct cmd *cmd = calloc(1, sizeof *cmd);
    /* The header is copied: the caller's buffer is only valid during this call. */
    if (cmd != NULL && relay_header_set(&cmd->header, v[i].header, v[i].header_len) != 0) {
      free(cmd);
      cmd = NULL;
    }
    if (cmd == NULL) {
      while (first != NULL) {
        struct cmd *next = first->next;
        relay_header_free(&first->header);
        free(first);
        first = next;
      }
      return -ENOMEM;
    }
    cmd->type = CMD_VERDICT;
    cmd->verdict = v[i];
    cmd->verdict.header = NULL; /* cmd->header holds the copy */
    cmd->verdict.header_len = 0;
    if (last != NULL) last->next = cmd;
    else first = cmd;
    last = cmd;
  }
  if (first != NULL) enqueue_list(e, first, last);
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
    relay_header_free(&c->header);
    free(c);
    c = next;
  }
  free_engine(e);
}
