// Member views and pickers for data-path tests: the pool's output, built by hand so a
// test decides exactly which members the proxy may route to.
import { buildPicker } from '../../src/pool/picker.js'
import type { Picker, PickerOptions } from '../../src/pool/picker.js'
import type { MemberView } from '../../src/pool/types.js'

/** The listener name data-path tests use; member ports are given for it. */
export const TEST_LISTENER = 'tcp'

/** An enabled, healthy member on 127.0.0.1 whose port for `TEST_LISTENER` is `port`. */
export function upMember(
  id: string,
  port: number,
  overrides: Partial<MemberView> = {},
): MemberView {
  return {
    id,
    address: '127.0.0.1',
    ports: { [TEST_LISTENER]: port },
    weight: 1,
    state: 'up',
    health: 'up',
    admin: 'enabled',
    stateSince: 0,
    reason: 'test member',
    recent: [],
    removing: false,
    ...overrides,
  }
}

/** A round-robin picker over `views` with no slow start, no per-member limit and zero load. */
export function testPicker(
  views: readonly MemberView[],
  options: Partial<PickerOptions> = {},
): Picker {
  return buildPicker(views, {
    balance: 'round-robin',
    allDown: 'reject',
    slowStartMs: 0,
    maxConnectionsPerMember: 0,
    load: () => 0,
    ...options,
  })
}
