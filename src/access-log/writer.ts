// The access log's own destination: a file (opened O_APPEND, reopened on request for
// logrotate) or stdout. Lines queue in memory and are written by the libuv thread pool
// (fs.write), so a slow disk or a stalled stdout reader never blocks the event loop, and
// so never the data path: past MAX_QUEUED_BYTES a line is dropped and counted instead.
//
// Whole lines only, one writer per process:
// 1. A file is opened with O_APPEND: every write() lands at the end of the file as it is
//    then, and Linux holds the inode lock for a regular file's write, so the whole-line
//    buffers of several worker processes never interleave within a line.
// 2. stdout may be a pipe shared with the other workers: there only writes of at most
//    PIPE_BUF (4096) bytes are atomic, so each write carries whole lines up to that size.
import { close, open, write } from 'node:fs'

/** Bytes of lines waiting to be written before new lines are dropped. */
export const MAX_QUEUED_BYTES = 1_048_576

/** Largest write to a pipe that POSIX keeps atomic (Linux PIPE_BUF). */
export const PIPE_BUF = 4096

/**
 * Lines are gathered this long before a write: one thread-pool write per batch instead
 * of one per connection (at 5,000 connections/s a write per line cost a quarter of the
 * new-connection rate; bench workload access-log-close).
 */
export const FLUSH_MS = 20

/** Retry delay after EAGAIN (a non-blocking stdout that is full) or a failed open. */
const RETRY_MS = 50

/** What the writer reports to its owner. */
export interface WriterEvents {
  /** A line was dropped: the queue was full. */
  readonly dropped: () => void
  /** Opening or writing failed (the lines are kept and retried). */
  readonly failed: (err: Error) => void
}

/** Appends whole lines to a file or stdout without blocking the caller. */
export class LineWriter {
  readonly #destination: string
  readonly #events: WriterEvents
  #fd: number | null = null
  #queue: string[] = []
  #queuedBytes = 0
  #busy = false
  #reopen = false
  #closed = false
  #retry: NodeJS.Timeout | undefined = undefined
  #flush: NodeJS.Timeout | undefined = undefined
  #flushed: (() => void)[] = []

  /** `destination`: "stdout" or an absolute file path (opened on the first write). */
  constructor(destination: string, events: WriterEvents) {
    this.#destination = destination
    this.#events = events
    if (destination === 'stdout') this.#fd = 1
  }

  /** Queues `line` (ending in "\n"); false if it was dropped (queue full or closed). */
  write(line: string): boolean {
    if (this.#closed || this.#queuedBytes + line.length > MAX_QUEUED_BYTES) {
      this.#events.dropped()
      return false
    }
    this.#queue.push(line)
    this.#queuedBytes += line.length
    this.#flush ??= setTimeout(this.#onFlush, FLUSH_MS).unref()
    return true
  }

  /**
   * Closes the file once a write in progress is done and opens the path again
   * (rotation); lines still queued go to the new file.
   */
  reopen(): void {
    if (this.#destination === 'stdout' || this.#closed) return
    this.#reopen = true
    if (!this.#busy && this.#retry === undefined) this.#pump()
  }

  /** Writes what is queued, then closes the file; resolves when done. */
  async close(): Promise<void> {
    if (this.#flush !== undefined) {
      clearTimeout(this.#flush)
      this.#onFlush()
    }
    if (this.#queue.length > 0 || this.#busy) {
      await new Promise<void>(resolve => this.#flushed.push(resolve))
    }
    this.#closed = true
    if (this.#retry !== undefined) clearTimeout(this.#retry)
    const fd = this.#fd
    this.#fd = null
    if (fd !== null && fd !== 1)
      await new Promise<void>(resolve => {
        close(fd, () => {
          resolve()
        })
      })
  }

  #onFlush = (): void => {
    this.#flush = undefined
    if (!this.#busy && this.#retry === undefined) this.#pump()
  }

  #pump(): void {
    if (this.#reopen && this.#fd !== null) {
      const old = this.#fd
      this.#fd = null
      this.#reopen = false
      this.#busy = true
      close(old, () => {
        this.#busy = false
        this.#pump()
      })
      return
    }
    if (this.#queue.length === 0) {
      const waiters = this.#flushed
      this.#flushed = []
      for (const w of waiters) w()
      return
    }
    if (this.#fd === null) {
      this.#reopen = false
      this.#busy = true
      open(this.#destination, 'a', 0o640, (err, fd) => {
        this.#busy = false
        if (err !== null) {
          this.#failed(err)
          return
        }
        this.#fd = fd
        this.#pump()
      })
      return
    }
    const buffer = Buffer.from(this.#take())
    this.#writeAll(this.#fd, buffer, 0)
  }

  /** Joins queued lines into one write: all of them to a file, ≤ PIPE_BUF to stdout. */
  #take(): string {
    const queue = this.#queue
    if (this.#destination !== 'stdout') {
      this.#queue = []
      this.#queuedBytes = 0
      return queue.join('')
    }
    let n = 1
    let bytes = queue[0]?.length ?? 0
    while (n < queue.length && bytes + (queue[n]?.length ?? 0) <= PIPE_BUF) {
      bytes += queue[n]?.length ?? 0
      n++
    }
    this.#queuedBytes -= bytes
    return queue.splice(0, n).join('')
  }

  #writeAll(fd: number, buffer: Buffer, offset: number): void {
    this.#busy = true
    write(fd, buffer, offset, buffer.length - offset, null, (err, written) => {
      this.#busy = false
      if (err !== null) {
        // Put the unwritten rest back in front: nothing queued is lost on a retry.
        this.#queue.unshift(buffer.subarray(offset).toString())
        this.#queuedBytes += buffer.length - offset
        this.#failed(err)
        return
      }
      if (offset + written < buffer.length) {
        this.#writeAll(fd, buffer, offset + written)
        return
      }
      this.#pump()
    })
  }

  #failed(err: NodeJS.ErrnoException): void {
    if (err.code !== 'EAGAIN') this.#events.failed(err)
    this.#retry = setTimeout(() => {
      this.#retry = undefined
      this.#pump()
    }, RETRY_MS)
    this.#retry.unref()
  }
}
