import { memoryStore } from '@freshkey/core'
import { storeSuite } from '@freshkey/test-suite'

// The reference implementation. Redis runs the same suite in store-redis.test.ts (standalone) and
// store-cluster.test.ts (Cluster), each with ioredis 5 and 6.
storeSuite('memoryStore', { make: () => memoryStore(), shared: false })
