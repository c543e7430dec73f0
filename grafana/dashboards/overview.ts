// The "corral overview" dashboard as code (grafana-foundation-sdk). Run
// `npm run build && node dist/grafana/generate.js` after editing: it rewrites
// corral-overview.json, and test/grafana/dashboards.test.ts fails until you do.
//
// Every query filters on instance=~"$instance" and names only metrics declared in
// src/metrics/ (plus prom-client's unprefixed Node defaults).

import {
  DashboardBuilder,
  DashboardCursorSync,
  DatasourceVariableBuilder,
  MappingType,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard'
import type {
  Dashboard,
  Threshold,
  ValueMapping,
} from '@grafana/grafana-foundation-sdk/dashboard'
import {
  BigValueColorMode,
  BigValueGraphMode,
  GraphDrawStyle,
  LegendDisplayMode,
  LegendPlacement,
  ReduceDataOptionsBuilder,
  VizLegendOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common'
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common'
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus'
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat'
import { PanelBuilder as StateTimelineBuilder } from '@grafana/grafana-foundation-sdk/statetimeline'
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries'

/** The dashboard's stable uid: links and provisioning refer to it. */
export const OVERVIEW_UID = 'corral-overview'

/** Panels query whichever Prometheus the `datasource` variable selects. */
const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' }

/** The label filter every query carries. */
const INSTANCE = 'instance=~"$instance"'

/** One PromQL target; Grafana shows `legend` per series. */
function prom(expr: string, legend: string, refId = 'A'): DataqueryBuilder {
  return new DataqueryBuilder()
    .datasource(DATASOURCE)
    .refId(refId)
    .expr(expr)
    .legendFormat(legend)
}

/** p50 and p99 of a histogram family, aggregated by `by` (plus le). */
function quantiles(bucket: string, by: string): DataqueryBuilder[] {
  const rate = `sum by (${by}, le) (rate(${bucket}{${INSTANCE}}[$__rate_interval]))`
  return [
    prom(`histogram_quantile(0.5, ${rate})`, `{{${by}}} p50`, 'A'),
    prom(`histogram_quantile(0.99, ${rate})`, `{{${by}}} p99`, 'B'),
  ]
}

/** Text and colour for exact values (value mappings), in display order. */
function valueText(
  entries: readonly (readonly [number, string, string])[],
): ValueMapping[] {
  const options: Record<string, { text: string; color: string; index: number }> = {}
  entries.forEach(([value, text, color], index) => {
    options[String(value)] = { text, color, index }
  })
  return [{ type: MappingType.ValueToText, options }]
}

/** Absolute thresholds: the first step applies below the second's value. */
function thresholds(steps: Threshold[]): ThresholdsConfigBuilder {
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(steps)
}

/** A single-value panel showing the latest value per instance. */
function stat(title: string, description: string, target: DataqueryBuilder): StatBuilder {
  return new StatBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .withTarget(target)
    .height(4)
    .span(5)
    .graphMode(BigValueGraphMode.None)
    .colorMode(BigValueColorMode.Background)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']))
}

/** A half-width time series panel. */
function timeseries(
  title: string,
  description: string,
  unit: string,
  targets: DataqueryBuilder[],
): TimeseriesBuilder {
  return new TimeseriesBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .targets(targets)
    .unit(unit)
    .height(8)
    .span(12)
    .legend(
      new VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(LegendDisplayMode.List)
        .placement(LegendPlacement.Bottom),
    )
}

// One code per visible state, so the state timeline can colour a single series per member.
const STATE_CODES = [
  [0, 'up', 'green'],
  [1, 'draining', 'yellow'],
  [2, 'disabled', 'blue'],
  [3, 'down', 'red'],
] as const

const MEMBER_STATE_EXPR = `max by (instance, member) (\n${STATE_CODES.map(
  ([code, state]) =>
    `  (corral_member_state{${INSTANCE}, state="${state}"} == 1) * ${code}`,
).join('\n  or\n')}\n)`

// The SDK marks the v1 dashboard model deprecated in favour of dashboardv2, but Grafana's
// file provisioning only loads v2 behind feature flags (Grafana 12+); v1 JSON loads in
// every Grafana a corral operator is likely to run.
/* eslint-disable @typescript-eslint/no-deprecated */

/** Builds the "corral overview" dashboard. */
export function buildOverviewDashboard(): Dashboard {
  const byInstance = '{{instance}}'
  let nextId = 1
  const withId = <P extends { id(id: number): P }>(panel: P): P => panel.id(nextId++)

  const builder = new DashboardBuilder('corral overview')
    .uid(OVERVIEW_UID)
    .description(
      'Pool health, connections and process metrics of corral instances. Generated by grafana/generate.ts: edit grafana/dashboards/overview.ts, not the JSON.',
    )
    .tags(['corral', 'load-balancer'])
    .readonly()
    .refresh('30s')
    .time({ from: 'now-3h', to: 'now' })
    .timezone('browser')
    .tooltip(DashboardCursorSync.Crosshair)
    .withVariable(
      new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'),
    )
    .withVariable(
      new QueryVariableBuilder('instance')
        .label('Instance')
        .datasource(DATASOURCE)
        .query('label_values(corral_pool_size, instance)')
        .definition('label_values(corral_pool_size, instance)')
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true),
    )

    .withRow(withId(new RowBuilder('Pool')))
    .withPanel(
      withId(
        stat(
          'Pool size',
          'Members in the pool, whatever their state. An even size adds no failure tolerance over the odd size one smaller.',
          prom(`corral_pool_size{${INSTANCE}}`, byInstance),
        )
          .span(4)
          .colorMode(BigValueColorMode.None),
      ),
    )
    .withPanel(
      withId(
        stat(
          'Members live',
          'Members passing their health checks, whatever their admin state: a drained or disabled member that still passes is live. Quorum is judged on these.',
          prom(`corral_pool_members_live{${INSTANCE}}`, byInstance),
        )
          .span(4)
          .colorMode(BigValueColorMode.None),
      ),
    )
    .withPanel(
      withId(
        stat(
          'Members routable',
          'Members taking new connections (state up): the capacity margin during maintenance. Drains and disables lower it, not quorum. RoutableCapacityLow warns below a majority.',
          prom(`corral_pool_members_routable{${INSTANCE}}`, byInstance),
        )
          .span(4)
          .colorMode(BigValueColorMode.None),
      ),
    )
    .withPanel(
      withId(
        stat(
          'Failures tolerated',
          'How many more live members may fail before the pool loses its majority: live minus (floor(size/2) + 1). 0 = no margin left; once lost, how many live members are missing.',
          prom(
            `corral_pool_failures_tolerated{${INSTANCE}} - corral_pool_quorum_shortfall{${INSTANCE}}`,
            byInstance,
          ),
        )
          .span(4)
          .thresholds(
            thresholds([
              { value: null, color: 'red' },
              { value: 0, color: 'orange' },
              { value: 1, color: 'green' },
            ]),
          )
          // The margin is never shown below 0: a lost quorum says how far it is short.
          .mappings(
            valueText(
              [1, 2, 3, 4, 5, 6, 7, 8, 9].map(
                n => [-n, `quorum lost, ${String(n)} short`, 'red'] as const,
              ),
            ),
          ),
      ),
    )
    .withPanel(
      withId(
        stat(
          'Quorum',
          'Whether a strict majority of the pool is live (passing health checks, admin state aside).',
          prom(`corral_pool_quorum{${INSTANCE}}`, byInstance),
        )
          .span(4)
          .mappings(
            valueText([
              [1, 'OK', 'green'],
              [0, 'LOST', 'red'],
            ]),
          ),
      ),
    )
    .withPanel(
      withId(
        stat(
          'Coordination store',
          'Whether the instance reaches its pool store (always reachable for the in-memory store).',
          prom(`corral_coordination_store_up{${INSTANCE}}`, byInstance),
        )
          .span(4)
          .mappings(
            valueText([
              [1, 'reachable', 'green'],
              [0, 'unreachable', 'red'],
            ]),
          ),
      ),
    )

    .withRow(withId(new RowBuilder('Members')))
    .withPanel(
      withId(
        new StateTimelineBuilder()
          .title('Member state')
          .description('Visible state of each member over time, per corral instance.')
          .datasource(DATASOURCE)
          .withTarget(prom(MEMBER_STATE_EXPR, '{{member}} @ {{instance}}'))
          .mappings(valueText(STATE_CODES))
          .height(8)
          .span(24),
      ),
    )
    .withPanel(
      withId(
        timeseries(
          'Health-check latency p50 / p99',
          'Probe duration by member; sustained p99 above 500ms fires HealthCheckLatencyHigh.',
          's',
          quantiles('corral_member_health_check_duration_seconds_bucket', 'member'),
        ),
      ),
    )
    .withPanel(
      withId(
        timeseries(
          'Health-check failure ratio',
          'Share of probes that did not succeed (failure, timeout or error), by member.',
          'percentunit',
          [
            prom(
              `sum by (member) (rate(corral_member_health_checks_total{${INSTANCE}, result!="success"}[$__rate_interval]))\n/\nsum by (member) (rate(corral_member_health_checks_total{${INSTANCE}}[$__rate_interval]))`,
              '{{member}}',
            ),
          ],
        )
          .min(0)
          .max(1),
      ),
    )
    .withPanel(
      withId(
        timeseries(
          'Member transitions',
          'State changes per interval, by member.',
          'short',
          [
            prom(
              `sum by (member, from, to) (increase(corral_member_transitions_total{${INSTANCE}}[$__rate_interval]))`,
              '{{member}}: {{from}} → {{to}}',
            ),
          ],
        )
          .drawStyle(GraphDrawStyle.Bars)
          .span(24),
      ),
    )
    .withRow(withId(new RowBuilder('Connections')))
    .withPanel(
      withId(
        timeseries(
          'New connections/s by member and outcome',
          'Client connections by outcome; rejected_no_member has an empty member.',
          'cps',
          [
            prom(
              `sum by (member, outcome) (rate(corral_connections_total{${INSTANCE}}[$__rate_interval]))`,
              '{{member}} {{outcome}}',
            ),
          ],
        ),
      ),
    )
    .withPanel(
      withId(
        timeseries('Active connections', 'Relays open now, by member.', 'short', [
          prom(`sum by (member) (corral_connections_active{${INSTANCE}})`, '{{member}}'),
        ]),
      ),
    )
    .withPanel(
      withId(
        timeseries(
          'Connect retries and errors/s',
          'Connections retried on another member, or failed to reach any.',
          'cps',
          [
            prom(
              `sum by (member, outcome) (rate(corral_connections_total{${INSTANCE}, outcome=~"retried|connect_error"}[$__rate_interval]))`,
              '{{member}} {{outcome}}',
            ),
          ],
        ),
      ),
    )
    .withPanel(
      withId(
        timeseries(
          'Connect duration p99',
          'Time to establish the connection to each member.',
          's',
          [
            prom(
              `histogram_quantile(0.99, sum by (member, le) (rate(corral_connect_duration_seconds_bucket{${INSTANCE}}[$__rate_interval])))`,
              '{{member}} p99',
            ),
          ],
        ),
      ),
    )

    .withPanel(
      withId(
        timeseries(
          'Bytes/s by direction',
          'Relayed bytes, counted when a connection closes and at each scrape for open ones.',
          'Bps',
          [
            prom(
              `sum by (direction) (rate(corral_bytes_total{${INSTANCE}}[$__rate_interval]))`,
              '{{direction}}',
            ),
          ],
        ),
      ),
    )
    .withPanel(
      withId(
        timeseries(
          'Connection duration p50 / p99',
          'Client connection lifetime, by listener.',
          's',
          quantiles('corral_connection_duration_seconds_bucket', 'listener'),
        ),
      ),
    )

    .withRow(withId(new RowBuilder('Process')))
    .withPanel(
      withId(
        timeseries(
          'Process CPU',
          'CPU time per second; 100% = one core.',
          'percentunit',
          [
            prom(
              `rate(process_cpu_seconds_total{${INSTANCE}}[$__rate_interval])`,
              byInstance,
            ),
          ],
        ).span(8),
      ),
    )
    .withPanel(
      withId(
        timeseries(
          'Resident memory',
          'Resident set size of the corral process.',
          'bytes',
          [prom(`process_resident_memory_bytes{${INSTANCE}}`, byInstance)],
        ).span(8),
      ),
    )
    .withPanel(
      withId(
        timeseries(
          'Event-loop lag',
          'Event-loop delay; a busy loop delays every relay and probe.',
          's',
          [
            prom(`nodejs_eventloop_lag_seconds{${INSTANCE}}`, '{{instance}} now', 'A'),
            prom(
              `nodejs_eventloop_lag_p99_seconds{${INSTANCE}}`,
              '{{instance}} p99',
              'B',
            ),
          ],
        ).span(8),
      ),
    )

  return builder.build()
}
