import { memoryStore } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import { describe } from 'vitest'
import { storeSuite } from './store-suite.ts'
import { serviceUrl } from './support/services.ts'

storeSuite('memoryStore', { make: () => memoryStore(), shared: false })

const redisUrl = serviceUrl('REDIS_URL')
describe.skipIf(!redisUrl)('redis', () => {
  storeSuite('redisStore', { make: () => redisStore(redisUrl!), shared: true })
})
