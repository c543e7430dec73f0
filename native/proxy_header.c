/* PROXY protocol headers on the native data path: see proxy_header.h. */
#define _GNU_SOURCE
#include "proxy_header.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "relay.h"

int relay_header_set(struct relay_header *h, const unsigned char *bytes, uint32_t len) {
  relay_header_free(h);
  if (len == 0 || bytes == NULL) return 0;
  h->bytes = malloc(len);
  if (h->bytes == NULL) return ENOMEM;
  memcpy(h->bytes, bytes, len);
  h->len = len;
  return 0;
}

void relay_header_move(struct relay_header *dst, struct relay_header *src) {
  relay_header_free(dst);
  *dst = *src;
  src->bytes = NULL;
  src->len = src->sent = 0;
}

void relay_header_free(struct relay_header *h) {
  free(h->bytes);
  h->bytes = NULL;
  h->len = h->sent = 0;
}

int relay_header_pending(const struct relay_header *h) { return h->sent < h->len; }

int relay_header_write(struct relay_header *h, int fd, int client_fd) {
  int waiting = 0;
  /* FIONREAD cannot fail on a connected TCP socket; if it does, no MSG_MORE. */
  if (ioctl(client_fd, FIONREAD, &waiting) < 0) waiting = 0;
  while (h->sent < h->len) {
    ssize_t n = send(fd, h->bytes + h->sent, h->len - h->sent,
                     MSG_NOSIGNAL | (waiting > 0 ? MSG_MORE : 0));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      return -errno;
    }
    h->sent += (uint32_t)n;
  }
  return 1;
}
