/**
 * A pure string function, remembered for inputs of at most `maxLength` characters: the same few
 * texts (a category, a status, a key part) recur on every write and read. Holds at most `entries`
 * results, then starts over.
 */
export function rememberText(
  fn: (text: string) => string,
  maxLength = 256,
  entries = 10_000,
): (text: string) => string {
  const memo = new Map<string, string>()
  return (text) => {
    if (text.length > maxLength) return fn(text)
    let out = memo.get(text)
    if (out === undefined) {
      out = fn(text)
      if (memo.size >= entries) memo.clear()
      memo.set(text, out)
    }
    return out
  }
}
