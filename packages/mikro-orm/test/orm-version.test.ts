import { Utils } from '@mikro-orm/core'
import { MikroORM } from '@mikro-orm/libsql'
import { expect, test } from 'vitest'

// The compat run (packages/mikro-orm/compat/6) sets MIKRO_ORM_MAJOR=6: this proves the adapter and
// its tests really ran against that major, not the workspace's MikroORM 7.
test(`MikroORM ${process.env.MIKRO_ORM_MAJOR ?? '7'} is the one under test`, () => {
  const major = process.env.MIKRO_ORM_MAJOR ?? '7'
  expect(Utils.getORMVersion().split('.')[0]).toBe(major)
  expect(typeof MikroORM.init).toBe('function')
})
