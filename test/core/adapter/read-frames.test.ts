import { createFreshkey, memoryStore } from '@freshkey/core'
import {
  Binding,
  bulkFact,
  framesOf,
  markUnsafe,
  reportReads,
  trackedQuery,
  wholeTables,
} from '@freshkey/core/adapter'
import { describe, expect, test } from 'vitest'
import { freshNamespace } from '../helpers.ts'

function setup() {
  const fk = createFreshkey({ store: memoryStore(), namespace: freshNamespace('kit-frames'), logger: false })
  const binding = new Binding(fk, {}, 'kit')
  let loads = 0
  /** A cached load whose one query reads `posts` through the kit. */
  const load = (key: string, inTransaction = false, before?: () => void) =>
    fk.wrap([key], async () => {
      loads++
      before?.()
      const frames = framesOf([binding])!
      return trackedQuery(frames, ['posts'], inTransaction, async () => ['a row'])
    })
  return { fk, binding, load, loads: () => loads }
}

describe('read frames', () => {
  test('framesOf: the frame of the calling load, once; none outside a load', async () => {
    const { fk, binding } = setup()
    expect(framesOf([binding])).toBeUndefined()
    const frames = await fk.wrap(['k'], async () => framesOf([binding, binding]))
    expect(frames).toHaveLength(1)
  })

  test('trackedQuery: the query fences its tables and depends on them whole by default', async () => {
    const { binding, load, loads } = setup()
    await load('list')
    await load('list')
    expect(loads()).toBe(1)
    await binding.record(undefined, [bulkFact('posts', 'update')])
    await load('list')
    expect(loads()).toBe(2)
  })

  test('a query inside a database transaction is served, never stored', async () => {
    const { load, loads } = setup()
    await load('tx', true)
    await load('tx', true)
    expect(loads()).toBe(2)
  })

  test('markUnsafe: the frame and the loads enclosing it are not stored', async () => {
    const { fk, binding, load, loads } = setup()
    const outer = () => fk.wrap(['outer'], () => load('inner', false, () => markUnsafe(binding.frame()!)))
    await outer()
    await outer()
    expect(loads()).toBe(2)
  })

  test('reportReads: what a query read reaches every frame', async () => {
    const { fk, binding } = setup()
    let loads = 0
    const load = () =>
      fk.wrap(['reported'], async () => {
        loads++
        const frames = framesOf([binding])!
        await trackedQuery(
          frames,
          ['posts', 'users'],
          false,
          async () => 1,
          () => [],
        )
        reportReads(frames, wholeTables(['users']))
        return 'value'
      })
    await load()
    await binding.record(undefined, [bulkFact('posts', 'update')])
    await load()
    expect(loads).toBe(1)
    await binding.record(undefined, [bulkFact('users', 'update')])
    await load()
    expect(loads).toBe(2)
  })
})
