import { execFileSync } from 'node:child_process'
import { loadavg } from 'node:os'

/** Counts the commands a client sends (ioredis routes every command, pipelined ones too, through sendCommand). */
export interface CommandCounter {
  readonly names: string[]
  reset(): void
  /** Commands sent while `fn` ran. */
  during(fn: () => Promise<unknown>): Promise<string[]>
}

export function countCommands(client: object): CommandCounter {
  const names: string[] = []
  const c = client as { sendCommand(command: { name: string }, ...rest: unknown[]): unknown }
  const original = c.sendCommand.bind(c)
  c.sendCommand = (command, ...rest) => {
    names.push(command.name)
    return original(command, ...rest)
  }
  return {
    names,
    reset() {
      names.length = 0
    },
    async during(fn) {
      const from = names.length
      await fn()
      return names.slice(from)
    },
  }
}

/** `uptime` (load averages): benches report it next to their ratios. */
export function uptime(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim()
  } catch {
    return `load average: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')}`
  }
}

/** Per-command call counts from `INFO commandstats` text. */
export function commandCalls(info: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const m of info.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) out.set(m[1]!, Number(m[2]))
  return out
}
