// The typed handles every metric family hands out: prom-client objects narrowed to one
// label set, so a typo in a label fails to compile; and the per-scrape collect hooks
// the families share (registry.ts makes them, one set per Registry).
import type { Registry } from 'prom-client'

/** A prom-client counter narrowed to one label set, so typos fail to compile. */
export interface CounterHandle<L> {
  inc(labels: L, value?: number): void
  remove(labels: L): void
}
/** A prom-client counter without labels. */
export interface ScalarCounter {
  inc(value?: number): void
}
/** A prom-client gauge narrowed to one label set. */
export interface GaugeHandle<L> {
  set(labels: L, value: number): void
  inc(labels: L, value?: number): void
  dec(labels: L, value?: number): void
  remove(labels: L): void
}
/** A prom-client histogram narrowed to one label set; values are seconds. */
export interface HistogramHandle<L> {
  observe(labels: L, seconds: number): void
  remove(labels: L): void
}
/** A gauge without labels. */
export interface ScalarGauge {
  set(value: number): void
}

/** Runs at scrape time, before any corral metric is read; synchronous and cheap. */
export type CollectHook = () => void

/** Runs `hook` once per scrape before values are read; returns a function removing it. */
export type AddCollectHook = (hook: CollectHook) => () => void

/** What a family needs to register: the Registry and collect(), and where hooks go. */
export interface Hooks {
  readonly on: { readonly registers: Registry[]; readonly collect: () => void }
  readonly addCollectHook: AddCollectHook
}
