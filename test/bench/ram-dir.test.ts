// The registry workload's RAM directory: /dev/shm only when it is a tmpfs.
import t from 'tap'
import { isTmpfsMount } from '../../bench/ram-dir.js'

void t.test('a tmpfs mount is recognised from /proc/mounts', t => {
  const mounts = [
    '/dev/vda / ext4 rw,relatime 0 0',
    'tmpfs /dev/shm tmpfs rw,nosuid,nodev 0 0',
    '/dev/vdb /srv xfs rw 0 0',
  ].join('\n')
  const cases = [
    { name: '/dev/shm on tmpfs', path: '/dev/shm', expect: true },
    { name: 'a disk mount', path: '/srv', expect: false },
    { name: 'not mounted at all', path: '/run/shm', expect: false },
  ]
  t.plan(cases.length + 1)
  for (const c of cases) t.equal(isTmpfsMount(mounts, c.path), c.expect, c.name)
  t.equal(
    isTmpfsMount('/dev/vda /dev/shm ext4 rw 0 0', '/dev/shm'),
    false,
    '/dev/shm on a disk is not RAM',
  )
})
