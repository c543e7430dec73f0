// Every workload module, by id.

import type { WorkloadId } from './catalog.js'
import { accessLogCostWorkload } from './workloads/access-log-cost.js'
import { bulkWorkload } from './workloads/bulk.js'
import {
  coordinationPropagationWorkload,
  coordinationScaleWorkload,
} from './workloads/coordination.js'
import { healthCostWorkload } from './workloads/health-cost.js'
import { httpWorkload } from './workloads/http-load.js'
import { idleMemoryWorkload } from './workloads/idle-memory.js'
import { membershipWorkload } from './workloads/membership.js'
import { metricsCostWorkload } from './workloads/metrics-cost.js'
import { registryWorkload } from './workloads/registry.js'
import { reloadWorkload } from './workloads/reload.js'
import { scalingWorkload } from './workloads/scaling.js'
import type { Workload } from './workloads/workload.js'

/** The implementation of each workload id. */
export const WORKLOAD_IMPLS: Readonly<Record<WorkloadId, Workload>> = {
  'bulk-1': bulkWorkload('bulk-1', 1, 'up'),
  'bulk-8': bulkWorkload('bulk-8', 8, 'up'),
  'bulk-1-down': bulkWorkload('bulk-1-down', 1, 'down'),
  'bulk-8-down': bulkWorkload('bulk-8-down', 8, 'down'),
  registry: registryWorkload,
  'conn-close': httpWorkload('conn-close', true),
  'keep-alive': httpWorkload('keep-alive', false),
  'idle-memory': idleMemoryWorkload,
  'health-cost': healthCostWorkload,
  membership: membershipWorkload,
  reload: reloadWorkload,
  scaling: scalingWorkload,
  'metrics-cost-close': metricsCostWorkload('metrics-cost-close', true),
  'metrics-cost-keepalive': metricsCostWorkload('metrics-cost-keepalive', false),
  'access-log-close': accessLogCostWorkload('access-log-close', true),
  'access-log-keepalive': accessLogCostWorkload('access-log-keepalive', false),
  'coordination-propagation': coordinationPropagationWorkload,
  'coordination-scale-1': coordinationScaleWorkload('coordination-scale-1', 1),
  'coordination-scale-2': coordinationScaleWorkload('coordination-scale-2', 2),
  'coordination-scale-3': coordinationScaleWorkload('coordination-scale-3', 3),
}
