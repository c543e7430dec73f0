// The stand-in answers every recorded Toxiproxy 2.12.0 exchange the way the real server
// did (status, content-type, nosniff, request id, body per the golden `compare` rule).
import { readFileSync } from 'node:fs'
import t from 'tap'
import {
  isGoldenList,
  replayOne,
  startReplayFixtures,
} from '../../chaos/toxiproxy/golden.js'
import { startToxiproxyStandIn } from '../../chaos/toxiproxy/server.js'

const goldenPath = new URL(
  '../../../test/chaos/fixtures/toxiproxy-golden.json',
  import.meta.url,
)
const golden: unknown = JSON.parse(readFileSync(goldenPath, 'utf8'))
if (!isGoldenList(golden))
  throw new Error(`${goldenPath.pathname}: not a golden exchange list`)

void t.test(
  'every recorded exchange replays identically, in order, on a fresh server',
  async t => {
    t.equal(golden.length, 157, 'the golden file holds 157 exchanges')
    const fixtures = await startReplayFixtures()
    t.teardown(() => fixtures.close())
    // TOXIPROXY_GOLDEN_URL points the same replay at a real, freshly started server.
    const external = process.env.TOXIPROXY_GOLDEN_URL
    const standIn = external === undefined ? await startToxiproxyStandIn() : undefined
    t.teardown(() => standIn?.close())
    const base = external ?? standIn?.url ?? ''
    for (const ex of golden) {
      const result = await replayOne(base, ex, fixtures.bound)
      t.strictSame(result.problems, [], ex.case)
    }
  },
)
