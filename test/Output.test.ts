// Output against in-memory destinations: what reaches them, when a write completes,
// and what happens once a destination is broken.
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { Writable } from "node:stream"
import * as Output from "../src/Output.ts"

const bytes = (text: string) => new Uint8Array(Buffer.from(text))

/** Takes every write at once, recording the batches it was given. */
const recording = () => {
  const batches: Array<Array<Buffer>> = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      batches.push([chunk])
      callback()
    },
    writev(chunks, callback) {
      batches.push(chunks.map(({ chunk }) => chunk as Buffer))
      callback()
    }
  })
  return { stream, batches }
}

/** Holds every write's callback until `release`; from then on takes writes at once. */
const gated = () => {
  const log: Array<string> = []
  const held: Array<() => void> = []
  let open = false
  const take = (text: string, callback: () => void) => {
    log.push(`took ${JSON.stringify(text)}`)
    if (open) callback()
    else held.push(callback)
  }
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      take(chunk.toString(), callback)
    },
    writev(chunks, callback) {
      take(chunks.map(({ chunk }) => String(chunk)).join(""), callback)
    }
  })
  const release = () => {
    log.push("released")
    open = true
    held.splice(0).forEach((callback) => callback())
  }
  return { stream, log, release }
}

/** Fails every write with EPIPE, as a pipe whose reader went away. */
const epipe = () => {
  let writes = 0
  const stream = new Writable({
    write(_chunk, _encoding, callback) {
      writes++
      callback(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }))
    },
    writev(_chunks, callback) {
      writes++
      callback(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }))
    }
  })
  return { stream, writes: () => writes }
}

const droppedLog = () => {
  const dropped: Array<[Output.Target, number]> = []
  return { dropped, onDropped: (target: Output.Target, count: number) => void dropped.push([target, count]) }
}

describe("Output.make", () => {
  it.effect("the pieces reach the destination in order, as one batch, without a copy", () =>
    Effect.gen(function*() {
      const out = recording()
      const err = recording()
      const { dropped, onDropped } = droppedLog()
      const output = Output.make({ stdout: out.stream, stderr: err.stream }, onDropped)
      const pieces = [bytes("[api] "), bytes("hello"), bytes("\n")]
      yield* output.write("stdout", pieces)
      yield* output.write("stderr", [bytes("[api] "), bytes("oops\n")])
      assert.strictEqual(out.batches.length, 1, "one vectored write")
      assert.deepStrictEqual(out.batches[0].map(String), ["[api] ", "hello", "\n"])
      out.batches[0].forEach((chunk, index) => assert.strictEqual(chunk.buffer, pieces[index].buffer))
      assert.deepStrictEqual(err.batches.map((batch) => batch.map(String)), [["[api] ", "oops\n"]])
      assert.deepStrictEqual(dropped, [])
    }))

  it.effect("a write completes only once the destination has taken the bytes", () =>
    Effect.gen(function*() {
      const slow = gated()
      const output = Output.make({ stdout: slow.stream, stderr: recording().stream }, droppedLog().onDropped)
      const write = yield* output.write("stdout", [bytes("a"), bytes("b\n")]).pipe(
        Effect.andThen(Effect.sync(() => slow.log.push("write completed"))),
        Effect.forkChild({ startImmediately: true })
      )
      yield* Effect.yieldNow
      assert.isUndefined(write.pollUnsafe(), "the destination has not called back yet")
      slow.release()
      yield* Fiber.join(write)
      assert.deepStrictEqual(slow.log, [`took "ab\\n"`, "released", "write completed"])
    }))

  it.effect("after EPIPE, the write completes without failing, and later writes are dropped and counted", () =>
    Effect.gen(function*() {
      const broken = epipe()
      const { dropped, onDropped } = droppedLog()
      const output = Output.make({ stdout: recording().stream, stderr: broken.stream }, onDropped)
      yield* output.write("stderr", [bytes("[w] "), bytes("first\n")])
      // No listener of the test's own: the error event must not become an uncaught exception.
      assert.strictEqual(broken.stream.listenerCount("error"), 1)
      yield* output.write("stderr", [bytes("[w] "), bytes("second line\n")])
      yield* output.write("stderr", [bytes("x")])
      assert.strictEqual(broken.writes(), 1, "nothing more is written to a broken destination")
      assert.deepStrictEqual(dropped, [["stderr", 10], ["stderr", 16], ["stderr", 1]])
      yield* output.flush // a broken destination does not hold a flush
    }))

  it.effect("a destination destroyed or ended before the write: the bytes are dropped and counted", () =>
    Effect.gen(function*() {
      const destroyed = recording()
      destroyed.stream.destroy()
      const ended = recording()
      ended.stream.end()
      const { dropped, onDropped } = droppedLog()
      const output = Output.make({ stdout: destroyed.stream, stderr: ended.stream }, onDropped)
      yield* output.write("stdout", [bytes("abc"), bytes("\n")])
      yield* output.write("stderr", [bytes("de\n")])
      assert.deepStrictEqual(dropped, [["stdout", 4], ["stderr", 3]])
      assert.deepStrictEqual(destroyed.batches, [])
      assert.deepStrictEqual(ended.batches, [])
    }))

  it.effect("flush completes once the pending writes have drained, not before", () =>
    Effect.gen(function*() {
      const slow = gated()
      const output = Output.make({ stdout: slow.stream, stderr: recording().stream }, droppedLog().onDropped)
      yield* output.write("stdout", [bytes("queued\n")]).pipe(Effect.forkChild({ startImmediately: true }))
      const flush = yield* output.flush.pipe(
        Effect.andThen(Effect.sync(() => slow.log.push("flushed"))),
        Effect.forkChild({ startImmediately: true })
      )
      yield* Effect.yieldNow
      assert.isUndefined(flush.pollUnsafe())
      slow.release()
      yield* Fiber.join(flush)
      assert.deepStrictEqual(slow.log.slice(0, 2), [`took "queued\\n"`, "released"])
      assert.strictEqual(slow.log.at(-1), "flushed")
    }))

  it("flush completes at once when nothing is pending or the destination is broken", () => {
    const destroyed = recording()
    destroyed.stream.destroy()
    const output = Output.make({ stdout: recording().stream, stderr: destroyed.stream }, droppedLog().onDropped)
    // runSync throws if the flush had to wait for anything.
    Effect.runSync(output.flush)
  })

  it("a stream is guarded once, however many outputs use it", () => {
    const out = recording()
    Output.make({ stdout: out.stream, stderr: out.stream }, droppedLog().onDropped)
    Output.make({ stdout: out.stream, stderr: recording().stream }, droppedLog().onDropped)
    assert.strictEqual(out.stream.listenerCount("error"), 1)
  })

  // Its contract is "completing once the destination took them": nothing to take, done at once.
  it("a write of no pieces completes", () =>
    Effect.runPromise(Effect.gen(function*() {
      const out = recording()
      const output = Output.make({ stdout: out.stream, stderr: recording().stream }, droppedLog().onDropped)
      const empty = yield* output.write("stdout", []).pipe(Effect.forkChild({ startImmediately: true }))
      yield* output.write("stdout", [bytes("after\n")])
      assert.isDefined(empty.pollUnsafe(), "the empty write is still waiting")
    })))
})

describe("Output.layerTest", () => {
  it.effect("captures the bytes per target, as they were when written", () =>
    Effect.gen(function*() {
      const output = yield* Output.Output
      const piece = bytes("[a] one\n")
      yield* output.write("stdout", [piece])
      piece.fill(0x21) // the producer reuses its buffer
      yield* output.write("stderr", [bytes("[a] "), bytes("err\n")])
      yield* output.write("stdout", [bytes("[b] two\n")])
      yield* output.flush
      const captured = yield* Output.TestOutput
      assert.strictEqual(Buffer.from(yield* captured.bytes("stdout")).toString(), "[a] one\n[b] two\n")
      assert.strictEqual(Buffer.from(yield* captured.bytes("stderr")).toString(), "[a] err\n")
    }).pipe(Effect.provide(Output.layerTest)))
})
