import { createFreshkey, dep, memoryStore } from '@freshkey/core'
import { Binding, silentWrite, type WriteFact } from '@freshkey/core/adapter'
import { describe, expect, test } from 'vitest'

type Call = [kind: 'record' | 'autocommit', binding: string, facts: readonly WriteFact[], extra?: unknown]

function bindings(...names: string[]) {
  const fk = createFreshkey({ store: memoryStore(), namespace: 'kit-silent', logger: false })
  const calls: Call[] = []
  const list = names.map((name) => {
    const b = new Binding<object>(fk, {}, name)
    b.record = async (_handle, facts, inTransaction) =>
      void calls.push(['record', name, facts, inTransaction])
    b.autocommit = async (facts, run) => {
      calls.push(['autocommit', name, facts])
      return run()
    }
    return b
  })
  return { list, calls }
}

const fact = (b: Binding<object>): WriteFact[] => [{ table: `${b.adapter}_rows`, kind: 'delete', pk: 1 }]

describe('silentWrite', () => {
  test('outside a transaction, facts known before it runs go out with it, on every binding', async () => {
    const { list, calls } = bindings('a', 'b')
    let runs = 0
    const result = await silentWrite(list, undefined, { before: fact }, async () => ++runs)
    expect(result).toBe(1)
    expect(calls.map(([kind, name]) => `${kind} ${name}`)).toEqual(['autocommit a', 'autocommit b'])
  })

  test('inside a transaction, or with facts from the result, recorded once it returned', async () => {
    const handle = {}
    const { list, calls } = bindings('a')
    await silentWrite(list, handle, { before: fact }, async () => 'done')
    await silentWrite(
      list,
      undefined,
      { after: (_b, id: number) => [{ table: 't', kind: 'insert', pk: id }] },
      async () => 9,
    )
    expect(calls).toEqual([
      ['record', 'a', fact(list[0]!), true],
      ['record', 'a', [{ table: 't', kind: 'insert', pk: 9 }], false],
    ])
  })

  test("rejects with the statement's own error, recording nothing", async () => {
    const { list, calls } = bindings('a')
    const failing = () => Promise.reject(new Error('constraint'))
    await expect(silentWrite(list, {}, { after: () => [] }, failing)).rejects.toThrow('constraint')
    expect(calls).toEqual([])
  })
})

describe('Binding.attempt and factsOf', () => {
  test('a failure is reported and widens: to the table, else every table', () => {
    const errors: unknown[] = []
    const fk = createFreshkey({ store: memoryStore(), namespace: 'kit-attempt', logger: false })
    const b = new Binding(fk, {}, 'kit', { onError: (e) => errors.push(e) })
    const boom = (): never => {
      throw new Error('boom')
    }
    expect(b.attempt('x', () => 1)).toBe(1)
    expect(b.attempt('x', boom)).toBeUndefined()
    expect(b.attempt('x', boom, () => 'fallback')).toBe('fallback')
    expect(b.factsOf('write', 'posts', boom)).toEqual([{ table: 'posts', kind: 'bulk', verb: 'unknown' }])
    expect(b.factsOf('write', undefined, boom)).toEqual([])
    expect(errors).toHaveLength(4)
    expect(fk.stats().adapterErrors).toBe(4)
  })
})

describe('TransactionFrames.run and end', () => {
  const setup = () => {
    const fk = createFreshkey({ store: memoryStore(), namespace: 'kit-frames-run', logger: false })
    return { fk, binding: new Binding<object>(fk, {}, 'kit') }
  }

  test('a frame the adapter drives: open while the body runs, closed after', async () => {
    const { binding } = setup()
    const handle = {}
    const depth = await binding.frames.run(handle, undefined, async () => binding.frames.depth(handle))
    expect(depth).toBe(1)
    expect(binding.frames.depth(handle)).toBe(0)
  })

  test('a failing body rolls its changes back, or keeps them under keepOnFailure', async () => {
    const { fk, binding } = setup()
    let loads = 0
    const load = (table: string) => fk.wrap([table], async () => ++loads, { deps: [dep.table(table)] })
    const failing = (table: string, keep: boolean) => {
      const handle = {}
      const body = async () => {
        await binding.record(handle, [{ table, kind: 'bulk' }], true)
        throw new Error('failed')
      }
      return binding.frames.run(handle, undefined, body, keep)
    }
    await load('dropped')
    await load('kept')
    await expect(failing('dropped', false)).rejects.toThrow('failed')
    await expect(failing('kept', true)).rejects.toThrow('failed')
    expect([await load('dropped'), await load('kept')]).toEqual([1, 3])
  })
})
