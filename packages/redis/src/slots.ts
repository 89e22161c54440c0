// Redis Cluster key slots: CRC16 (XMODEM) of the key's hash tag, modulo 16384.

const TABLE = new Uint16Array(256)
for (let i = 0; i < 256; i++) {
  let crc = i << 8
  for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1
  TABLE[i] = crc & 0xffff
}

function crc16(text: string, from: number, to: number): number {
  let crc = 0
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i)
    if (c >= 0x80) return crc16Bytes(Buffer.from(text.slice(from, to), 'utf8'))
    crc = ((crc << 8) ^ TABLE[((crc >> 8) ^ c) & 0xff]!) & 0xffff
  }
  return crc
}

function crc16Bytes(bytes: Uint8Array): number {
  let crc = 0
  for (const b of bytes) crc = ((crc << 8) ^ TABLE[((crc >> 8) ^ b) & 0xff]!) & 0xffff
  return crc
}

/** The Cluster slot of a (full, prefixed) key, by the Redis hash tag rule. */
export function keySlot(key: string): number {
  const open = key.indexOf('{')
  if (open >= 0) {
    const close = key.indexOf('}', open + 1)
    if (close > open + 1) return crc16(key, open + 1, close) & 16383
  }
  return crc16(key, 0, key.length) & 16383
}
