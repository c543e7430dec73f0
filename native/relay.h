/*
 * corral native data path: a relay thread that moves bytes between two connected TCP
 * sockets with splice(2) through a pipe pair, so the bytes never enter user space.
 *
 * This header is the engine's C interface, free of Node-API, so the same code is driven
 * by the Node addon (addon.c) and by a plain C test driver under ASan/UBSan
 * (test/relay_test.c).
 *
 * Threading: every function here except relay_engine_poll_wait internals is called from
 * ONE owner thread (the JS thread); the relay thread owns epoll and every connection.
 * The two meet only in a mutex-protected command queue (woken through an eventfd) and in
 * the counters array (each double written by the relay thread alone, read racily by the
 * owner: an aligned 8-byte store is atomic on every 64-bit Linux target).
 */
#ifndef CORRAL_RELAY_H
#define CORRAL_RELAY_H

#include <stdint.h>

/** Why a connection ended (reported with its close event). */
enum relay_reason {
  RELAY_DONE = 0,   /* both directions finished (FIN each way, everything delivered) */
  RELAY_ERROR = 1,  /* a socket error (errno says which) on either side */
  RELAY_IDLE = 2,   /* no byte either way for idle_ms */
  RELAY_FORCED = 3, /* relay_engine_close() (drain deadline, close-connections) */
  RELAY_STOPPED = 4 /* the engine stopped with the connection still open */
};

/** One close event, produced by the relay thread. */
struct relay_event {
  uint32_t slot;
  enum relay_reason reason;
  int err;            /* errno of the failing call, 0 unless reason == RELAY_ERROR */
  double bytes_a_to_b; /* final byte counts */
  double bytes_b_to_a;
};

/** Called on the relay thread for every closed connection; must not block for long. */
typedef void (*relay_close_cb)(void *ctx, const struct relay_event *ev);

struct relay_engine;

/*
 * Starts a relay thread. `counters` (2 * capacity doubles, owned by the caller, alive
 * until relay_engine_stop returns) receives live byte counts: [2*slot] = a->b,
 * [2*slot+1] = b->a. Returns NULL with errno set on failure.
 */
struct relay_engine *relay_engine_start(double *counters, uint32_t capacity,
                                        relay_close_cb on_close, void *ctx);

/*
 * Hands a connection to the engine: dup()s fd_a and fd_b (the caller then closes its own
 * copies whenever it likes), queues them, wakes the relay thread. `slot` < capacity must
 * not be in use (the caller allocates slots and frees one on its close event).
 * idle_ms == 0 disables the idle timeout. Returns 0, or -errno (nothing is queued).
 */
int relay_engine_add(struct relay_engine *e, uint32_t slot, int fd_a, int fd_b,
                     uint32_t idle_ms);

/* Asks the relay thread to close a connection now (a close event follows). */
int relay_engine_close(struct relay_engine *e, uint32_t slot);

/*
 * Stops the thread, closes every remaining connection (each reported with RELAY_STOPPED)
 * and frees the engine. After it returns no callback runs.
 */
void relay_engine_stop(struct relay_engine *e);

#endif
