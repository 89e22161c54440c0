// Checks what publint and attw do not: every package has its README and LICENSE, the README says
// the Node version `engines` does, links absolutely (relative links break on npm), and the
// package points at its folder of the repository.
import { existsSync, readdirSync, readFileSync } from 'node:fs'

const REPO = 'https://github.com/freshkey/freshkey'
const problems: string[] = []
for (const dir of readdirSync('packages')) {
  const at = `packages/${dir}`
  if (!existsSync(`${at}/package.json`)) continue
  const pkg = JSON.parse(readFileSync(`${at}/package.json`, 'utf8'))
  const say = (problem: string) => problems.push(`${pkg.name}: ${problem}`)
  for (const file of ['README.md', 'LICENSE']) if (!existsSync(`${at}/${file}`)) say(`no ${file}`)
  if (pkg.repository?.directory !== at || !String(pkg.repository?.url).includes(REPO)) {
    say(`repository must be ${REPO} with directory ${at}`)
  }
  if (!pkg.homepage?.startsWith(`${REPO}/tree/main/${at}`)) say('homepage must point at the package folder')
  if (!pkg.bugs?.url?.startsWith(REPO)) say('bugs must point at the repository issues')
  const node = /^>=(\d+\.\d+)$/.exec(pkg.engines?.node ?? '')?.[1]
  if (!node) {
    say(`engines.node must be ">=X.Y", is ${JSON.stringify(pkg.engines?.node)}`)
    continue
  }
  if (!existsSync(`${at}/README.md`)) continue
  const readme = readFileSync(`${at}/README.md`, 'utf8')
  const versions = [...readme.matchAll(/Node \(?(?:≥|>=) ?(\d+\.\d+)/g)].map((m) => m[1])
  if (!versions.includes(node)) say(`README must say "Node ≥ ${node}" like engines`)
  for (const v of versions) if (v !== node) say(`README says Node ≥ ${v}, engines say >=${node}`)
  for (const [, link] of readme.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (!/^(https?:|mailto:|#)/.test(link!)) say(`README link is not absolute: ${link}`)
  }
}
if (problems.length > 0) {
  console.error(problems.join('\n'))
  process.exit(1)
}
console.log('package metadata, READMEs and LICENSEs: ok')
