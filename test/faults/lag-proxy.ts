import { createServer, type Socket } from 'node:net'

/**
 * A TCP proxy in front of a Redis server that can hold back what the server sends: a replica
 * connected through it falls behind its master at will (`hold()`), while its acknowledgements still
 * reach the master. Held bytes are dropped when the link closes (a failover), as a lagging
 * replica's missing writes are.
 */
export interface LagProxy {
  readonly port: number
  hold(): void
  release(): void
  close(): Promise<void>
}

export async function lagProxy(targetPort: number): Promise<LagProxy> {
  let holding = false
  const links = new Set<{ client: Socket; upstream: Socket; held: Buffer[] }>()
  const server = createServer((client) => {
    const upstream = new (client.constructor as typeof Socket)()
    const link = { client, upstream, held: [] as Buffer[] }
    links.add(link)
    upstream.connect(targetPort, '127.0.0.1')
    client.on('data', (d) => upstream.write(d))
    upstream.on('data', (d: Buffer) => {
      if (holding) link.held.push(d)
      else client.write(d)
    })
    const close = () => {
      links.delete(link)
      link.held = []
      client.destroy()
      upstream.destroy()
    }
    client.on('close', close)
    upstream.on('close', close)
    client.on('error', close)
    upstream.on('error', close)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    port: (server.address() as { port: number }).port,
    hold() {
      holding = true
    },
    release() {
      holding = false
      for (const l of links) {
        for (const b of l.held) l.client.write(b)
        l.held = []
      }
    },
    async close() {
      for (const l of links) {
        l.client.destroy()
        l.upstream.destroy()
      }
      await new Promise((r) => server.close(r))
    },
  }
}
