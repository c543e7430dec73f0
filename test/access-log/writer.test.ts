// The access log's writer: whole lines, reopen after a rename without losing one, and a
// full queue drops (and says so) instead of growing or blocking.
import { existsSync, readFileSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { LineWriter, MAX_QUEUED_BYTES } from '../../src/access-log/writer.js'

const lines = (path: string): string[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(l => l !== '')

/** Waits (bounded, polling every 10 ms) until `path` holds `n` lines. */
async function untilLines(path: string, n: number): Promise<void> {
  const deadline = Date.now() + 5_000
  while (!existsSync(path) || lines(path).length < n) {
    if (Date.now() > deadline) throw new Error(`${path}: fewer than ${String(n)} lines`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

void t.test('appends whole lines and flushes on close', async t => {
  const path = join(t.testdir(), 'a.log')
  const w = new LineWriter(path, {
    dropped: () => t.fail('dropped'),
    failed: err => t.error(err),
  })
  for (let i = 0; i < 100; i++) w.write(`{"n":${String(i)}}\n`)
  await w.close()
  t.strictSame(
    lines(path).map(l => (JSON.parse(l) as { n: number }).n),
    Array.from({ length: 100 }, (_, i) => i),
  )
})

void t.test(
  'reopen after a rename: old lines stay, new lines go to the new file',
  async t => {
    const dir = t.testdir()
    const path = join(dir, 'a.log')
    const w = new LineWriter(path, {
      dropped: () => t.fail('dropped'),
      failed: err => t.error(err),
    })
    for (let i = 0; i < 50; i++) w.write(`${String(i)}\n`)
    await untilLines(path, 50)
    renameSync(path, `${path}.1`)
    // Queued after the rename, before the reopen: not lost (it goes to the new file).
    w.write('50\n')
    w.reopen()
    for (let i = 51; i < 100; i++) w.write(`${String(i)}\n`)
    await w.close()
    const all = [...lines(`${path}.1`), ...lines(path)].map(Number).sort((a, b) => a - b)
    t.strictSame(
      all,
      Array.from({ length: 100 }, (_, i) => i),
      'every line once',
    )
    t.ok(lines(path).includes('99'), 'the last line is in the new file')
  },
)

void t.test('a full queue drops and counts instead of growing', async t => {
  const path = join(t.testdir(), 'a.log')
  let dropped = 0
  const w = new LineWriter(path, {
    dropped: () => dropped++,
    failed: err => t.error(err),
  })
  const line = `${'x'.repeat(1023)}\n`
  // All written in one turn: nothing reaches the file before the queue is full.
  const n = MAX_QUEUED_BYTES / line.length + 10
  let kept = 0
  for (let i = 0; i < n; i++) if (w.write(line)) kept++
  t.equal(kept + dropped, n)
  t.ok(dropped >= 10, `dropped ${String(dropped)}`)
  await w.close()
  t.equal(lines(path).length, kept, 'what was kept was written, whole')
})
