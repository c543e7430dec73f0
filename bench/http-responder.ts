// The members' HTTP/1.1 responder: a fixed 200 "ok" to every request head, keep-alive
// unless the client asks to close. Pure string handling; backend-server.ts does the I/O.
// Used instead of node:http because, sharing core 1 with wrk, a node:http member was the
// bottleneck (~48k req/s) and hid the differences between proxies.

const RESPONSE = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n'
const KEEP = Buffer.from(`${RESPONSE}\r\nok`)
const CLOSE = Buffer.from(`${RESPONSE}Connection: close\r\n\r\nok`)
const HEAD_END = '\r\n\r\n'

/**
 * Whether a request head asks to close: `Connection: close`, or HTTP/1.0 without
 * keep-alive (HAProxy's httpchk sends HTTP/1.0).
 */
export function wantsClose(head: string): boolean {
  if (/\r\nconnection:[ \t]*close/i.test(head)) return true
  const http10 = head.slice(0, head.indexOf('\r\n')).endsWith('HTTP/1.0')
  return http10 && !/\r\nconnection:[ \t]*keep-alive/i.test(head)
}

/**
 * Answers every complete request head in `buffered` ("ok", 200); returns the unfinished
 * rest, whether the connection should close, and how many requests were answered.
 * Requests carry no body (GET), so a head ends a request.
 */
export function answerRequests(
  buffered: string,
  write: (response: Buffer) => void,
): { rest: string; close: boolean; answered: number } {
  let start = 0
  let answered = 0
  for (;;) {
    const end = buffered.indexOf(HEAD_END, start)
    if (end < 0) break
    const close = wantsClose(buffered.slice(start, end + 2))
    write(close ? CLOSE : KEEP)
    answered++
    start = end + HEAD_END.length
    if (close) return { rest: '', close: true, answered }
  }
  return { rest: buffered.slice(start), close: false, answered }
}
