/*
 * PROXY protocol headers on the native data path (issue #23): the relay thread writes
 * to the member, after its connect and before any client byte, a header TypeScript
 * built (src/proxy/proxy-header.ts), and reports the address a client connected to (the
 * header's destination). Kept apart from relay.c, which calls these few functions.
 */
#ifndef CORRAL_PROXY_HEADER_H
#define CORRAL_PROXY_HEADER_H

#include <stdint.h>

/** A header to write to a member: an owned copy, `sent` bytes of it written so far. */
struct relay_header {
  unsigned char *bytes;
  uint32_t len;
  uint32_t sent;
};

/* Replaces h with a copy of bytes[0..len) (len 0: no header). 0, or ENOMEM. */
int relay_header_set(struct relay_header *h, const unsigned char *bytes, uint32_t len);

/* Moves src's header into dst (dst's own is freed); src is left empty. */
void relay_header_move(struct relay_header *dst, struct relay_header *src);

/* Frees the copy; h is left empty (no header). */
void relay_header_free(struct relay_header *h);

/* Whether part of the header is still to be written. */
int relay_header_pending(const struct relay_header *h);

/*
 * Writes what is left of the header to the member socket `fd`. Returns 1 once all of it
 * is written (or there is none), 0 when the socket is full (wait for its EPOLLOUT), or
 * -errno. When the client socket `client_fd` has bytes waiting, the header goes with
 * MSG_MORE so that the splice of those bytes right after leaves in the same segment.
 */
int relay_header_write(struct relay_header *h, int fd, int client_fd);


#endif
