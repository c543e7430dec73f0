// The /metrics scraper of the metrics-cost workload: it scrapes at a fixed interval only
// while the work runs, and counts failed scrapes apart from answered ones.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { Scraper } from '../../bench/scraper.js'

/** A server answering 200 to the first `okCount` requests and 500 after; counts them. */
async function metricsServer(
  okCount: number,
): Promise<{ url: string; hits: () => number }> {
  let hits = 0
  const server: Server = createServer((_req, res) => {
    hits++
    res.statusCode = hits <= okCount ? 200 : 500
    res.end('corral_up 1\n')
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/metrics`, hits: () => hits }
}

void t.test('scrapes at the start and every interval until the work ends', async t => {
  const server = await metricsServer(2)
  // Intervals long enough that a scrape on a busy machine still answers within one
  // (a scrape timed out client-side may never reach the server: counted, no hit).
  const scraper = new Scraper(server.url, 400)
  const value = await scraper.during(async () => {
    await sleep(1_400)
    return 'done'
  })
  t.equal(value, 'done', 'the work result is passed through')
  const { scrapes, failures } = scraper.counts
  t.equal(scrapes, 2, 'the 200 answers')
  t.ok(failures >= 1, `the 500 answers are failures (${failures})`)
  t.equal(
    scrapes + failures,
    server.hits(),
    `every request is counted once (${scrapes} + ${failures})`,
  )
  const after = server.hits()
  await sleep(600)
  t.equal(server.hits(), after, 'no scrape after the work ended')
})

void t.test(
  'an unreachable endpoint counts failures and does not fail the work',
  async t => {
    const server = await metricsServer(0)
    const scraper = new Scraper(server.url.replace(/:\d+\//, ':1/'), 100)
    await scraper.during(() => sleep(50))
    t.strictSame(scraper.counts, { scrapes: 0, failures: 1 })
  },
)

void t.test('a failing work still stops the scraping', async t => {
  const server = await metricsServer(10)
  const scraper = new Scraper(server.url, 50)
  await t.rejects(
    scraper.during(async () => {
      await sleep(20)
      throw new Error('wrk failed')
    }),
    { message: 'wrk failed' },
  )
  const after = server.hits()
  await sleep(150)
  t.equal(server.hits(), after)
})
