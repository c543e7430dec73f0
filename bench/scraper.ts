// Scrapes a Prometheus endpoint at a fixed interval while some work runs, as a
// Prometheus server would, and counts answered and failed scrapes.

/** What one scraping session saw. */
export interface ScrapeCounts {
  /** Scrapes answered 200 with a body read to the end. */
  readonly scrapes: number
  /** Scrapes that failed: another status, an error, or no answer within the interval. */
  readonly failures: number
}

/** Scrapes `url` every `intervalMs`, one scrape at a time, while `during` runs. */
export class Scraper {
  #ok = 0
  #failed = 0
  #inFlight: Promise<void> | undefined
  readonly #url: string
  readonly #intervalMs: number

  constructor(url: string, intervalMs: number) {
    this.#url = url
    this.#intervalMs = intervalMs
  }

  /** Counts so far. */
  get counts(): ScrapeCounts {
    return { scrapes: this.#ok, failures: this.#failed }
  }

  /**
   * Runs `work`, scraping at its start and then every interval until it settles; the
   * last scrape is awaited, so nothing outlives the call.
   */
  async during<T>(work: () => Promise<T>): Promise<T> {
    const tick = () => {
      // A scrape slower than the interval delays the next instead of piling up.
      if (this.#inFlight !== undefined) return
      this.#inFlight = this.#scrapeOnce().finally(() => {
        this.#inFlight = undefined
      })
    }
    tick()
    const timer = setInterval(tick, this.#intervalMs)
    try {
      return await work()
    } finally {
      clearInterval(timer)
      await this.#inFlight
    }
  }

  async #scrapeOnce(): Promise<void> {
    try {
      const res = await fetch(this.#url, {
        signal: AbortSignal.timeout(this.#intervalMs),
      })
      await res.text()
      if (res.ok) this.#ok++
      else this.#failed++
    } catch {
      this.#failed++
    }
  }
}
