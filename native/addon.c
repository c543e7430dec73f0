/*
 * Node-API binding of the relay engine (relay.h). JS API, all on the JS thread:
 *   init(counters: Float64Array, onClose(slot, reason, errno, aToB, bToA))
 *   add(slot, fdA, fdB, idleMs) -> 0 | -errno   (dup()s both fds; see relay.c)
 *   close(slot) -> 0 | -errno                   (a close event follows)
 *   stop()                                      (open connections close as "stopped")
 *   peek(fd) -> 0 | -errno                      (a socket's pending error, reading nothing)
 * One engine per Node environment (one relay thread per data-path process).
 *
 * Event-loop liveness: the thread-safe function that carries close events is unref'd
 * while no connection is open (an idle engine must not keep the process alive) and
 * ref'd while any is: the JS sockets are destroyed at hand-over, so without it a process
 * whose only work is native relays would exit under them.
 */
#define NAPI_VERSION 8
#include <errno.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <uv.h>

#include "relay.h"

struct state {
  struct relay_engine *engine;
  napi_threadsafe_function tsfn;
  napi_ref counters_ref;
  uint32_t capacity;
  uint32_t live; /* connections added and not yet reported closed (JS thread only) */
};

#define CHECK(env, call)                                                              \
  do {                                                                                \
    if ((call) != napi_ok) {                                                          \
      const napi_extended_error_info *info = NULL;                                    \
      napi_get_last_error_info((env), &info);                                         \
      napi_throw_error((env), "CORRAL_NATIVE",                                        \
                       info != NULL && info->error_message != NULL                    \
                           ? info->error_message                                      \
                           : #call " failed");                                        \
      return NULL;                                                                    \
    }                                                                                 \
  } while (0)

static struct state *get_state(napi_env env) {
  void *data = NULL;
  if (napi_get_instance_data(env, &data) != napi_ok) return NULL;
  return data;
}

/* Relay thread: hand the event to the JS thread (the queue is unbounded: never blocks). */
static void on_close(void *ctx, const struct relay_event *ev) {
  struct state *st = ctx;
  struct relay_event *copy = malloc(sizeof *copy);
  if (copy == NULL) return; /* the slot leaks on the JS side; cannot report without memory */
  *copy = *ev;
  if (napi_call_threadsafe_function(st->tsfn, copy, napi_tsfn_nonblocking) != napi_ok)
    free(copy); /* the environment is shutting down: nobody is listening any more */
}

/* JS thread: call onClose(slot, reason, errno, aToB, bToA). */
static void call_js(napi_env env, napi_value fn, void *ctx, void *data) {
  struct state *st = ctx;
  struct relay_event *ev = data;
  if (env != NULL && st != NULL) {
    if (st->live > 0 && --st->live == 0) napi_unref_threadsafe_function(env, st->tsfn);
    napi_value argv[5], undefined;
    napi_create_uint32(env, ev->slot, &argv[0]);
    napi_create_uint32(env, (uint32_t)ev->reason, &argv[1]);
    napi_create_int32(env, ev->err, &argv[2]);
    napi_create_double(env, ev->bytes_a_to_b, &argv[3]);
    napi_create_double(env, ev->bytes_b_to_a, &argv[4]);
    napi_get_undefined(env, &undefined);
    /* An exception thrown by onClose surfaces as an uncaught exception, as for any callback. */
    napi_call_function(env, undefined, fn, 5, argv, NULL);
  }
  free(ev);
}

static void stop_engine(struct state *st) {
  if (st->engine == NULL) return;
  relay_engine_stop(st->engine); /* joins the thread: no on_close after this */
  st->engine = NULL;
  /* Release, not abort: the "stopped" close events already queued still reach JS. */
  napi_release_threadsafe_function(st->tsfn, napi_tsfn_release);
}

/* Environment teardown (process exit, worker thread exit). */
static void finalize_state(napi_env env, void *data, void *hint) {
  (void)hint;
  struct state *st = data;
  stop_engine(st);
  if (st->counters_ref != NULL) napi_delete_reference(env, st->counters_ref);
  free(st);
}

static napi_value js_init(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct state *st = get_state(env);
  if (st == NULL || st->engine != NULL) {
    napi_throw_error(env, "CORRAL_NATIVE", "init: the engine is already running");
    return NULL;
  }
  bool is_typed = false;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (argc < 2 || napi_is_typedarray(env, argv[0], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL) !=
          napi_ok ||
      type != napi_float64_array || length < 2) {
    napi_throw_type_error(env, "CORRAL_NATIVE",
                          "init(counters, onClose): counters must be a Float64Array");
    return NULL;
  }
  napi_value name;
  CHECK(env, napi_create_string_utf8(env, "corral-native-relay", NAPI_AUTO_LENGTH, &name));
  CHECK(env, napi_create_threadsafe_function(env, argv[1], NULL, name, 0, 1, NULL, NULL, st,
                                             call_js, &st->tsfn));
  CHECK(env, napi_unref_threadsafe_function(env, st->tsfn));
  if (st->counters_ref != NULL) napi_delete_reference(env, st->counters_ref);
  /* Keeps the array (and so the memory the relay thread writes) alive. */
  CHECK(env, napi_create_reference(env, argv[0], 1, &st->counters_ref));
  st->capacity = (uint32_t)(length / 2);
  st->live = 0;
  st->engine = relay_engine_start(data, st->capacity, on_close, st);
  if (st->engine == NULL) {
    int err = errno;
    napi_release_threadsafe_function(st->tsfn, napi_tsfn_abort);
    napi_throw_error(env, "CORRAL_NATIVE", strerror(err));
    return NULL;
  }
  return NULL;
}

static napi_value js_add(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct state *st = get_state(env);
  uint32_t slot = 0, idle = 0;
  int32_t fd_a = -1, fd_b = -1;
  if (st == NULL || st->engine == NULL || argc < 4 ||
      napi_get_value_uint32(env, argv[0], &slot) != napi_ok ||
      napi_get_value_int32(env, argv[1], &fd_a) != napi_ok ||
      napi_get_value_int32(env, argv[2], &fd_b) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &idle) != napi_ok) {
    napi_throw_type_error(env, "CORRAL_NATIVE",
                          "add(slot, fdA, fdB, idleMs): engine not running or bad arguments");
    return NULL;
  }
  /*
   * An epoll registration belongs to the open file description, not the fd. libuv's
   * own epoll may still hold one for these sockets (a connect watches for POLLOUT, and
   * libuv removes stale entries lazily, or in a batch after the fd is closed). Once our
   * dup() keeps the description alive, such an entry outlives the JS socket: libuv then
   * gets events for an fd number that is closed or reused by another socket, and its
   * "disarm" (EPOLL_CTL_DEL by number) hits the wrong socket. Observed as probes and
   * relays hanging under load. So the JS thread removes both from libuv's epoll before
   * the hand-over (ENOENT when not registered is fine).
   */
  uv_loop_t *loop = NULL;
  if (napi_get_uv_event_loop(env, &loop) == napi_ok && loop != NULL) {
    int backend = uv_backend_fd(loop);
    struct epoll_event dummy;
    memset(&dummy, 0, sizeof dummy);
    if (backend >= 0) {
      epoll_ctl(backend, EPOLL_CTL_DEL, fd_a, &dummy);
      epoll_ctl(backend, EPOLL_CTL_DEL, fd_b, &dummy);
    }
  }
  int r = relay_engine_add(st->engine, slot, fd_a, fd_b, idle);
  if (r == 0 && st->live++ == 0) CHECK(env, napi_ref_threadsafe_function(env, st->tsfn));
  napi_value out;
  CHECK(env, napi_create_int32(env, r, &out));
  return out;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct state *st = get_state(env);
  uint32_t slot = 0;
  if (st == NULL || st->engine == NULL || argc < 1 ||
      napi_get_value_uint32(env, argv[0], &slot) != napi_ok) {
    napi_throw_type_error(env, "CORRAL_NATIVE",
                          "close(slot): engine not running or bad arguments");
    return NULL;
  }
  napi_value out;
  CHECK(env, napi_create_int32(env, relay_engine_close(st->engine, slot), &out));
  return out;
}

static napi_value js_stop(napi_env env, napi_callback_info info) {
  (void)info;
  struct state *st = get_state(env);
  if (st != NULL) {
    stop_engine(st);
    st->live = 0;
  }
  return NULL;
}

/*
 * A client socket paused in JS (while its member leg connects) shows no reset to JS.
 * recv(MSG_PEEK) reads nothing and returns -ECONNRESET (or another error) once the peer
 * is gone; 0 for data, FIN (0 bytes: a half-close, still relayed) or nothing yet.
 */
static napi_value js_peek(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, "CORRAL_NATIVE", "peek(fd): fd must be a non-negative integer");
    return NULL;
  }
  char byte;
  ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  int r = n >= 0 || errno == EAGAIN || errno == EINTR ? 0 : -errno;
  /* The pending error is reported once (and then cleared), and a socket that was reset
   * then reads as EOF like a FIN would: its TCP state tells them apart (CLOSE vs
   * CLOSE_WAIT). */
  struct tcp_info ti;
  socklen_t len = sizeof ti;
  if (r == 0 && getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
      ti.tcpi_state == TCP_CLOSE)
    r = -ECONNRESET;
  napi_value out;
  CHECK(env, napi_create_int32(env, r, &out));
  return out;
}

NAPI_MODULE_INIT() {
  struct state *st = calloc(1, sizeof *st);
  if (st == NULL || napi_set_instance_data(env, st, finalize_state, NULL) != napi_ok) {
    free(st);
    napi_throw_error(env, "CORRAL_NATIVE", "out of memory");
    return NULL;
  }
  napi_property_descriptor props[] = {
      {"init", NULL, js_init, NULL, NULL, NULL, napi_default, NULL},
      {"add", NULL, js_add, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"stop", NULL, js_stop, NULL, NULL, NULL, napi_default, NULL},
      {"peek", NULL, js_peek, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, 5, props) != napi_ok) return NULL;
  return exports;
}
