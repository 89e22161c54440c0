// The run's markdown tables and SVG chart.
import type { ReadKind } from './checker.ts'

export interface ContenderResult {
  name: string
  orm: string
  family: string
  config: string
  opsPerSec: number
  /** Median over rounds of ops/s ÷ the same ORM's no-cache ops/s in that round. */
  ratio: number | undefined
  readP50: number
  readP99: number
  writeP50: number
  writeP99: number
  redisPerRead: number
  redisPerWrite: number
  /** INFO commandstats total over the rounds ÷ operations (a server-side check of the two above). */
  serverRedisPerOp: number
  dbPerRead: number
  dbPerWrite: number
  reads: number
  writes: number
  stale: number
  staleByKind: Record<ReadKind, { reads: number; stale: number }>
  ageP50: number | undefined
  ageMax: number | undefined
  torn: number
  anomalies: number
  anomalySamples: string[]
  errors: number
  errorSamples: string[]
}

/** What a run reports (also its --out JSON, which --render turns back into tables and chart). */
export interface Report {
  environment: string[]
  workload: string
  /** Markdown list items: contenders skipped or failed. */
  notes: string[]
  /** The chart's second line. */
  subtitle: string
  results: ContenderResult[]
}

export function renderMarkdown(report: Report): string {
  const { results } = report
  return [
    mainTable(results),
    '',
    'Stale reads per request (stale / checked); reads that overlapped a write and mixed its before and after (torn: not stale); impossible reads (anomalies: a bug); failed requests; DB queries per write; Redis commands the server executed per operation (INFO commandstats, which also counts the calls inside Lua scripts):',
    '',
    staleTable(results),
    '',
    'Configurations:',
    '',
    configTable(results),
    '',
    `Workload: ${report.workload}.`,
    '',
    ...report.environment.map((e) => `- ${e}`),
    ...report.notes,
    '',
  ].join('\n')
}

/** A stale share: "< 0.1 %" rather than a misleading "0.0 %". */
const share = (stale: number, reads: number) => {
  const p = (100 * stale) / reads
  return p < 0.1 ? '< 0.1 %' : `${p.toFixed(1)} %`
}

const int = (n: number) => Math.round(n).toLocaleString('en-US')
const ms = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2))
const per = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–')
const age = (n: number | undefined) =>
  n === undefined ? '–' : n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${n.toFixed(0)} ms`

export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n')
}

export function mainTable(results: readonly ContenderResult[]): string {
  return table(
    [
      'contender',
      'ORM',
      'ops/s',
      '× no cache',
      'read p50 / p99 ms',
      'write p50 / p99 ms',
      'Redis cmds / read',
      'Redis cmds / write',
      'DB queries / read',
      'stale reads',
      'stale age p50 / max',
    ],
    results.map((r) => [
      r.family === 'freshkey' ? `**${r.name}**` : r.name,
      r.orm,
      int(r.opsPerSec),
      r.ratio === undefined ? '–' : r.family === 'no cache' ? '1.00' : r.ratio.toFixed(2),
      `${ms(r.readP50)} / ${ms(r.readP99)}`,
      `${ms(r.writeP50)} / ${ms(r.writeP99)}`,
      per(r.redisPerRead),
      per(r.redisPerWrite),
      per(r.dbPerRead),
      r.stale === 0
        ? `0 / ${int(r.reads)}`
        : `**${int(r.stale)}** / ${int(r.reads)} (${share(r.stale, r.reads)})`,
      r.stale === 0 ? '–' : `${age(r.ageP50)} / ${age(r.ageMax)}`,
    ]),
  )
}

export function staleTable(results: readonly ContenderResult[]): string {
  const kinds: ReadKind[] = ['article', 'list', 'count', 'profile']
  const cell = (x: { reads: number; stale: number }) => `${int(x.stale)} / ${int(x.reads)}`
  return table(
    [
      'contender',
      'stale: article + author',
      'stale: newest 20',
      'stale: count',
      'stale: profile',
      'torn (in flight)',
      'anomalies',
      'errors',
      'DB queries / write',
      'Redis server cmds / op',
    ],
    results.map((r) => [
      r.name,
      ...kinds.map((k) => cell(r.staleByKind[k])),
      int(r.torn),
      int(r.anomalies),
      int(r.errors),
      per(r.dbPerWrite),
      per(r.serverRedisPerOp),
    ]),
  )
}

export function configTable(results: readonly ContenderResult[]): string {
  return table(
    ['contender', 'configuration'],
    results.map((r) => [r.name, r.config]),
  )
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** Horizontal bars of the ratio vs no cache, one per contender, stale reads annotated. */
export function svgChart(results: readonly ContenderResult[], subtitle: string): string {
  const rows = results.filter((r) => r.ratio !== undefined)
  const max = Math.max(1.2, ...rows.map((r) => r.ratio!)) * 1.08
  const left = 230
  const width = 900
  const plot = width - left - 210
  const rowH = 24
  const top = 58
  const height = top + rows.length * rowH + 52
  const x = (v: number) => Math.round((left + (v / max) * plot) * 10) / 10
  const color: Record<string, string> = {
    'no cache': '#9aa0a6',
    freshkey: '#1a73e8',
    peer: '#e8710a',
    'self-test': '#9334e6',
  }
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="title" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<title id="title">bench/app: throughput of each cache relative to its ORM without cache, with its stale reads</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="20" font-size="15" font-weight="bold">Read-heavy blog: throughput vs the same ORM without cache</text>`,
    `<text x="${left}" y="38" fill="#555">${esc(subtitle)}</text>`,
  ]
  for (let t = 0; t <= max; t += max > 4 ? 1 : 0.5) {
    out.push(
      `<line x1="${x(t)}" y1="${top - 6}" x2="${x(t)}" y2="${top + rows.length * rowH}" stroke="#e0e0e0"/>`,
      `<text x="${x(t)}" y="${top + rows.length * rowH + 16}" text-anchor="middle" fill="#555">${t.toFixed(1)}×</text>`,
    )
  }
  out.push(
    `<line x1="${x(1)}" y1="${top - 6}" x2="${x(1)}" y2="${top + rows.length * rowH}" stroke="#333" stroke-dasharray="4 3"/>`,
  )
  rows.forEach((r, i) => {
    const y = top + i * rowH
    const v = r.ratio!
    out.push(
      `<text x="${left - 8}" y="${y + 15}" text-anchor="end">${esc(r.name)}</text>`,
      `<rect x="${left}" y="${y + 4}" width="${Math.max(1, x(v) - left)}" height="${rowH - 8}" fill="${color[r.family] ?? '#888'}"/>`,
      `<text x="${x(v) + 5}" y="${y + 15}">${v.toFixed(2)}×</text>`,
    )
    const stale = r.stale === 0 ? '0 stale' : `${int(r.stale)} stale (${share(r.stale, r.reads)})`
    out.push(
      `<text x="${width - 10}" y="${y + 15}" text-anchor="end" fill="${r.stale === 0 ? '#188038' : '#d93025'}" font-weight="${r.stale === 0 ? 'normal' : 'bold'}">${esc(stale)}</text>`,
    )
  })
  const legendY = height - 10
  let lx = left
  for (const [name, c] of Object.entries(color).slice(0, 3)) {
    out.push(`<rect x="${lx}" y="${legendY - 10}" width="12" height="12" fill="${c}"/>`)
    out.push(`<text x="${lx + 16}" y="${legendY}" fill="#333">${name}</text>`)
    lx += 110
  }
  out.push('</svg>')
  return `${out.join('\n')}\n`
}
