// Waits until the process's stdout and stderr have written out what they hold, at most
// `timeoutMillis`, then calls `then`. process.exit drops what a pipe has not taken yet.
export const flushStdio = (timeoutMillis: number, then: () => void): void => {
  let pending = 2
  let called = false
  const once = () => {
    if (called) return
    called = true
    then()
  }
  const done = () => {
    if (--pending === 0) once()
  }
  setTimeout(once, timeoutMillis).unref()
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.writableLength === 0 || stream.destroyed) done()
    else stream.write("", done)
  }
}
