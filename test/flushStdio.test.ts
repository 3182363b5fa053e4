// flushStdio: the last output of a process that exits is not lost, and `then` runs once.
import { afterEach, assert, describe, it, vi } from "vitest"
import * as ChildProcess from "node:child_process"
import { flushStdio } from "../src/internal/flushStdio.ts"
import { fixture } from "./helpers/processes.ts"

/** A stand-in for process.stdout/stderr whose pending write completes when the test says. */
const fakeStream = (options: { readonly pending: number; readonly destroyed?: boolean }) => {
  const held: Array<() => void> = []
  const stream = {
    writableLength: options.pending,
    destroyed: options.destroyed ?? false,
    write: (_chunk: string, callback: () => void) => {
      held.push(callback)
      return false
    }
  }
  return { stream, writes: () => held.length, drain: () => held.splice(0).forEach((callback) => callback()) }
}

type Fake = ReturnType<typeof fakeStream>

/** Calls flushStdio with `stdout` and `stderr` standing in for the process's own, for that call only. */
const flushWith = (stdout: Fake, stderr: Fake, timeoutMillis: number) => {
  const calls = { count: 0 }
  const out = vi.spyOn(process, "stdout", "get").mockReturnValue(stdout.stream as unknown as typeof process.stdout)
  const err = vi.spyOn(process, "stderr", "get").mockReturnValue(stderr.stream as unknown as typeof process.stderr)
  try {
    flushStdio(timeoutMillis, () => calls.count++)
  } finally {
    out.mockRestore()
    err.mockRestore()
  }
  return calls
}

describe("flushStdio", () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it("with nothing pending (or a destroyed stream) it calls `then` at once, and only once", () => {
    vi.useFakeTimers()
    const idle = flushWith(fakeStream({ pending: 0 }), fakeStream({ pending: 0, destroyed: true }), 1_000)
    assert.strictEqual(idle.count, 1, "called before flushStdio returned")
    const destroyed = fakeStream({ pending: 10, destroyed: true })
    const broken = flushWith(fakeStream({ pending: 0 }), destroyed, 1_000)
    assert.strictEqual(broken.count, 1)
    assert.strictEqual(destroyed.writes(), 0, "nothing is written to a destroyed stream")
    vi.advanceTimersByTime(1_000)
    assert.strictEqual(idle.count, 1, "the timer firing later does not call it again")
    assert.strictEqual(broken.count, 1)
  })

  it("waits for both streams; once both finished, the timer firing does not call `then` again", () => {
    vi.useFakeTimers()
    const stdout = fakeStream({ pending: 5 })
    const stderr = fakeStream({ pending: 7 })
    const calls = flushWith(stdout, stderr, 1_000)
    assert.strictEqual(calls.count, 0)
    stdout.drain()
    assert.strictEqual(calls.count, 0, "stderr still holds bytes")
    stderr.drain()
    assert.strictEqual(calls.count, 1)
    vi.advanceTimersByTime(1_000)
    assert.strictEqual(calls.count, 1)
  })

  it("a stream that never drains is given up at the timeout; draining later does not call `then` again", () => {
    vi.useFakeTimers()
    const stdout = fakeStream({ pending: 5 })
    const stderr = fakeStream({ pending: 0 })
    const calls = flushWith(stdout, stderr, 1_000)
    vi.advanceTimersByTime(999)
    assert.strictEqual(calls.count, 0)
    vi.advanceTimersByTime(1)
    assert.strictEqual(calls.count, 1, "at the timeout")
    stdout.drain()
    assert.strictEqual(calls.count, 1)
  })

  it("a real process exiting through it delivers everything it wrote to its pipes; exiting at once does not", async () => {
    const size = 4 * 1024 * 1024 // far more than a pipe holds: most of it is still queued in the process
    const run = (flush: boolean) =>
      new Promise<{ code: number | null; stdout: Buffer; stderr: Buffer }>((resolve, reject) => {
        const child = ChildProcess.spawn(process.execPath, [fixture("flush-stdio.ts")], {
          env: { ...process.env, BYTES: String(size), FLUSH: flush ? "1" : "0" },
          stdio: ["ignore", "pipe", "pipe"]
        })
        const stdout: Array<Buffer> = []
        const stderr: Array<Buffer> = []
        child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk))
        child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk))
        child.on("error", reject)
        child.on("close", (code) => resolve({ code, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) }))
      })
    const [flushed, abrupt] = await Promise.all([run(true), run(false)])
    assert.strictEqual(flushed.code, 3)
    assert.isTrue(flushed.stdout.equals(Buffer.alloc(size, 0x61)), `stdout: ${flushed.stdout.length} of ${size} bytes`)
    assert.isTrue(flushed.stderr.equals(Buffer.alloc(size, 0x62)), `stderr: ${flushed.stderr.length} of ${size} bytes`)
    // The control: the same process exiting without it loses what its pipes had not taken.
    assert.strictEqual(abrupt.code, 3)
    assert.isBelow(abrupt.stdout.length + abrupt.stderr.length, 2 * size)
  })
})
