// dataPath (issue #14): which data path corral runs is stated once in the log, in the pool
// API summary and as corral_data_path_info, and both paths relay.
import t from 'tap'
import { startReplica } from '../../src/demo/replica.js'
import { loadNativeAddon } from '../../src/proxy/native-loader.js'
import { startCorral } from '../helpers/corral-process.js'
import { adminRequest, httpRequest } from '../helpers/http-client.js'
import { lbYaml, stateChanged } from '../helpers/lb-config.js'

const nativeBuilt = !('error' in loadNativeAddon())

for (const setting of ['js', 'auto'] as const) {
  const expected = setting === 'auto' && nativeBuilt ? 'native' : 'js'
  void t.test(`dataPath: ${setting} runs the ${expected} path and says so`, async t => {
    const replica = await startReplica('r1')
    t.teardown(() => replica.kill())
    const lb = await startCorral(
      t.testdir(),
      lbYaml([replica], {
        health: '{ interval: 200ms, timeout: 1s, rise: 1, fall: 3, jitter: 0 }',
        extra: `dataPath: ${setting}`,
      }),
    )
    t.teardown(() => lb.stop('SIGKILL'))
    await lb.waitForLog(stateChanged('r1', 'up'))
    const said = lb.logs.filter(l => l.dataPath !== undefined)
    t.equal(said.length, 1, 'the log says it once')
    t.equal(said[0]?.dataPath, expected)
    const pool = await adminRequest(lb.adminPort, 'GET', '/api/v1/pool')
    const summary = (pool.json as { summary: Record<string, unknown> }).summary
    t.equal(summary.dataPath, expected, 'pool API summary')
    t.type(summary.dataPathReason, 'string')
    const metrics = await httpRequest(lb.adminPort, '/metrics')
    t.match(metrics.body, `corral_data_path_info{path="${expected}"} 1`)
    const reply = await httpRequest(lb.ports.http ?? 0)
    t.match(reply.body, 'hello from r1', 'relays')
    t.equal(await lb.stop('SIGTERM'), 0, 'exit code 0')
  })
}
