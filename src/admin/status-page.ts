// The live status page at GET / : static HTML plus a small script that polls
// /api/v1/pool every second. No build step; no external assets (works air-gapped).

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>corral status</title>
<link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  :root { font: 14px/1.4 system-ui, sans-serif; color: #1d232a; background: #f6f7f9; }
  body { margin: 1.5rem; }
  h1 { font-size: 1.3rem; margin: 0 0 .8rem; }
  .summary { display: flex; gap: .8rem; flex-wrap: wrap; margin-bottom: 1rem; }
  .card { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; padding: .5rem .9rem; min-width: 8rem; }
  .card b { display: block; font-size: 1.4rem; }
  .warn { border-color: #e0a800; background: #fff8e1; }
  .bad { border-color: #d33; background: #fdecec; }
  table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid #dde1e6; }
  th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #eef0f2; vertical-align: top; }
  th { background: #eef0f2; font-weight: 600; }
  .state { font-weight: 600; padding: .1rem .5rem; border-radius: 4px; }
  .state-up { background: #d7f5dd; color: #12632a; }
  .state-down { background: #fbd5d5; color: #9b1c1c; }
  .state-draining { background: #fff1c2; color: #7a5b00; }
  .state-disabled { background: #e2e5e9; color: #4a5461; }
  .muted { color: #6b7785; }
  #error { color: #9b1c1c; }
</style>
</head>
<body>
<h1>corral &mdash; pool status</h1>
<div class="summary" id="summary"></div>
<p id="notes" class="muted"></p>
<table>
  <thead><tr><th>member</th><th>address</th><th>state</th><th>in state</th><th>connections</th><th>last check</th><th>latency</th><th>reason</th></tr></thead>
  <tbody id="members"><tr><td colspan="8" class="muted">loading&hellip;</td></tr></tbody>
</table>
<p class="muted">Refreshes every second from <a href="api/v1/pool">/api/v1/pool</a>. Metrics: <a href="metrics">/metrics</a>. <span id="updated"></span> <span id="error"></span></p>
<script>
'use strict'
const esc = s => String(s).replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c])
const dur = s => s < 90 ? s.toFixed(0) + 's' : s < 5400 ? (s / 60).toFixed(0) + 'm' : (s / 3600).toFixed(1) + 'h'
function card(label, value, cls) {
  return '<div class="card ' + (cls || '') + '" data-testid="' + esc(label) + '"><span class="muted">' + esc(label) + '</span><b>' + esc(value) + '</b></div>'
}
function coordinationCards(c) {
  if (!c || c.drainBudget === undefined) return ''
  const drains = (c.drains || []).length
  return card('drains', drains + ' / ' + c.drainBudget, drains > 0 ? 'warn' : '') +
    (c.fenced === undefined ? '' : card('fenced', c.fenced ? 'YES' : 'no', c.fenced ? 'bad' : ''))
}
function render(pool) {
  const s = pool.summary
  const margin = s.failuresTolerated
  // live: passing checks whatever the admin state (quorum is judged on it); routable:
  // taking new connections (corral's capacity). A drain lowers routable only.
  document.getElementById('summary').innerHTML =
    card('members', s.size) +
    card('live', s.live + ' / ' + s.size, s.quorum ? (s.live < s.size ? 'warn' : '') : 'bad') +
    card('routable', s.routable + ' / ' + s.size, s.routable === 0 && s.size > 0 ? 'bad' : s.routable < s.quorumSize ? 'warn' : '') +
    card('quorum', s.quorum ? 'yes' : 'LOST', s.quorum ? '' : 'bad') +
    card('failures tolerated', s.quorum ? margin : 'quorum lost, ' + s.quorumShortfall + ' short', s.quorum ? (margin === 0 ? 'warn' : '') : 'bad') +
    card('active connections', s.activeConnections) +
    coordinationCards(s.coordination)
  const notes = []
  const c = s.coordination || {}
  if (c.fenced) notes.push('This instance is fenced (unready): ' + c.fenceReason)
  for (const d of c.drains || []) notes.push('Drain budget held by ' + d.holder + ' for ' + d.member + ' (until ' + d.expiresAt + ').')
  const out = s.live - s.routable
  if (out > 0) notes.push(out + (out === 1 ? ' live member is' : ' live members are') + ' out of rotation (draining or disabled): counted for quorum, taking no new connections.')
  if (s.evenSize) notes.push('Even pool size: ' + s.size + ' members tolerate no more failures than ' + (s.size - 1) + '.')
  for (const d of pool.discovery || []) {
    if (d.failStatic) notes.push('DNS discovery ' + d.name + ' (' + d.dns + ') failing: ' + d.lastResult + '; keeping its last good members (last good answer ' + (d.lastSuccess || 'never') + ').')
    else if (d.lastResult === 'suspicious') notes.push('DNS discovery ' + d.name + ': an answer would remove a majority at once; held until it repeats.')
    if (d.held.length > 0) notes.push('DNS discovery ' + d.name + ': missing from DNS, held for the grace period: ' + d.held.join(', ') + '.')
  }
  if (s.failingOpen) notes.push('No member is up: failing open to every enabled member.')
  document.getElementById('notes').textContent = notes.join(' ')
  document.getElementById('members').innerHTML = pool.members.map(m => {
    const last = m.lastCheck
    const lastText = last ? (last.ok ? 'ok' + (last.status ? ' ' + last.status : '') : last.reason + (last.status ? ' ' + last.status : '')) : '–'
    return '<tr data-member="' + esc(m.id) + '">' +
      '<td>' + esc(m.id) + (m.source ? ' <span class="muted" data-testid="source">' + esc(m.source) + '</span>' : '') + '</td>' +
      '<td>' + esc(m.address) + ' <span class="muted">' + esc(Object.entries(m.ports).map(([l, p]) => l + ':' + p).join(' ')) + '</span>' + (m.proxyProtocol ? ' <span class="muted" data-testid="proxy-protocol">proxy ' + esc(m.proxyProtocol) + '</span>' : '') + '</td>' +
      '<td><span class="state state-' + esc(m.state) + '" data-testid="state">' + esc(m.state) + '</span>' + (m.removing ? ' <span class="muted">(removing)</span>' : '') + '</td>' +
      '<td>' + dur(m.secondsInState) + '</td>' +
      '<td>' + esc(m.activeConnections) + '</td>' +
      '<td>' + esc(lastText) + '</td>' +
      '<td>' + (last && last.latencyMs !== undefined ? esc(last.latencyMs) + ' ms' : '–') + '</td>' +
      '<td class="muted">' + esc(m.reason) + '</td></tr>'
  }).join('') || '<tr><td colspan="8" class="muted">no members</td></tr>'
  document.getElementById('updated').textContent = 'Updated ' + new Date().toLocaleTimeString() + '.'
}
async function poll() {
  try {
    const res = await fetch('api/v1/pool', { cache: 'no-store' })
    if (!res.ok) throw new Error('HTTP ' + res.status)
    render(await res.json())
    document.getElementById('error').textContent = ''
  } catch (err) {
    document.getElementById('error').textContent = 'Cannot reach corral: ' + err.message
  } finally {
    setTimeout(poll, 1000)
  }
}
poll()
</script>
</body>
</html>
`

/** The status page HTML (static; the page fetches live data itself). */
export function renderStatusPage(): string {
  return PAGE
}
