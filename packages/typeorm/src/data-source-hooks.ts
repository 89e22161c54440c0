import type { DataSource, EntitySubscriberInterface, QueryRunner } from 'typeorm'
import { runnerOf } from './entity-manager-hooks.ts'
import { rawChanges } from './raw-queries.ts'
import { adaptersOf } from './registry.ts'

// Per data source: keep our subscribers in `dataSource.subscribers` (initialize() replaces that
// array with the subscribers built from the options, dropping instances pushed earlier), see raw
// `query()` calls, and scan metadata once initialize() has built it.

interface Installed {
  readonly keep: Set<EntitySubscriberInterface>
}

const installed = new WeakMap<DataSource, Installed>()

function install(dataSource: DataSource): Installed {
  const existing = installed.get(dataSource)
  if (existing) return existing
  const state: Installed = { keep: new Set() }
  installed.set(dataSource, state)

  let list: EntitySubscriberInterface[] = dataSource.subscribers
  Object.defineProperty(dataSource, 'subscribers', {
    configurable: true,
    enumerable: true,
    get: () => list,
    set: (next: EntitySubscriberInterface[]) => {
      list = next
      for (const s of state.keep) if (!list.includes(s)) list.push(s)
    },
  })

  const query = dataSource.query
  const ds = dataSource as { query: (...args: unknown[]) => Promise<unknown> }
  ds.query = async function (this: DataSource, sql: unknown, parameters?: unknown, runner?: unknown) {
    const result = await query.call(this, sql as string, parameters as unknown[], runner as QueryRunner)
    const adapters = adaptersOf(dataSource)
    if (adapters && typeof sql === 'string') {
      const used = runnerOf(dataSource, runner as QueryRunner | undefined)
      await Promise.all(
        [...adapters].map((a) => {
          try {
            return a.record(used, rawChanges(a, sql, parameters as readonly unknown[] | undefined))
          } catch (error) {
            a.report(error)
            return undefined
          }
        }),
      )
    }
    return result
  }

  const initialize = dataSource.initialize
  ;(dataSource as { initialize: () => Promise<DataSource> }).initialize = async function (this: DataSource) {
    const result = await initialize.call(this)
    for (const a of adaptersOf(dataSource) ?? []) a.ensureMetadata()
    return result
  }
  return state
}

/** Puts a subscriber into `dataSource.subscribers` and keeps it there across initialize(). */
export function keepSubscriber(dataSource: DataSource, subscriber: EntitySubscriberInterface): void {
  const state = install(dataSource)
  state.keep.add(subscriber)
  if (!dataSource.subscribers.includes(subscriber)) dataSource.subscribers.push(subscriber)
}

export function dropSubscriber(dataSource: DataSource, subscriber: EntitySubscriberInterface): void {
  installed.get(dataSource)?.keep.delete(subscriber)
  const list = dataSource.subscribers
  const i = list.indexOf(subscriber)
  if (i >= 0) list.splice(i, 1)
}
