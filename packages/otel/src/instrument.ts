import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { ConfigError, channels, type FreshkeyEvents } from '@freshkey/core'
import {
  type Attributes,
  type MeterProvider,
  metrics,
  SpanKind,
  SpanStatusCode,
  type TracerProvider,
  trace,
} from '@opentelemetry/api'

/** Options of {@link instrumentFreshkey}. */
export interface InstrumentFreshkeyOptions {
  /** Where spans go. Default: the global tracer provider (`trace.setGlobalTracerProvider`). */
  tracerProvider?: TracerProvider
  /** Where metrics go. Default: the global meter provider (`metrics.setGlobalMeterProvider`). */
  meterProvider?: MeterProvider
  /** Only events of these freshkey namespaces. Default: every namespace in the process. */
  namespaces?: readonly string[]
  /**
   * Put cache keys on spans and span events (`freshkey.key`). Keys embed the key parts, which
   * may be user data (ids, e-mail addresses), so this is off by default.
   */
  recordKeys?: boolean
}

/** Name and version scope of the tracer and the meter. */
export const INSTRUMENTATION_SCOPE = '@freshkey/otel'

// Seconds, as OpenTelemetry's semantic conventions measure durations: 1 ms to 10 s.
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

type Payload<K extends keyof FreshkeyEvents> = FreshkeyEvents[K]

/**
 * Turns freshkey's `node:diagnostics_channel` events into OpenTelemetry spans and metrics:
 * a `freshkey.load` span per loader run (error status when it threw), events on the active span
 * for hits, misses, stale serves, invalidations and errors, and the counters
 * `freshkey.cache.hits`, `freshkey.cache.misses`, `freshkey.cache.stale_served`,
 * `freshkey.loads`, `freshkey.invalidations`, `freshkey.invalidated_tokens`, `freshkey.errors`
 * plus the histogram `freshkey.load.duration` (seconds). Every instrument carries
 * `freshkey.namespace`. The channels are process-wide, so every freshkey instance (and every
 * copy of `@freshkey/core`) is seen. Returns the function that stops it.
 */
export function instrumentFreshkey(options: InstrumentFreshkeyOptions = {}): () => void {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError('instrumentFreshkey takes an options object')
  }
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_SCOPE)
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_SCOPE)
  const wanted = options.namespaces ? new Set(options.namespaces) : undefined
  const recordKeys = options.recordKeys === true

  const hits = meter.createCounter('freshkey.cache.hits', {
    description: 'Fresh values served from the cache',
  })
  const misses = meter.createCounter('freshkey.cache.misses', {
    description: 'Lookups that found no fresh value',
  })
  const stale = meter.createCounter('freshkey.cache.stale_served', {
    description: 'Previous values served while one refresh ran (stale-while-revalidate)',
  })
  const loads = meter.createCounter('freshkey.loads', { description: 'Loader runs' })
  const loadDuration = meter.createHistogram('freshkey.load.duration', {
    description: 'Duration of loader runs',
    unit: 's',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  })
  const invalidations = meter.createCounter('freshkey.invalidations', {
    description: 'Bumps published (commits, invalidate calls)',
  })
  const invalidatedTokens = meter.createCounter('freshkey.invalidated_tokens', {
    description: 'Dependency tokens bumped',
  })
  const errors = meter.createCounter('freshkey.errors', {
    description: 'Store operations that failed and errors adapters swallowed',
  })

  const base = (namespace: string): Attributes => ({ 'freshkey.namespace': namespace })
  const withKey = (attributes: Attributes, key: string): Attributes =>
    recordKeys ? { ...attributes, 'freshkey.key': key } : attributes
  const event = (name: string, attributes: Attributes) => {
    const span = trace.getActiveSpan()
    if (span?.isRecording()) span.addEvent(name, attributes)
  }
  const errorType = (error: unknown): string =>
    (error as { code?: unknown })?.code && typeof (error as { code?: unknown }).code === 'string'
      ? String((error as { code: string }).code)
      : ((error as Error)?.constructor?.name ?? typeof error)

  const handlers: { [K in keyof FreshkeyEvents]: (payload: Payload<K>) => void } = {
    'freshkey:hit': ({ namespace, key }) => {
      hits.add(1, base(namespace))
      event('freshkey.hit', withKey(base(namespace), key))
    },
    'freshkey:miss': ({ namespace, key }) => {
      misses.add(1, base(namespace))
      event('freshkey.miss', withKey(base(namespace), key))
    },
    'freshkey:stale': ({ namespace, key }) => {
      stale.add(1, base(namespace))
      event('freshkey.stale', withKey(base(namespace), key))
    },
    'freshkey:load': ({ namespace, key, durationMs, error }) => {
      const failed = error !== undefined
      const attributes: Attributes = failed
        ? { ...base(namespace), 'error.type': errorType(error) }
        : base(namespace)
      loads.add(1, attributes)
      loadDuration.record(durationMs / 1000, attributes)
      // The event comes when the load is over: the span is dated back by its duration.
      const end = Date.now()
      const span = tracer.startSpan('freshkey.load', {
        kind: SpanKind.INTERNAL,
        startTime: end - durationMs,
        attributes: withKey(attributes, key),
      })
      if (failed) {
        span.recordException(error instanceof Error ? error : String(error))
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message ?? String(error) })
      }
      span.end(end)
    },
    'freshkey:invalidate': ({ namespace, keys }) => {
      invalidations.add(1, base(namespace))
      invalidatedTokens.add(keys.length, base(namespace))
      event('freshkey.invalidate', { ...base(namespace), 'freshkey.invalidated_tokens': keys.length })
    },
    'freshkey:error': ({ namespace, operation, error }) => {
      const attributes = {
        ...base(namespace),
        'freshkey.operation': operation,
        'error.type': errorType(error),
      }
      errors.add(1, attributes)
      event('freshkey.error', attributes)
    },
  }

  const subscribed: [string, (message: unknown) => void][] = []
  for (const name of Object.values(channels)) {
    const handle = handlers[name] as (payload: unknown) => void
    const listener = (message: unknown) => {
      const payload = message as { namespace: string }
      if (wanted && !wanted.has(payload.namespace)) return
      try {
        handle(payload)
      } catch {
        // Telemetry must never break the cache call that published the event.
      }
    }
    subscribe(name, listener)
    subscribed.push([name, listener])
  }
  return () => {
    for (const [name, listener] of subscribed.splice(0)) unsubscribe(name, listener)
  }
}
