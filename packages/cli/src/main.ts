import { parseArgs } from 'node:util'
import { FreshkeyError } from '@freshkey/core'
import { connect } from './connection.ts'
import { describe, inspect } from './inspect.ts'
import { purge } from './purge.ts'
import { describeStats, stats } from './stats.ts'

/** Where the command writes. */
export interface Output {
  out(line: string): void
  err(line: string): void
}

const USAGE = `usage: freshkey <command> [options]

commands:
  inspect <key>                       an entry (dependencies, tokens stored vs now, age, fresh-until,
                                      generation), a token (value, TTL, fence), a lease, schemes
  stats [--namespace ns]              keys per kind (and per master on a Cluster), estimated memory
  purge --namespace ns [--version v]  delete one version's values, or (with --yes) the whole namespace

options:
  --url redis://…         Redis to use (default: REDIS_URL)
  --cluster host:port,…   a Redis Cluster instead
  --prefix fk:            the store prefix (default fk:)
  --json                  machine-readable output
  --dry-run               purge: count only
  --yes                   purge: confirm deleting a whole namespace`

/** Runs the CLI; resolves to the exit code (0 ok, 1 failure, 2 usage). */
export async function main(argv: readonly string[], io: Output = defaultOutput): Promise<number> {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (error) {
    io.err(String((error as Error).message))
    io.err(USAGE)
    return 2
  }
  const { values, positionals } = parsed
  const [command, ...rest] = positionals
  if (values.help || !command) {
    io.out(USAGE)
    return command || values.help ? 0 : 2
  }
  if (!['inspect', 'stats', 'purge'].includes(command)) {
    io.err(`unknown command "${command}"`)
    io.err(USAGE)
    return 2
  }
  if (command === 'inspect' && rest.length !== 1) {
    io.err('inspect needs exactly one key')
    return 2
  }
  if (command === 'purge' && !values.namespace) {
    io.err('purge needs --namespace')
    return 2
  }
  let conn: Awaited<ReturnType<typeof connect>> | undefined
  try {
    conn = await connect(values)
    const print = (result: unknown, lines: string[]) => {
      if (values.json) io.out(JSON.stringify(result, null, 2))
      else for (const l of lines) io.out(l)
    }
    if (command === 'inspect') {
      const r = await inspect(conn, rest[0]!)
      print(r, describe(r))
      return r.type === 'none' ? 1 : 0
    }
    if (command === 'stats') {
      const r = await stats(conn, values.namespace)
      print(r, describeStats(r))
      return 0
    }
    const r = await purge(conn, {
      namespace: values.namespace!,
      ...(values.version !== undefined ? { version: values.version } : {}),
      dryRun: values['dry-run'] === true,
      yes: values.yes === true,
    })
    print(r, [
      r.dryRun
        ? `would delete ${r.keys} keys under ${r.prefix}`
        : `deleted ${r.deleted} keys under ${r.prefix}${r.version !== undefined ? ` and unregistered version ${r.version}` : ''}`,
    ])
    return 0
  } catch (error) {
    io.err(
      error instanceof FreshkeyError
        ? `${error.code}: ${error.message}`
        : String((error as Error)?.message ?? error),
    )
    return 1
  } finally {
    await conn?.close()
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      cluster: { type: 'string' },
      prefix: { type: 'string' },
      namespace: { type: 'string' },
      version: { type: 'string' },
      json: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      yes: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
}

const defaultOutput: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
}
