/*
 * corral native data path: a relay thread that accepts client connections, connects
 * them to the member TypeScript picked, and moves bytes between the two sockets with
 * splice(2) through a pipe pair, so the bytes never enter user space.
 *
 * This header is the engine's C interface, free of Node-API, so the same code is driven
 * by the Node addon (addon.c) and by a plain C test driver under ASan/UBSan
 * (test/relay_test.c).
 *
 * Threading: every function here is called from ONE owner thread (the JS thread); the
 * relay thread owns epoll and every connection. The two meet in a mutex-protected
 * command queue (woken through an eventfd), in the listener table (its own mutex), and
 * in the counters array (each double written by the relay thread alone, read racily by
 * the owner: an aligned 8-byte store is atomic on every 64-bit Linux target).
 *
 * Connection ids: the low 16 bits are the slot (counters index), the high 16 bits a
 * generation the relay thread bumps per accepted connection, so a command for a
 * connection that already closed never touches the next one in that slot. Slots below
 * accept_base belong to the owner (relay_engine_add; generation 0); the relay thread
 * allocates the others for the connections it accepts.
 */
#ifndef CORRAL_RELAY_H
#define CORRAL_RELAY_H

#include <stdint.h>
#include <sys/socket.h>

/** Most slots (ids carry the slot in 16 bits). */
#define RELAY_MAX_SLOTS 65536u
/** Listening sockets one engine accepts on. */
#define RELAY_MAX_LISTENERS 64
/** The id of an accepted connection dropped at once because every slot was in use. */
#define RELAY_NO_ID UINT32_MAX
/** Longest peer address text (INET6_ADDRSTRLEN). */
#define RELAY_PEER_LEN 46

/** Why a connection ended (reported with its close event). */
enum relay_reason {
  RELAY_DONE = 0,   /* both directions finished (FIN each way, everything delivered) */
  RELAY_ERROR = 1,  /* a socket error (errno says which) on either side */
  RELAY_IDLE = 2,   /* no byte either way for idle_ms */
  RELAY_FORCED = 3, /* relay_engine_close() or a reject verdict */
  RELAY_STOPPED = 4 /* the engine stopped with the connection still open */
};

/** What an event reports. */
enum relay_event_type {
  RELAY_EV_CLOSED = 0,         /* reason, err, final bytes; the id is dead afterwards */
  RELAY_EV_ACCEPTED = 1,       /* listener, peer: the owner answers with a verdict */
  RELAY_EV_CONNECTED = 2,      /* connect_ms: the pair is relaying now */
  RELAY_EV_CONNECT_FAILED = 3, /* err (ETIMEDOUT = connect_ms passed): answer again */
  RELAY_EV_HELLO = 4           /* hello: the client's first bytes, a TLS record (tracing) */
};

/** Most bytes of a client's first read handed over as a hello: one TLS record. */
#define RELAY_HELLO_MAX (5 + 16384)

/** One event, produced by the relay thread. */
struct relay_event {
  enum relay_event_type type;
  uint32_t id;
  enum relay_reason reason; /* CLOSED */
  int err;                  /* CLOSED (0 unless RELAY_ERROR), CONNECT_FAILED */
  double bytes_a_to_b;      /* CLOSED: final byte counts (a = client) */
  double bytes_b_to_a;
  double connect_ms;        /* CONNECTED: from the connect() call to the connection */
  int closer;               /* CLOSED: side that ended first (FIN, or the failing socket
                               on RELAY_ERROR): 0 = a (client), 1 = b (member), -1 unknown */
  uint32_t peer_port;       /* ACCEPTED: client port */
  uint32_t listener;        /* ACCEPTED */
  char peer[RELAY_PEER_LEN]; /* ACCEPTED: client address as Node formats remoteAddress */
  uint32_t local_port;       /* ACCEPTED: the port the client connected to */
  char local[RELAY_PEER_LEN]; /* ACCEPTED: the address it connected to (getsockname;
                                 "" if that failed): the access log's local, a PROXY
                                 header's destination */
  /* With tracing on (relay_engine_trace), for the access log; zero/empty otherwise: */
  double first_ms[2];        /* CLOSED: relaying start to the first byte read from a
                                (client, [0]) and from b (member, [1]); 0 = none */
  const unsigned char *hello; /* HELLO: hello_len bytes, valid during the callback only */
  uint32_t hello_len;
};

/*
 * Called on the relay thread with the events of one loop iteration (n ≥ 1), in order;
 * the array is only valid during the call. Must not block for long.
 */
typedef void (*relay_events_cb)(void *ctx, const struct relay_event *evs, uint32_t n);

/** The owner's answer for an accepted connection (or one whose connect failed). */
struct relay_verdict {
  uint32_t id;
  int reject;                    /* 1: close the client connection */
  struct sockaddr_storage addr;  /* else: connect here */
  socklen_t addr_len;
  uint32_t connect_ms;           /* connect timeout (0 = none) */
  uint32_t idle_ms;              /* idle timeout once relaying (0 = none) */
  /* PROXY protocol header written to the member once connected, before any client byte
   * (header_len 0: none). Borrowed: relay_engine_submit copies it. */
  const unsigned char *header;
  uint32_t header_len;
};

struct relay_engine;

/*
 * Starts a relay thread. `counters` (2 * capacity doubles, owned by the caller, alive
 * until relay_engine_stop returns) receives live byte counts: [2*slot] = a->b,
 * [2*slot+1] = b->a. capacity ≤ RELAY_MAX_SLOTS; accept_base ≤ capacity (see above).
 * Returns NULL with errno set on failure.
 */
struct relay_engine *relay_engine_start(double *counters, uint32_t capacity,
                                        uint32_t accept_base, relay_events_cb on_events,
                                        void *ctx);

/*
 * Hands a connection to the engine: dup()s fd_a and fd_b (the caller then closes its own
 * copies whenever it likes), queues them, wakes the relay thread. `slot` < accept_base
 * must not be in use (the caller allocates these slots and frees one on its close
 * event). idle_ms == 0 disables the idle timeout. Returns 0, or -errno.
 */
int relay_engine_add(struct relay_engine *e, uint32_t slot, int fd_a, int fd_b,
                     uint32_t idle_ms);

/* Asks the relay thread to close a connection now (a close event follows). */
int relay_engine_close(struct relay_engine *e, uint32_t id);

/*
 * Accepts on a dup() of the listening socket `fd` (the caller keeps its own) from now
 * on, as listener `index`; each connection is reported ACCEPTED. Returns 0 or -errno.
 */
int relay_engine_listen(struct relay_engine *e, uint32_t index, int fd);

/*
 * Stops accepting on listener `index` before returning (its dup is closed); accepted
 * connections already reported are unaffected. Returns 0 or -EINVAL.
 */
int relay_engine_unlisten(struct relay_engine *e, uint32_t index);

/*
 * Turns tracing on for the access log: from the relay thread's next wakeup on, accepted
 * connections report their local address, each connection's first read from the client
 * is peeked once and, when it starts a TLS handshake record, reported as a HELLO event
 * (RELAY_HELLO_MAX bytes at most), and the time from the start of relaying to the first
 * byte read from each side is written to `firsts` (2 * capacity doubles, owned by the
 * caller, alive until relay_engine_stop returns: [2*slot] client, [2*slot+1] member; 0
 * until that byte) and reported with the close. Without it none of that costs anything.
 * Returns 0 or -ENOMEM.
 */
int relay_engine_trace(struct relay_engine *e, double *firsts);

/* Queues verdicts for accepted connections (one wakeup for all). Returns 0 or -errno. */
int relay_engine_submit(struct relay_engine *e, const struct relay_verdict *v, uint32_t n);

/*
 * Stops the thread, closes every listener and remaining connection (each reported with
 * RELAY_STOPPED) and frees the engine. After it returns no callback runs.
 */
void relay_engine_stop(struct relay_engine *e);

#endif
