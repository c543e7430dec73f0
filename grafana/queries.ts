// Every PromQL expression corral ships, for tests that run them: dashboard targets (from
// the dashboards-as-code) and alert rules (from grafana/alerts/corral.rules.yml).

import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { buildDashboards, repoPath } from './generate.js'

/** One dashboard target: the panel's title and its PromQL, with Grafana variables as-is. */
export interface DashboardQuery {
  readonly panel: string
  readonly expr: string
}

/** One alerting rule: its name and PromQL. */
export interface AlertExpr {
  readonly alert: string
  readonly expr: string
}

/** The alert rules file, relative to the repository root. */
export const ALERT_RULES_FILE = 'grafana/alerts/corral.rules.yml'

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** `value[key]` when `value` is an array; otherwise an empty list. */
function listAt(value: Record<string, unknown>, key: string): readonly unknown[] {
  const list = value[key]
  return Array.isArray(list) ? list : []
}

/** Panels of a dashboard, including those nested in collapsed rows; rows themselves skipped. */
function panelsOf(dashboard: Record<string, unknown>): Record<string, unknown>[] {
  const panels: Record<string, unknown>[] = []
  for (const panel of listAt(dashboard, 'panels')) {
    if (!isRecord(panel)) continue
    if (panel.type === 'row') panels.push(...panelsOf(panel))
    else panels.push(panel)
  }
  return panels
}

/** Every target expression of every generated dashboard panel, in panel order. */
export function listDashboardQueries(): DashboardQuery[] {
  const queries: DashboardQuery[] = []
  for (const dashboard of Object.values(buildDashboards())) {
    if (!isRecord(dashboard)) continue
    for (const panel of panelsOf(dashboard)) {
      const title = typeof panel.title === 'string' ? panel.title : '(untitled)'
      for (const target of listAt(panel, 'targets')) {
        if (isRecord(target) && typeof target.expr === 'string') {
          queries.push({ panel: title, expr: target.expr })
        }
      }
    }
  }
  return queries
}

/** Values for the dashboard variables, to run dashboard queries outside Grafana. */
export interface DashboardVariables {
  /** Regex for `$instance`; default ".+" (every instance). */
  readonly instance?: string
  /** Range for `$__rate_interval`; default "1m" (four 15s scrapes). */
  readonly rateInterval?: string
}

/** `expr` with Grafana's `$instance` and `$__rate_interval` replaced: plain PromQL. */
export function expandDashboardVariables(
  expr: string,
  vars: DashboardVariables = {},
): string {
  return expr
    .replaceAll('$__rate_interval', vars.rateInterval ?? '1m')
    .replaceAll(/\$\{instance\}|\$instance\b/g, vars.instance ?? '.+')
}

/**
 * Every alert of the rules file (default grafana/alerts/corral.rules.yml) with its
 * expression; throws naming the path of the first malformed entry.
 */
export function listAlertExprs(file = repoPath(ALERT_RULES_FILE)): AlertExpr[] {
  const doc: unknown = parse(readFileSync(file, 'utf8'))
  if (!isRecord(doc) || !Array.isArray(doc.groups)) {
    throw new Error(`${file}: expected a top-level "groups" list`)
  }
  const alerts: AlertExpr[] = []
  doc.groups.forEach((group: unknown, g) => {
    if (!isRecord(group) || !Array.isArray(group.rules)) {
      throw new Error(`${file}: groups[${g}]: expected a "rules" list`)
    }
    group.rules.forEach((rule: unknown, r) => {
      const where = `${file}: groups[${g}].rules[${r}]`
      if (!isRecord(rule)) throw new Error(`${where}: expected a mapping`)
      if (rule.record !== undefined) return // recording rules are not alerts
      if (typeof rule.alert !== 'string' || typeof rule.expr !== 'string') {
        throw new Error(`${where}: expected string "alert" and "expr"`)
      }
      alerts.push({ alert: rule.alert, expr: rule.expr })
    })
  })
  return alerts
}
