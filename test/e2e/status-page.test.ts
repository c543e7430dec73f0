// The admin status page in a real headless Chromium: it renders the pool, follows a
// member going down and coming back within its one-second refresh, and shows the failure
// margin, live and routable members apart (issue #24). CORRAL_UPDATE_SCREENSHOT=1
// refreshes docs/status-page.png (taken with r2 down and r3 draining).
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Page } from 'playwright-core'
import t from 'tap'
import { startReplica } from '../../src/demo/replica.js'
import { startCorral } from '../helpers/corral-process.js'
import { adminRequest } from '../helpers/http-client.js'
import { lbYaml, stateChanged } from '../helpers/lb-config.js'

const CHROMIUM_PATH = '/usr/bin/chromium'
const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
// The page polls every second; a state change reaches corral within fall × interval
// (2 × 200 ms) + timeout. Two refreshes plus slack for a busy 2-core CI machine.
const PAGE_TIMEOUT_MS = 5_000
// Compiled to dist/test/e2e/, so the repository root is three levels up.
const DOCS_SCREENSHOT = fileURLToPath(
  new URL('../../../docs/status-page.png', import.meta.url),
)

const chromiumMissing = existsSync(CHROMIUM_PATH)
  ? false
  : `${CHROMIUM_PATH} is missing: install the Debian package "chromium" to run this test`

/** Waits until the `state` badge of `member`'s row reads exactly `state`. */
async function waitForMemberState(
  page: Page,
  member: string,
  state: string,
): Promise<void> {
  await page
    .locator(`tr[data-member="${member}"] span[data-testid="state"]`)
    .filter({ hasText: new RegExp(`^${state}$`) })
    .waitFor({ timeout: PAGE_TIMEOUT_MS })
}

/** Waits until the summary card labelled `label` shows exactly `value`. */
async function waitForCard(page: Page, label: string, value: string): Promise<void> {
  await page
    .locator(`[data-testid="${label}"] b`)
    .filter({ hasText: new RegExp(`^${value}$`) })
    .waitFor({ timeout: PAGE_TIMEOUT_MS })
}

/** The state badge text of every member row, by member id, as rendered now. */
async function renderedStates(page: Page): Promise<Record<string, string>> {
  const states: Record<string, string> = {}
  for (const row of await page.locator('tr[data-member]').all()) {
    const id = (await row.getAttribute('data-member')) ?? ''
    states[id] = (await row.locator('[data-testid="state"]').textContent()) ?? ''
  }
  return states
}

void t.test(
  'the status page follows a member going down and coming back',
  { skip: chromiumMissing },
  async t => {
    const replicas = await Promise.all(['r1', 'r2', 'r3'].map(id => startReplica(id)))
    t.teardown(() => Promise.all(replicas.map(r => r.kill())))
    const dir = t.testdir()
    const lb = await startCorral(dir, lbYaml(replicas))
    t.teardown(() => lb.stop())
    await Promise.all(replicas.map(r => lb.waitForLog(stateChanged(r.id, 'up'))))
    const [, r2, r3] = replicas
    if (r2 === undefined || r3 === undefined) throw new Error('no r2/r3')

    const browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: [...CHROMIUM_ARGS],
      timeout: 30_000,
    })
    t.teardown(() => browser.close())
    const page = await browser.newPage({ viewport: { width: 1200, height: 320 } })
    const scriptErrors: string[] = []
    const failedRequests: string[] = []
    page.on('pageerror', err => scriptErrors.push(err.message))
    page.on('console', msg => {
      // Failed loads are logged too; they are checked by URL from the responses below.
      if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) {
        scriptErrors.push(msg.text())
      }
    })
    page.on('response', res => {
      // Browsers ask for /favicon.ico on their own; the admin API has none (a 404).
      const path = new URL(res.url()).pathname
      if (res.status() >= 400 && path !== '/favicon.ico') {
        failedRequests.push(`${res.status()} ${res.url()}`)
      }
    })

    const response = await page.goto(`${lb.adminUrl}/`, { timeout: PAGE_TIMEOUT_MS })
    t.equal(response?.status(), 200, 'GET / answers 200')
    t.equal(await page.title(), 'corral status', 'the page title')

    await t.test('it renders three members, all up, tolerating one failure', async t => {
      for (const r of replicas) await waitForMemberState(page, r.id, 'up')
      await waitForCard(page, 'failures tolerated', '1')
      t.strictSame(
        await renderedStates(page),
        { r1: 'up', r2: 'up', r3: 'up' },
        'one row per member, each up',
      )
      t.equal(
        await page.locator('[data-testid="members"] b').textContent(),
        '3',
        'members card: 3',
      )
      t.equal(
        await page.locator('[data-testid="quorum"] b').textContent(),
        'yes',
        'quorum card: yes',
      )
      const r1 = replicas[0]
      t.match(
        await page.locator('tr[data-member="r1"]').textContent(),
        `127.0.0.1 http:${r1?.port ?? 0}`,
        "r1's row shows its address and listener:port",
      )
      t.equal(
        await page
          .locator('tr[data-member="r1"] [data-testid="proxy-protocol"]')
          .textContent(),
        'proxy off',
        "r1's row shows its effective PROXY protocol setting",
      )
    })

    await t.test(
      'a member turning unhealthy shows down, with no margin left',
      async t => {
        r2.setHealthStatus(503)
        await waitForMemberState(page, 'r2', 'down')
        await waitForCard(page, 'failures tolerated', '0')
        t.strictSame(
          await renderedStates(page),
          { r1: 'up', r2: 'down', r3: 'up' },
          'r2 down, the others up',
        )
        t.equal(
          await page.locator('[data-testid="live"] b').textContent(),
          '2 / 3',
          'live card: 2 / 3',
        )
        t.equal(
          await page.locator('[data-testid="routable"] b').textContent(),
          '2 / 3',
          'routable card: 2 / 3',
        )
        t.match(
          await page.locator('tr[data-member="r2"]').textContent(),
          /bad-status 503/,
          "r2's row shows why its last check failed",
        )
        t.match(
          await page.locator('[data-testid="failures tolerated"]').getAttribute('class'),
          /\bwarn\b/,
          'the failures-tolerated card is highlighted as a warning',
        )
      },
    )

    await t.test(
      'draining a healthy member lowers routable, not live: quorum held (issue #24)',
      async t => {
        // r2 is down, which uses the drain budget of a 3-member pool (1 out at a time):
        // a plain drain is refused, the operator forces it.
        const refused = await adminRequest(
          lb.adminPort,
          'POST',
          '/api/v1/members/r3/drain',
        )
        t.equal(refused.status, 409, 'the drain budget holds on one instance too')
        const drained = await adminRequest(
          lb.adminPort,
          'POST',
          '/api/v1/members/r3/drain?force=true',
        )
        t.equal(drained.status, 200)
        await waitForMemberState(page, 'r3', 'draining')
        await waitForCard(page, 'drains', '1 / 0')
        await waitForCard(page, 'routable', '1 / 3')
        t.equal(
          await page.locator('[data-testid="live"] b').textContent(),
          '2 / 3',
          'live card: 2 / 3 (r3 drained but passing its checks)',
        )
        t.equal(
          await page.locator('[data-testid="quorum"] b').textContent(),
          'yes',
          'quorum card: yes',
        )
        t.equal(
          await page.locator('[data-testid="failures tolerated"] b').textContent(),
          '0',
          'failures tolerated: 0',
        )
        t.match(
          await page.locator('[data-testid="routable"]').getAttribute('class'),
          /\bwarn\b/,
          'the routable card warns: below a majority',
        )
        t.match(
          await page.locator('#notes').textContent(),
          /1 live member is out of rotation \(draining or disabled\)/,
          'a note says why live and routable differ',
        )
        const path =
          process.env.CORRAL_UPDATE_SCREENSHOT === '1'
            ? DOCS_SCREENSHOT
            : join(dir, 'status-page.png')
        const png = await page.screenshot({ path, fullPage: true, type: 'png' })
        t.ok(png.length > 0, `screenshot with r2 down and r3 draining written to ${path}`)
      },
    )

    await t.test('the drained member failing too: "quorum lost, 1 short"', async t => {
      r3.setHealthStatus(503)
      await waitForCard(page, 'failures tolerated', 'quorum lost, 1 short')
      await waitForCard(page, 'live', '1 / 3')
      t.equal(
        await page.locator('[data-testid="quorum"] b').textContent(),
        'LOST',
        'quorum card: LOST',
      )
      t.match(
        await page.locator('[data-testid="failures tolerated"]').getAttribute('class'),
        /\bbad\b/,
        'the failures-tolerated card is red',
      )
      r3.setHealthStatus(200)
      await waitForCard(page, 'live', '2 / 3')
      const enabled = await adminRequest(
        lb.adminPort,
        'POST',
        '/api/v1/members/r3/enable',
      )
      t.equal(enabled.status, 200)
      await waitForMemberState(page, 'r3', 'up')
    })

    await t.test('the member recovering shows up again', async t => {
      r2.setHealthStatus(200)
      await waitForMemberState(page, 'r2', 'up')
      await waitForCard(page, 'failures tolerated', '1')
      t.strictSame(
        await renderedStates(page),
        { r1: 'up', r2: 'up', r3: 'up' },
        'every member up again',
      )
    })

    t.equal(await page.locator('#error').textContent(), '', 'the page never lost corral')
    t.strictSame(scriptErrors, [], 'no script errors on the page')
    t.strictSame(failedRequests, [], 'every request of the page succeeded')
  },
)
