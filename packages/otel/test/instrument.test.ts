import { createFreshkey, dep, type Freshkey, memoryStore, type Store } from '@freshkey/core'
import { instrumentFreshkey } from '@freshkey/otel'
import { context, SpanStatusCode, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest'

class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE })
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const contextManager = new AsyncLocalStorageContextManager()
beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable())
})
afterAll(() => {
  context.disable()
})

describe('instrumentFreshkey', () => {
  let exporter: InMemorySpanExporter
  let tracerProvider: BasicTracerProvider
  let reader: TestReader
  let meterProvider: MeterProvider
  let stop: () => void
  let store: Store
  let fk: Freshkey
  let namespace: string
  let storeDown: boolean

  beforeEach(() => {
    exporter = new InMemorySpanExporter()
    tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
    reader = new TestReader()
    meterProvider = new MeterProvider({ readers: [reader] })
    namespace = `otel-${Math.random().toString(36).slice(2)}`
    stop = instrumentFreshkey({ tracerProvider, meterProvider, namespaces: [namespace] })
    store = memoryStore()
    storeDown = false
    const read = store.read.bind(store)
    store.read = (...args) => (storeDown ? Promise.reject(new Error('connection lost')) : read(...args))
    fk = createFreshkey({ store, namespace, version: '1' })
  })
  afterEach(async () => {
    stop()
    await fk.close()
    await store.close()
    await tracerProvider.shutdown()
    await meterProvider.shutdown()
  })

  /** Metric name -> summed value (counters) or { count, sum } (histograms), per attribute set. */
  const collect = async () => {
    const { resourceMetrics } = await reader.collect()
    const out = new Map<string, { attributes: Record<string, unknown>; value: unknown }[]>()
    for (const scope of resourceMetrics.scopeMetrics) {
      expect(scope.scope.name).toBe('@freshkey/otel')
      for (const metric of scope.metrics) {
        out.set(
          metric.descriptor.name,
          (metric.dataPoints as DataPoint<number | Histogram>[]).map((p) => ({
            attributes: p.attributes,
            value: typeof p.value === 'number' ? p.value : { count: p.value.count, sum: p.value.sum },
          })),
        )
      }
    }
    return out
  }
  const total = (points: { value: unknown }[] | undefined) =>
    (points ?? []).reduce((sum, p) => sum + (p.value as number), 0)

  test('misses, loads, hits, invalidations: counted, with a load span per loader run', async () => {
    const deps = [dep.row('users', 1)]
    const load = () => new Promise((resolve) => setTimeout(() => resolve({ name: 'Ada' }), 20))
    expect(await fk.wrap(['user', ...deps], load, { ttl: 60 })).toEqual({ name: 'Ada' })
    expect(await fk.wrap(['user', ...deps], load, { ttl: 60 })).toEqual({ name: 'Ada' })
    await fk.invalidate(dep.row('users', 1), dep.tag('home'))
    await fk.wrap(['user', ...deps], load, { ttl: 60 })

    const m = await collect()
    const attrs = { 'freshkey.namespace': namespace }
    expect(m.get('freshkey.cache.misses')).toEqual([{ attributes: attrs, value: 2 }])
    expect(m.get('freshkey.cache.hits')).toEqual([{ attributes: attrs, value: 1 }])
    expect(m.get('freshkey.loads')).toEqual([{ attributes: attrs, value: 2 }])
    expect(m.get('freshkey.invalidations')).toEqual([{ attributes: attrs, value: 1 }])
    expect(total(m.get('freshkey.invalidated_tokens'))).toBeGreaterThanOrEqual(2)
    const duration = m.get('freshkey.load.duration')![0]!.value as { count: number; sum: number }
    expect(duration.count).toBe(2)
    expect(duration.sum).toBeGreaterThan(0.03)
    expect(duration.sum).toBeLessThan(5)

    const spans = exporter.getFinishedSpans()
    expect(spans.map((s) => s.name)).toEqual(['freshkey.load', 'freshkey.load'])
    for (const span of spans) {
      expect(span.attributes).toEqual(attrs)
      expect(span.status.code).toBe(SpanStatusCode.UNSET)
      const ms = span.duration[0] * 1000 + span.duration[1] / 1e6
      expect(ms).toBeGreaterThanOrEqual(15)
    }
  })

  test('a loader that throws: error span with the exception, loads and duration tagged error.type', async () => {
    class BoomError extends Error {}
    await expect(
      fk.wrap(['user', dep.row('users', 2)], () => {
        throw new BoomError('boom')
      }),
    ).rejects.toThrow('boom')
    const [span] = exporter.getFinishedSpans()
    expect(span!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'boom' })
    expect(span!.events.map((e) => e.name)).toEqual(['exception'])
    expect(span!.attributes['error.type']).toBe('BoomError')
    const m = await collect()
    expect(m.get('freshkey.loads')).toEqual([
      { attributes: { 'freshkey.namespace': namespace, 'error.type': 'BoomError' }, value: 1 },
    ])
  })

  test('store errors are counted per operation, and the read falls back to the loader', async () => {
    storeDown = true
    expect(await fk.wrap(['user', dep.row('users', 3)], () => 'loaded anyway')).toBe('loaded anyway')
    const m = await collect()
    const points = m.get('freshkey.errors')!
    expect(points.length).toBeGreaterThanOrEqual(1)
    for (const p of points) {
      // The channel carries the driver's own error, so error.type is its class (or its code).
      expect(p.attributes).toMatchObject({ 'freshkey.namespace': namespace, 'error.type': 'Error' })
      expect(typeof p.attributes['freshkey.operation']).toBe('string')
    }
  })

  test('stale-while-revalidate serves are counted', async () => {
    const deps = [dep.tag('stale-test')]
    let n = 0
    await fk.wrap(['user', ...deps], () => ++n, { ttl: 60, staleWhileRevalidate: 60 })
    await fk.invalidate(dep.tag('stale-test'))
    expect(await fk.wrap(['user', ...deps], () => ++n, { ttl: 60, staleWhileRevalidate: 60 })).toBe(1)
    await fk.idle()
    const m = await collect()
    expect(total(m.get('freshkey.cache.stale_served'))).toBe(1)
  })

  test('hits, misses, invalidations and errors are events on the active span', async () => {
    const app = tracerProvider.getTracer('app')
    await app.startActiveSpan('GET /users/1', async (request) => {
      await fk.wrap(['user', dep.row('users', 1)], () => 'x')
      await fk.wrap(['user', dep.row('users', 1)], () => 'x')
      await fk.invalidate(dep.row('users', 1))
      request.end()
    })
    const span = exporter.getFinishedSpans().find((s) => s.name === 'GET /users/1')!
    expect(span.events.map((e) => e.name)).toEqual(['freshkey.miss', 'freshkey.hit', 'freshkey.invalidate'])
    expect(span.events[0]!.attributes).toEqual({ 'freshkey.namespace': namespace })
    const load = exporter.getFinishedSpans().find((s) => s.name === 'freshkey.load')!
    expect(load.parentSpanContext?.spanId).toBe(span.spanContext().spanId)
  })

  test('keys are recorded only when asked (they carry key parts)', async () => {
    stop()
    stop = instrumentFreshkey({ tracerProvider, meterProvider, namespaces: [namespace], recordKeys: true })
    await fk.wrap(['user', dep.row('users', 'ada@example.com')], () => 'x')
    const [span] = exporter.getFinishedSpans()
    expect(String(span!.attributes['freshkey.key'])).toContain(namespace)
  })

  test('other namespaces are ignored; the returned function unsubscribes', async () => {
    const other = createFreshkey({ store: memoryStore(), namespace: `${namespace}-other` })
    await other.wrap(['user', dep.row('users', 1)], () => 'x')
    await other.close()
    expect(exporter.getFinishedSpans()).toEqual([])
    stop()
    await fk.wrap(['user', dep.row('users', 1)], () => 'x')
    expect(exporter.getFinishedSpans()).toEqual([])
    expect((await collect()).get('freshkey.loads')).toBeUndefined()
  })

  test('without providers it uses the global API (a no-op until an SDK registers)', async () => {
    const unsubscribe = instrumentFreshkey()
    await fk.wrap(['user', dep.row('users', 5)], () => 'x')
    unsubscribe()
    unsubscribe()
    expect(trace.getTracerProvider()).toBeDefined()
  })

  test('refuses a non-object', () => {
    expect(() => instrumentFreshkey(null as never)).toThrow(expect.objectContaining({ code: 'E_CONFIG' }))
  })
})
