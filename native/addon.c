/*
 * Node-API binding of the relay engine (relay.h). JS API, all on the JS thread:
 *   init(counters: Float64Array,
 *        onEvents(events: Float64Array, peers: string[], hellos: Buffer[]), acceptBase)
 *                                         (events: EVENT_STRIDE numbers per event, below)
 *   trace(firsts: Float64Array)            (access log on: see relay_engine_trace)
 *   add(slot, fdA, fdB, idleMs) -> 0 | -errno   (dup()s both fds; see relay.c)
 *   close(id) -> 0 | -errno                     (a close event follows)
 *   listen(index, fd) -> 0 | -errno             (accept natively on a dup of fd)
 *   forget(fd) -> boolean                       (was fd in libuv's epoll; now removed)
 *   unlisten(index)                             (stops accepting before it returns)
 *   setTargets(hosts: string[], ports: number[]) (the member table verdicts index)
 *   submit(verdicts: Float64Array, count, headers?: Uint8Array)
 *                                               (VERDICT_STRIDE numbers per verdict)
 *   stop()                                      (open connections close as "stopped")
 *   peek(fd) -> 0 | -errno                      (a socket's pending error, reading nothing)
 * One engine per Node environment (one relay thread per data-path process).
 *
 * Events reach JS in batches: one thread-safe-function call per relay-thread loop
 * iteration, whatever it accepted, connected and closed (a call per connection would
 * cost a wakeup of the JS thread each). Each event is [type, id, x, y, z, w, v, f0, f1]:
 *   closed          [0, id, reason, errno, aToB, bToA, closer (0 client, 1 member, -1),
 *                    firstAToBMs, firstBToAMs (tracing; 0 = none)]
 *   accepted        [1, id, listener, hasLocal, 0, 0, port, localPort, 0]: its peer
 *                    address next in `peers`, then (hasLocal 1: getsockname worked) its
 *                    local one, the address the client connected to (the access log's
 *                    `local`, a PROXY header's destination)
 *   connected       [2, id, connectMs, 0, ...]
 *   connect failed  [3, id, errno, 0, ...]
 *   hello           [4, id, 0, ...]: the client's first bytes next in `hellos` (tracing)
 * A verdict is [id, target, connectTimeoutMs, idleMs, headerOffset, headerLength]:
 * target indexes the last setTargets table; -1 rejects (closes) the connection; the
 * PROXY protocol header for the member is headers[offset, offset + length) (length 0:
 * none), copied at submit.
 *
 * Event-loop liveness: the thread-safe function that carries events is unref'd while no
 * connection is open (an idle engine must not keep the process alive) and ref'd while
 * any is: the JS sockets are destroyed at hand-over (or never exist, natively accepted),
 * so without it a process whose only work is native relays would exit under them.
 */
#define NAPI_VERSION 8
#include <arpa/inet.h>
#include <errno.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <uv.h>

#include "relay.h"

#define EVENT_STRIDE 9
#define VERDICT_STRIDE 6

/* A member address verdicts point at by index. */
struct target {
  struct sockaddr_storage addr;
  socklen_t len;
};

struct state {
  struct relay_engine *engine;
  napi_threadsafe_function tsfn;
  napi_ref counters_ref;
  napi_ref firsts_ref; /* trace(): keeps the first-byte array the relay thread writes */
  uint32_t capacity;
  uint32_t live; /* connections added or accepted, not yet reported closed (JS thread) */
  struct target *targets; /* JS thread only: replaced whole by setTargets */
  uint32_t target_count;
  struct relay_verdict *verdicts; /* submit's scratch (JS thread only) */
  uint32_t verdict_cap;
};

/* One loop iteration's events, copied for the JS thread. */
struct batch {
  uint32_t n;
  struct relay_event evs[];
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

/*
 * Relay thread: hand the batch to the JS thread (the queue is unbounded: never blocks).
 * HELLO bytes are only valid during this call: they are copied behind the events.
 */
static void on_events(void *ctx, const struct relay_event *evs, uint32_t n) {
  struct state *st = ctx;
  size_t hello_bytes = 0;
  for (uint32_t k = 0; k < n; k++)
    if (evs[k].type == RELAY_EV_HELLO) hello_bytes += evs[k].hello_len;
  struct batch *copy = malloc(sizeof *copy + n * sizeof *evs + hello_bytes);
  if (copy == NULL) return; /* the slots leak on the JS side; cannot report without memory */
  copy->n = n;
  memcpy(copy->evs, evs, n * sizeof *evs);
  unsigned char *bytes = (unsigned char *)&copy->evs[n];
  for (uint32_t k = 0; k < n; k++) {
    if (evs[k].type != RELAY_EV_HELLO) continue;
    memcpy(bytes, evs[k].hello, evs[k].hello_len);
    copy->evs[k].hello = bytes;
    bytes += evs[k].hello_len;
  }
  if (napi_call_threadsafe_function(st->tsfn, copy, napi_tsfn_nonblocking) != napi_ok)
    free(copy); /* the environment is shutting down: nobody is listening any more */
}

/* Keeps the event loop alive exactly while connections are open (see the file comment). */
static void count_live(napi_env env, struct state *st, int delta) {
  if (delta > 0) {
    if (st->live++ == 0) napi_ref_threadsafe_function(env, st->tsfn);
  } else if (st->live > 0 && --st->live == 0) {
    napi_unref_threadsafe_function(env, st->tsfn);
  }
}

/* JS thread: call onEvents(events, peers, hellos). */
static void call_js(napi_env env, napi_value fn, void *ctx, void *data) {
  struct state *st = ctx;
  struct batch *b = data;
  if (env != NULL && st != NULL) {
    napi_value buffer, array, peers, hellos, undefined, argv[3];
    double *out = NULL;
    uint32_t strings = 0, hello_count = 0;
    if (napi_create_arraybuffer(env, b->n * EVENT_STRIDE * sizeof(double), (void **)&out,
                                &buffer) != napi_ok ||
        napi_create_typedarray(env, napi_float64_array, b->n * EVENT_STRIDE, buffer, 0,
                               &array) != napi_ok ||
        napi_create_array(env, &peers) != napi_ok ||
        napi_create_array(env, &hellos) != napi_ok) {
      free(b);
      return;
    }
    for (uint32_t k = 0; k < b->n; k++) {
      const struct relay_event *ev = &b->evs[k];
      double *o = &out[k * EVENT_STRIDE];
      o[0] = ev->type;
      o[1] = ev->id;
      for (int f = 2; f < EVENT_STRIDE; f++) o[f] = 0;
      switch (ev->type) {
      case RELAY_EV_CLOSED:
        o[2] = ev->reason;
        o[3] = ev->err;
        o[4] = ev->bytes_a_to_b;
        o[5] = ev->bytes_b_to_a;
        o[6] = ev->closer;
        o[7] = ev->first_ms[0];
        o[8] = ev->first_ms[1];
        count_live(env, st, -1);
        break;
      case RELAY_EV_ACCEPTED: {
        o[2] = ev->listener;
        o[6] = ev->peer_port;
        napi_value text;
        napi_create_string_utf8(env, ev->peer, NAPI_AUTO_LENGTH, &text);
        napi_set_element(env, peers, strings++, text);
        if (ev->local[0] != 0) {
          o[3] = 1;
          o[7] = ev->local_port;
          napi_create_string_utf8(env, ev->local, NAPI_AUTO_LENGTH, &text);
          napi_set_element(env, peers, strings++, text);
        }
        if (ev->id != RELAY_NO_ID) count_live(env, st, +1);
        break;
      }
      case RELAY_EV_CONNECTED:
        o[2] = ev->connect_ms;
        break;
      case RELAY_EV_CONNECT_FAILED:
        o[2] = ev->err;
        break;
      case RELAY_EV_HELLO: {
        napi_value hello;
        void *copied = NULL;
        /* An empty element on failure: the type stays Buffer | undefined, no SNI logged. */
        if (napi_create_buffer_copy(env, ev->hello_len, ev->hello, &copied, &hello) ==
            napi_ok)
          napi_set_element(env, hellos, hello_count, hello);
        hello_count++;
        break;
      }
      }
    }
    argv[0] = array;
    argv[1] = peers;
    argv[2] = hellos;
    napi_get_undefined(env, &undefined);
    /* An exception thrown by onEvents surfaces as an uncaught exception, as for any callback. */
    napi_call_function(env, undefined, fn, 3, argv, NULL);
  }
  free(b);
}

static void stop_engine(struct state *st) {
  if (st->engine == NULL) return;
  relay_engine_stop(st->engine); /* joins the thread: no on_events after this */
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
  if (st->firsts_ref != NULL) napi_delete_reference(env, st->firsts_ref);
  free(st->targets);
  free(st->verdicts);
  free(st);
}

static napi_value js_init(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
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
  uint32_t accept_base = 0;
  if (argc < 3 || napi_is_typedarray(env, argv[0], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL) !=
          napi_ok ||
      type != napi_float64_array || length < 2 || length / 2 > RELAY_MAX_SLOTS ||
      napi_get_value_uint32(env, argv[2], &accept_base) != napi_ok ||
      accept_base > length / 2) {
    napi_throw_type_error(env, "CORRAL_NATIVE",
                          "init(counters, onEvents, acceptBase): counters must be a "
                          "Float64Array of 2 to 131072 numbers, acceptBase <= slots");
    return NULL;
  }
  napi_value name;
  CHECK(env, napi_create_string_utf8(env, "corral-native-relay", NAPI_AUTO_LENGTH, &name));
  CHECK(env, napi_create_threadsafe_function(env, argv[1], NULL, name, 0, 1, NULL, NULL, st,
                                             call_js, &st->tsfn));
  CHECK(env, napi_unref_threadsafe_function(env, st->tsfn));
  if (st->counters_ref != NULL) napi_delete_reference(env, st->counters_ref);
  /* A new engine traces only when asked again. */
  if (st->firsts_ref != NULL) napi_delete_reference(env, st->firsts_ref);
  st->firsts_ref = NULL;
  /* Keeps the array (and so the memory the relay thread writes) alive. */
  CHECK(env, napi_create_reference(env, argv[0], 1, &st->counters_ref));
  st->capacity = (uint32_t)(length / 2);
  st->live = 0;
  st->engine = relay_engine_start(data, st->capacity, accept_base, on_events, st);
  if (st->engine == NULL) {
    int err = errno;
    napi_release_threadsafe_function(st->tsfn, napi_tsfn_abort);
    napi_throw_error(env, "CORRAL_NATIVE", strerror(err));
    return NULL;
  }
  return NULL;
}

/*
 * trace(firsts): the access log is on; firsts (Float64Array, 2 per slot) receives each
 * connection's first-byte times (relay_engine_trace). Kept alive by a reference.
 */
static napi_value js_trace(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct state *st = get_state(env);
  bool is_typed = false;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (st == NULL || st->engine == NULL || st->firsts_ref != NULL || argc < 1 ||
      napi_is_typedarray(env, argv[0], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL) !=
          napi_ok ||
      type != napi_float64_array || length < 2 * (size_t)st->capacity) {
    napi_throw_type_error(env, "CORRAL_NATIVE",
                          "trace(firsts): engine not running, already tracing, or firsts "
                          "is not a Float64Array of 2 numbers per slot");
    return NULL;
  }
  CHECK(env, napi_create_reference(env, argv[0], 1, &st->firsts_ref));
  if (relay_engine_trace(st->engine, data) != 0) {
    napi_delete_reference(env, st->firsts_ref);
    st->firsts_ref = NULL;
    napi_throw_error(env, "CORRAL_NATIVE", "out of memory");
  }
  return NULL;
}

/*
 * An epoll registration belongs to the open file description, not the fd. libuv's own
 * epoll may still hold one for a socket we take over (a connect watches for POLLOUT, a
 * listener for POLLIN; libuv removes stale entries lazily, or in a batch after the fd
 * is closed). Once our dup() keeps the description alive, such an entry outlives the JS
 * socket: libuv then gets events for an fd number that is closed or reused by another
 * socket, and its "disarm" (EPOLL_CTL_DEL by number) hits the wrong socket. Observed as
 * probes and relays hanging under load. So the JS thread removes the fd from libuv's
 * epoll before the hand-over (ENOENT when not registered is fine). For a listener that
 * also keeps libuv from accepting on it: it never re-registers a watcher it believes
 * registered.
 */
static bool forget_in_libuv(napi_env env, int fd) {
  uv_loop_t *loop = NULL;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == NULL) return false;
  int backend = uv_backend_fd(loop);
  struct epoll_event dummy;
  memset(&dummy, 0, sizeof dummy);
  return backend >= 0 && epoll_ctl(backend, EPOLL_CTL_DEL, fd, &dummy) == 0;
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
  forget_in_libuv(env, fd_a);
  forget_in_libuv(env, fd_b);
  int r = relay_engine_add(st->engine, slot, fd_a, fd_b, idle);
  if (r == 0) count_live(env, st, +1);
  napi_value out;
  CHECK(env, napi_create_int32(env, r, &out));
  return out;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct state *st = get_state(env);
  uint32_t id = 0;
  if (st == NULL || st->engine == NULL || argc < 1 ||
      napi_get_value_uint32(env, argv[0], &id) != napi_ok) {
    napi_throw_type_error(env, "CORRAL_NATIVE",
                          "close(id): engine not running or bad arguments");
    return NULL;
  }
  napi_value out;
  CHECK(env, napi_create_int32(env, relay_engine_close(st->engine, id), &out));
  return out;
}

static napi_value js_listen(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct state *st = get_state(env);
  uint32_t index = 0;
  int32_t fd = -1;
  if (st == NULL || st->engine == NULL || argc < 2 ||
      napi_get_value_uint32(env, argv[0], &index) != napi_ok ||
      napi_get_value_int32(env, argv[1], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, "CORRAL_NATIVE",
                          "listen(index, fd): engine not running or bad arguments");
    return NULL;
  }
  int r = relay_engine_listen(st->engine, index, fd);
  napi_value out;
  CHECK(env, napi_create_int32(env, r, &out));
  return out;
}

static napi_value js_forget(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, "CORRAL_NATIVE", "forget(fd): fd must be a non-negative integer");
    return NULL;
  }
  napi_value out;
  CHECK(env, napi_get_boolean(env, forget_in_libuv(env, fd), &out));
  return out;
}

static napi_value js_unlisten(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct state *st = get_state(env);
  uint32_t index = 0;
  if (argc < 1 || napi_get_value_uint32(env, argv[0], &index) != napi_ok) {
    napi_throw_type_error(env, "CORRAL_NATIVE", "unlisten(index): bad arguments");
    return NULL;
  }
  if (st != NULL && st->engine != NULL) relay_engine_unlisten(st->engine, index);
  return NULL;
}

/* Parses "1.2.3.4" or "::1" (no hostnames: the caller resolves them) into a target. */
static int parse_target(napi_env env, napi_value host, napi_value port, struct target *t) {
  char text[RELAY_PEER_LEN + 1];
  size_t len = 0;
  uint32_t p = 0;
  if (napi_get_value_string_utf8(env, host, text, sizeof text, &len) != napi_ok ||
      len >= RELAY_PEER_LEN || napi_get_value_uint32(env, port, &p) != napi_ok || p == 0 ||
      p > 65535)
    return -1;
  memset(t, 0, sizeof *t);
  struct sockaddr_in *v4 = (struct sockaddr_in *)&t->addr;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&t->addr;
  if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)p);
    t->len = sizeof *v4;
  } else if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)p);
    t->len = sizeof *v6;
  } else {
    return -1;
  }
  return 0;
}

static napi_value js_set_targets(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct state *st = get_state(env);
  uint32_t n = 0, n_ports = 0;
  bool is_array = false, ports_array = false;
  if (st == NULL || argc < 2 || napi_is_array(env, argv[0], &is_array) != napi_ok ||
      !is_array || napi_is_array(env, argv[1], &ports_array) != napi_ok || !ports_array ||
      napi_get_array_length(env, argv[0], &n) != napi_ok ||
      napi_get_array_length(env, argv[1], &n_ports) != napi_ok || n != n_ports) {
    napi_throw_type_error(env, "CORRAL_NATIVE",
                          "setTargets(hosts, ports): two arrays of the same length");
    return NULL;
  }
  struct target *table = calloc(n == 0 ? 1 : n, sizeof *table);
  if (table == NULL) {
    napi_throw_error(env, "CORRAL_NATIVE", "out of memory");
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value host, port;
    if (napi_get_element(env, argv[0], i, &host) != napi_ok ||
        napi_get_element(env, argv[1], i, &port) != napi_ok ||
        parse_target(env, host, port, &table[i]) != 0) {
      free(table);
      char message[96];
      snprintf(message, sizeof message,
               "setTargets: entry %u: expected an IP address and a port 1-65535", i);
      napi_throw_type_error(env, "CORRAL_NATIVE", message);
      return NULL;
    }
  }
  /* Verdicts copy the address at submit: the old table has no reader left. */
  free(st->targets);
  st->targets = table;
  st->target_count = n;
  return NULL;
}

static napi_value js_submit(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct state *st = get_state(env);
  bool is_typed = false;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  uint32_t count = 0;
  if (st == NULL || st->engine == NULL || argc < 2 ||
      napi_is_typedarray(env, argv[0], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL) !=
          napi_ok ||
      type != napi_float64_array || napi_get_value_uint32(env, argv[1], &count) != napi_ok ||
      (size_t)count * VERDICT_STRIDE > length) {
    napi_throw_type_error(env, "CORRAL_NATIVE",
                          "submit(verdicts, count): engine not running or bad arguments");
    return NULL;
  }
  /* Optional PROXY protocol headers, sliced by each verdict's offset and length. */
  const unsigned char *headers = NULL;
  size_t headers_len = 0;
  if (argc >= 3) {
    napi_valuetype kind;
    napi_typedarray_type htype;
    void *hdata = NULL;
    if (napi_typeof(env, argv[2], &kind) != napi_ok ||
        (kind != napi_undefined &&
         (napi_is_typedarray(env, argv[2], &is_typed) != napi_ok || !is_typed ||
          napi_get_typedarray_info(env, argv[2], &htype, &headers_len, &hdata, NULL,
                                   NULL) != napi_ok ||
          htype != napi_uint8_array))) {
      napi_throw_type_error(env, "CORRAL_NATIVE", "submit: headers must be a Uint8Array");
      return NULL;
    }
    headers = hdata;
  }
  if (count > st->verdict_cap) {
    struct relay_verdict *grown = realloc(st->verdicts, count * sizeof *grown);
    if (grown == NULL) {
      napi_throw_error(env, "CORRAL_NATIVE", "out of memory");
      return NULL;
    }
    st->verdicts = grown;
    st->verdict_cap = count;
  }
  const double *in = data;
  for (uint32_t i = 0; i < count; i++) {
    const double *v = &in[i * VERDICT_STRIDE];
    struct relay_verdict *out = &st->verdicts[i];
    memset(out, 0, sizeof *out);
    out->id = (uint32_t)v[0];
    double target = v[1];
    out->connect_ms = v[2] > 0 && v[2] < 4294967295.0 ? (uint32_t)v[2] : 0;
    out->idle_ms = v[3] > 0 && v[3] < 4294967295.0 ? (uint32_t)v[3] : 0;
    /* A slice outside the buffer (cannot happen from native-engine.ts): no header. */
    if (headers != NULL && v[5] > 0 && v[4] >= 0 && v[4] + v[5] <= (double)headers_len) {
      out->header = headers + (size_t)v[4];
      out->header_len = (uint32_t)v[5];
    }
    if (target >= 0 && target < st->target_count) {
      const struct target *t = &st->targets[(uint32_t)target];
      out->addr = t->addr;
      out->addr_len = t->len;
    } else {
      out->reject = 1; /* -1, or an index of no table: nothing to connect to */
    }
  }
  napi_value out;
  CHECK(env, napi_create_int32(env, relay_engine_submit(st->engine, st->verdicts, count),
                               &out));
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
      {"listen", NULL, js_listen, NULL, NULL, NULL, napi_default, NULL},
      {"forget", NULL, js_forget, NULL, NULL, NULL, napi_default, NULL},
      {"unlisten", NULL, js_unlisten, NULL, NULL, NULL, napi_default, NULL},
      {"setTargets", NULL, js_set_targets, NULL, NULL, NULL, napi_default, NULL},
      {"submit", NULL, js_submit, NULL, NULL, NULL, napi_default, NULL},
      {"trace", NULL, js_trace, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) !=
      napi_ok)
    return NULL;
  return exports;
}
