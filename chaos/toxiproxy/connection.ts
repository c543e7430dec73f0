// One client connection through a stand-in proxy: two directions (upstream: client →
// server, downstream: server → client), each a queue of chunks run through that
// direction's toxics in order. Semantics follow Toxiproxy 2.12.0 as measured in
// shared/toxiproxy-api/behaviour.md (see each case below).
import type { Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { slicePieces, type Direction, type Toxic } from './toxic.js'

type Item = { kind: 'data'; data: Buffer; atMs: number } | { kind: 'end' }

interface ToxicState {
  /** The toxicity roll: decided once per connection (and again on update), not per chunk. */
  active: boolean
  timer: NodeJS.Timeout | undefined
  bytes: number
  fired: boolean
  /** Bandwidth: sleep owed (ms), carried across chunks as Toxiproxy does. */
  debtMs: number
}

/** Pause reading a side once this many bytes wait in its queue (back-pressure). */
const HIGH_WATER_BYTES = 1 << 20

/** A live relayed connection; the proxy tells it about toxic changes. */
export class Connection {
  readonly openedAtMs = performance.now()
  private closed = false
  private readonly states = new Map<Toxic, ToxicState>()

  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
    private readonly toxics: () => readonly Toxic[],
    private readonly onClosed: (c: Connection) => void,
  ) {
    for (const t of toxics()) this.toxicAdded(t)
    this.pipe(client, upstream, 'upstream')
    this.pipe(upstream, client, 'downstream')
    let gone = 0
    const onSocketClose = (hadError: boolean): void => {
      gone++
      // Either side failing (reset, error) ends the whole connection; a clean close of
      // one side does not, since the other may still be delivering delayed data.
      if (hadError && !this.closed) this.destroy()
      if (gone === 2) this.finish()
    }
    client.once('close', onSocketClose)
    upstream.once('close', onSocketClose)
    client.resume()
  }

  /** A toxic was added to the proxy: roll its toxicity and start its timers. */
  toxicAdded(toxic: Toxic): void {
    const state: ToxicState = {
      active: Math.random() < toxic.toxicity,
      timer: undefined,
      bytes: 0,
      fired: false,
      debtMs: 0,
    }
    this.states.set(toxic, state)
    // timeout: "the timer starts when the connection is set up" (behaviour.md).
    if (toxic.type === 'timeout') this.armTimeout(toxic, state)
  }

  /** A toxic's attributes or toxicity changed: re-roll and restart, as Toxiproxy re-creates the stub. */
  toxicUpdated(toxic: Toxic): void {
    this.clearState(toxic)
    this.toxicAdded(toxic)
  }

  /** A toxic was removed; removing a `timeout` closes the connections it holds (FIN). */
  toxicRemoved(toxic: Toxic): void {
    const state = this.states.get(toxic)
    this.clearState(toxic)
    if (toxic.type === 'timeout' && state?.active === true) this.close('fin')
  }

  /** Closes both sides: 'fin' ends them cleanly, 'rst' resets the client (abortive close). */
  close(mode: 'fin' | 'rst'): void {
    if (this.closed) return
    this.closed = true
    this.clearTimers()
    if (mode === 'rst') {
      this.client.resetAndDestroy()
      this.upstream.destroy()
      return
    }
    for (const socket of [this.client, this.upstream]) {
      socket.end()
      // The peer may never close its side; do not hold the socket forever.
      setTimeout(() => socket.destroy(), 1_000).unref()
    }
  }

  /** Destroys both sockets at once. */
  destroy(): void {
    this.closed = true
    this.clearTimers()
    this.client.destroy()
    this.upstream.destroy()
  }

  private finish(): void {
    this.closed = true
    this.clearTimers()
    this.onClosed(this)
  }

  private clearState(toxic: Toxic): void {
    const state = this.states.get(toxic)
    if (state?.timer !== undefined) clearTimeout(state.timer)
    this.states.delete(toxic)
  }

  private clearTimers(): void {
    for (const s of this.states.values()) if (s.timer !== undefined) clearTimeout(s.timer)
  }

  private armTimeout(toxic: Toxic, state: ToxicState): void {
    if (state.timer !== undefined) clearTimeout(state.timer)
    state.timer = undefined
    const ms = Number(toxic.attributes.timeout ?? 0n)
    if (!state.active || ms <= 0 || this.closed) return
    state.timer = setTimeout(() => {
      this.close('fin')
    }, ms)
  }

  private stateOf(toxic: Toxic): ToxicState | undefined {
    return this.states.get(toxic)
  }

  private pipe(source: Socket, dest: Socket, direction: Direction): void {
    const queue: Item[] = []
    let queuedBytes = 0
    let running = false
    const pump = async (): Promise<void> => {
      running = true
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
        if (item.kind === 'data') queuedBytes -= item.data.length
        if (queuedBytes < HIGH_WATER_BYTES / 4 && source.isPaused()) source.resume()
        if (this.closed) break
        const stages = this.toxics().filter(t => t.direction === direction)
        await this.runStage(stages, 0, item, dest)
      }
      running = false
    }
    const push = (item: Item): void => {
      queue.push(item)
      if (!running) {
        pump().catch(() => {
          // A write to a socket that closed meanwhile: the close handlers tidy up.
          this.destroy()
        })
      }
    }
    source.on('data', (data: Buffer) => {
      if (this.closed) return
      queuedBytes += data.length
      if (queuedBytes > HIGH_WATER_BYTES) source.pause()
      push({ kind: 'data', data, atMs: performance.now() })
    })
    source.on('end', () => {
      push({ kind: 'end' })
    })
    source.on('error', () => {
      // Reported by 'close', which destroys the other side.
    })
  }

  private async runStage(
    stages: readonly Toxic[],
    index: number,
    item: Item,
    dest: Socket,
  ): Promise<void> {
    if (this.closed) return
    const toxic = stages[index]
    if (toxic === undefined) {
      await deliver(dest, item)
      return
    }
    const next = (it: Item): Promise<void> => this.runStage(stages, index + 1, it, dest)
    const state = this.stateOf(toxic)
    if (!state?.active) {
      await next(item)
      return
    }
    const attr = (key: string): number => Number(toxic.attributes[key] ?? 0n)
    switch (toxic.type) {
      case 'noop':
        await next(item)
        return
      case 'latency': {
        if (item.kind === 'data') {
          // Measured from the chunk's arrival, so queued chunks do not add up their delays.
          const jitter = attr('jitter')
          const spread = jitter > 0 ? Math.floor(Math.random() * jitter * 2) - jitter : 0
          const waitMs = item.atMs + attr('latency') + spread - performance.now()
          if (waitMs > 0) await sleep(waitMs)
        }
        await next(item)
        return
      }
      case 'bandwidth': {
        const rate = attr('rate') // KB/s with 1 KB = 1000 bytes (behaviour.md)
        if (item.kind === 'end' || rate <= 0) {
          await next(item)
          return
        }
        let data = item.data
        state.debtMs += data.length / rate
        const perInterval = rate * 100
        while (data.length > perInterval) {
          await sleep(100)
          await next({
            kind: 'data',
            data: data.subarray(0, perInterval),
            atMs: item.atMs,
          })
          data = data.subarray(perInterval)
          state.debtMs -= 100
        }
        const start = performance.now()
        if (state.debtMs > 0) await sleep(state.debtMs)
        state.debtMs -= performance.now() - start
        await next({ kind: 'data', data, atMs: item.atMs })
        return
      }
      case 'slow_close':
        // Data is not delayed, only the close (behaviour.md).
        if (item.kind === 'end') await sleep(Math.max(0, attr('delay')))
        await next(item)
        return
      case 'timeout':
        // Data is dropped; each chunk restarts the inactivity timer.
        if (item.kind === 'end') await next(item)
        else this.armTimeout(toxic, state)
        return
      case 'reset_peer': {
        if (item.kind === 'end') {
          await next(item)
          return
        }
        if (state.fired) return
        state.fired = true
        await sleep(Math.max(0, attr('timeout')))
        // RST only for connections opened while the toxic existed; older ones get FIN.
        this.close(this.openedAtMs < toxic.addedAtMs ? 'fin' : 'rst')
        return
      }
      case 'slicer': {
        if (item.kind === 'end') {
          await next(item)
          return
        }
        const sizes = slicePieces(
          item.data.length,
          attr('average_size'),
          attr('size_variation'),
          Math.random,
        )
        let offset = 0
        for (const size of sizes) {
          await next({
            kind: 'data',
            data: item.data.subarray(offset, offset + size),
            atMs: item.atMs,
          })
          offset += size
          // delay is in microseconds (behaviour.md).
          const delayMs = attr('delay') / 1000
          if (delayMs > 0) await sleep(delayMs)
        }
        return
      }
      case 'limit_data': {
        if (item.kind === 'end') {
          await next(item)
          return
        }
        const remaining = attr('bytes') - state.bytes
        if (remaining <= 0) {
          this.close('fin')
          return
        }
        if (item.data.length < remaining) {
          state.bytes += item.data.length
          await next(item)
          return
        }
        state.bytes += remaining
        await next({
          kind: 'data',
          data: item.data.subarray(0, remaining),
          atMs: item.atMs,
        })
        // Hitting the limit closes the whole connection, in either direction.
        this.close('fin')
        return
      }
    }
  }
}

async function deliver(dest: Socket, item: Item): Promise<void> {
  if (dest.destroyed) return
  if (item.kind === 'end') {
    dest.end()
    return
  }
  if (!dest.write(item.data)) {
    await new Promise<void>(resolve => {
      const done = (): void => {
        dest.off('drain', done)
        dest.off('close', done)
        resolve()
      }
      dest.once('drain', done)
      dest.once('close', done)
    })
  }
}
