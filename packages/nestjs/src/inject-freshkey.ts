import { Inject } from '@nestjs/common'
import { FRESHKEY } from './tokens.ts'

/**
 * Injects the module's `Freshkey` instance: `constructor(@InjectFreshkey() fk: Freshkey)`.
 * Same as `@Inject(FRESHKEY)`.
 */
export function InjectFreshkey(): PropertyDecorator & ParameterDecorator {
  return Inject(FRESHKEY)
}
