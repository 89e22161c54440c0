import { createFreshkey, memoryStore } from '@freshkey/core'
import { freshkeyMikroORM } from '../../packages/mikro-orm/src/index.ts'
import { BenchArticle, openBenchDatabase } from '../../packages/mikro-orm/test/support/bench-fixture.ts'
const fk = createFreshkey({ store: memoryStore(), namespace: 'prof', logger: false })
const db = await openBenchDatabase(4)
freshkeyMikroORM(db.watched, fk)
let n = 0
const orm = process.argv[2] === 'plain' ? db.plain : db.watched
for (let i = 0; i < 4000; i++) await orm.em.fork().transactional((em) => em.nativeUpdate(BenchArticle, 1, { title: `t${n++}` }))
await db.close(); await fk.close()
