// The child side, in-process: signals come from an injected source, the
// lifeline is a PassThrough or a real FIFO fd, and runMain's exit is captured.
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import { PassThrough } from "node:stream"
import * as SupervisedChild from "../src/SupervisedChild.ts"
import { vi } from "vitest"
import * as Child from "../src/Child.ts"
import * as Member from "../src/Member.ts"
import { live } from "./helpers/live.ts"
import { fixture, isGone, killQuietly, tempFile, waitForLines } from "./helpers/processes.ts"

/** A signal source the test fires by hand. */
const manualSignals = () => {
  const listeners = new Set<(signal: SupervisedChild.Signal) => void>()
  const source: SupervisedChild.SignalSource = (listener) => {
    listeners.add(listener)
    return () => listeners.delete(listener)
  }
  return { source, fire: (signal: SupervisedChild.Signal) => listeners.forEach((listener) => listener(signal)), listeners }
}

const quiet = { lifeline: false, env: {} } as const

/** A main that records its drain in `events` and never ends by itself. */
const service = (events: Array<string>, drain: Effect.Effect<void> = Effect.void) =>
  Effect.scoped(
    Effect.gen(function*() {
      yield* Effect.addFinalizer(() => Effect.andThen(drain, Effect.sync(() => events.push("drained"))))
      events.push("up")
      return yield* Effect.never
    })
  )

describe("SupervisedChild", () => {
  it.effect("a main that ends by itself keeps its value, and its failure", () =>
    Effect.gen(function*() {
      const signals = manualSignals()
      const completed = yield* SupervisedChild.run(Effect.succeed(42), { ...quiet, signals: signals.source })
      assert.deepStrictEqual(completed, { _tag: "Completed", value: 42 })
      // The signal listener is removed once the main has ended.
      assert.strictEqual(signals.listeners.size, 0)
      // With the process's own signals by default, removed again once it ends.
      const before = process.listenerCount("SIGTERM")
      assert.deepStrictEqual(yield* SupervisedChild.run(Effect.succeed(1), quiet), { _tag: "Completed", value: 1 })
      assert.strictEqual(process.listenerCount("SIGTERM"), before)
      const failed = yield* Effect.exit(SupervisedChild.run(Effect.fail("boom"), { ...quiet, signals: signals.source }))
      assert.deepStrictEqual(failed, Exit.fail("boom"))
    }))

  it.live("SIGTERM interrupts the main and waits for its finalizers", () =>
    Effect.gen(function*() {
      const signals = manualSignals()
      const events: Array<string> = []
      const fiber = yield* Effect.forkChild(
        SupervisedChild.run(service(events, Effect.sleep("20 millis")), { ...quiet, signals: signals.source }),
        { startImmediately: true }
      )
      yield* Effect.yieldNow
      assert.deepStrictEqual(events, ["up"])
      signals.fire("SIGTERM")
      // A second signal during the drain is ignored: the first reason stands.
      signals.fire("SIGINT")
      const result = yield* Fiber.join(fiber)
      assert.deepStrictEqual(events, ["up", "drained"])
      assert.strictEqual(signals.listeners.size, 0)
      assert.strictEqual(result._tag, "Drained")
      if (result._tag === "Drained") {
        assert.deepStrictEqual(result.reason, SupervisedChild.StopReason.Signalled({ signal: "SIGTERM" }))
        assert.isAtLeast(result.millis, 15)
      }
    }))

  it.live("a job in hand (uninterruptible) is finished before the drain ends", () =>
    Effect.gen(function*() {
      const signals = manualSignals()
      const events: Array<string> = []
      const job = Effect.uninterruptible(
        Effect.gen(function*() {
          events.push("job started")
          signals.fire("SIGINT")
          yield* Effect.sleep("30 millis")
          events.push("job done")
        })
      )
      const result = yield* SupervisedChild.run(Effect.andThen(job, Effect.never), { ...quiet, signals: signals.source })
      assert.deepStrictEqual(events, ["job started", "job done"])
      assert.deepStrictEqual(
        result._tag === "Drained" && result.reason,
        SupervisedChild.StopReason.Signalled({ signal: "SIGINT" })
      )
    }))

  it.effect("interrupted from outside, it interrupts the main and waits for its drain", () =>
    Effect.gen(function*() {
      const events: Array<string> = []
      const fiber = yield* Effect.forkChild(SupervisedChild.run(service(events), { ...quiet, signals: manualSignals().source }), {
        startImmediately: true
      })
      yield* Effect.yieldNow
      yield* Fiber.interrupt(fiber)
      assert.deepStrictEqual(events, ["up", "drained"])
    }))

  it.effect("EOF on the lifeline stream means the parent is gone: the main drains", () =>
    Effect.gen(function*() {
      const lifeline = new PassThrough()
      const events: Array<string> = []
      const fiber = yield* Effect.forkChild(
        SupervisedChild.run(service(events), { lifeline, signals: manualSignals().source }),
        { startImmediately: true }
      )
      yield* Effect.yieldNow
      lifeline.write("ignored data")
      lifeline.end()
      const result = yield* Fiber.join(fiber)
      assert.deepStrictEqual(events, ["up", "drained"])
      assert.deepStrictEqual(
        result._tag === "Drained" && result.reason,
        SupervisedChild.StopReason.ParentGone({ detail: "EOF on the lifeline" })
      )
      assert.isTrue(lifeline.destroyed)
    }))

  it.effect("an error or a close on the lifeline also means the parent is gone", () =>
    Effect.gen(function*() {
      const failing = new PassThrough()
      const onError = yield* Effect.forkChild(SupervisedChild.awaitParentGone(failing), { startImmediately: true })
      failing.destroy(new Error("ECONNRESET"))
      assert.deepStrictEqual(
        yield* Fiber.join(onError),
        SupervisedChild.StopReason.ParentGone({ detail: "lifeline error: ECONNRESET" })
      )
      const closing = new PassThrough()
      const onClose = yield* Effect.forkChild(SupervisedChild.awaitParentGone(closing), { startImmediately: true })
      closing.destroy()
      assert.deepStrictEqual(
        yield* Fiber.join(onClose),
        SupervisedChild.StopReason.ParentGone({ detail: "lifeline closed" })
      )
    }))

  it.live("a real fd named in the environment: closing its other end drains the main", () =>
    Effect.gen(function*() {
      // A FIFO gives a real pipe fd in this process; its writer stands in for the parent.
      const fifo = tempFile("lifeline.fifo")
      ChildProcess.execFileSync("mkfifo", [fifo])
      const readFd = Fs.openSync(fifo, Fs.constants.O_RDONLY | Fs.constants.O_NONBLOCK)
      const writeFd = Fs.openSync(fifo, Fs.constants.O_WRONLY)
      const events: Array<string> = []
      const fiber = yield* Effect.forkChild(
        SupervisedChild.run(service(events), {
          env: { SUPERVISOR_LIFELINE_FD: String(readFd) },
          signals: manualSignals().source
        }),
        { startImmediately: true }
      )
      yield* Effect.sleep("10 millis")
      assert.deepStrictEqual(events, ["up"])
      Fs.closeSync(writeFd)
      const result = yield* Fiber.join(fiber)
      assert.deepStrictEqual(events, ["up", "drained"])
      assert.strictEqual(result._tag === "Drained" && result.reason._tag, "ParentGone")
    }))

  it.effect("a lifeline that is not a readable fd fails at start with LifelineError", () =>
    Effect.gen(function*() {
      const file = tempFile("regular")
      Fs.writeFileSync(file, "")
      const fileFd = Fs.openSync(file, "r")
      try {
        for (const fd of ["abc", "-1", String(fileFd)]) {
          const error = yield* Effect.flip(SupervisedChild.run(Effect.void, { env: { SUPERVISOR_LIFELINE_FD: fd } }))
          assert.strictEqual(error._tag, "LifelineError")
          assert.include(error.message, `Cannot read the lifeline fd ${fd} (SUPERVISOR_LIFELINE_FD)`)
        }
        const fromNumber = yield* Effect.flip(SupervisedChild.run(Effect.void, { lifeline: fileFd }))
        assert.strictEqual(fromNumber._tag, "LifelineError")
        assert.strictEqual(new SupervisedChild.LifelineError({ fd: "9", cause: "odd" }).message.endsWith(": odd"), true)
      } finally {
        Fs.closeSync(fileFd)
      }
    }))

  it.live("a drain that outlasts its timeout fails with DrainTimeoutError (exit 124)", () =>
    Effect.gen(function*() {
      const signals = manualSignals()
      const fire = Effect.forkChild(Effect.delay(Effect.sync(() => signals.fire("SIGTERM")), "5 millis"))
      yield* fire
      const explicit = yield* Effect.flip(
        SupervisedChild.run(service([], Effect.never), { ...quiet, signals: signals.source, drainTimeout: "20 millis" })
      )
      assert.strictEqual(explicit._tag, "DrainTimeoutError")
      assert.strictEqual(explicit.message, "drain after received SIGTERM did not finish within 20 ms")
      // Without an explicit timeout, 1 s past the supervisor's budget from the environment bounds it.
      yield* fire
      const fromEnv = yield* Effect.flip(
        SupervisedChild.run(service([], Effect.never), {
          lifeline: false,
          env: { SUPERVISOR_BUDGET_MS: "25" },
          signals: signals.source
        })
      )
      assert.deepStrictEqual(fromEnv._tag === "DrainTimeoutError" && fromEnv.timeoutMillis, 1_025)
    }))

  it.effect("a finalizer that fails makes the drain fail", () =>
    Effect.gen(function*() {
      const signals = manualSignals()
      const main = Effect.scoped(
        Effect.andThen(Effect.addFinalizer(() => Effect.die("finalizer broke")), Effect.never)
      )
      const fiber = yield* Effect.forkChild(SupervisedChild.run(main, { ...quiet, signals: signals.source }), {
        startImmediately: true
      })
      yield* Effect.yieldNow
      signals.fire("SIGTERM")
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit) && String(exit.cause).includes("finalizer broke"))
    }))

  it("processSignals listens to SIGTERM and SIGINT until removed", () => {
    const seen: Array<string> = []
    const before = process.listenerCount("SIGTERM")
    const remove = SupervisedChild.processSignals((signal) => seen.push(signal))
    try {
      assert.strictEqual(process.listenerCount("SIGTERM"), before + 1)
      ;(process.listeners("SIGTERM").at(-1) as () => void)()
      ;(process.listeners("SIGINT").at(-1) as () => void)()
    } finally {
      remove()
    }
    assert.deepStrictEqual(seen, ["SIGTERM", "SIGINT"])
    assert.strictEqual(process.listenerCount("SIGTERM"), before)
  })

  it("formatReason names the signal or why the parent is gone", () => {
    assert.strictEqual(SupervisedChild.formatReason(SupervisedChild.StopReason.Signalled({ signal: "SIGINT" })), "received SIGINT")
    assert.strictEqual(
      SupervisedChild.formatReason(SupervisedChild.StopReason.ParentGone({ detail: "EOF on the lifeline" })),
      "parent gone (EOF on the lifeline)"
    )
  })

  describe("runMain", () => {
    const runMain = (main: Effect.Effect<unknown, unknown>, options: SupervisedChild.Options = {}) => {
      const signals = manualSignals()
      const code = Promise.withResolvers<number>()
      SupervisedChild.runMain(main, { lifeline: false, env: {}, signals: signals.source, ...options, exit: code.resolve })
      return { fire: signals.fire, code: code.promise }
    }

    it("exits 0 after a drain, 0 after a normal end, 1 on failure, 124 when the drain times out", async () => {
      const drained = runMain(service([]))
      await new Promise((resolve) => setImmediate(resolve))
      drained.fire("SIGTERM")
      assert.strictEqual(await drained.code, 0)
      assert.strictEqual(await runMain(Effect.void).code, 0)
      assert.strictEqual(await runMain(Effect.fail(new Error("boom"))).code, 1)
      const stuck = runMain(service([], Effect.never), { drainTimeout: "10 millis" })
      await new Promise((resolve) => setImmediate(resolve))
      stuck.fire("SIGTERM")
      assert.strictEqual(await stuck.code, 124)
    })

    it("exits the process by default", async () => {
      const exited = Promise.withResolvers<number>()
      const spy = vi.spyOn(process, "exit").mockImplementation(((code: number) => exited.resolve(code)) as never)
      try {
        SupervisedChild.runMain(Effect.fail(new Error("boom")), { lifeline: false, env: {} })
        assert.strictEqual(await exited.promise, 1)
      } finally {
        spy.mockRestore()
      }
    })

    it("ignores EPIPE on its own output, so a dead parent's closed pipe cannot stop the drain", async () => {
      assert.strictEqual(await runMain(Effect.void).code, 0)
      const epipe = Object.assign(new Error("write EPIPE"), { code: "EPIPE" })
      process.stdout.emit("error", epipe)
      process.stderr.emit("error", epipe)
      const other = Object.assign(new Error("write EIO"), { code: "EIO" })
      assert.throws(() => process.stdout.emit("error", other), /EIO/)
    })
  })

  describe("real processes", () => {

    it.live("SIGTERM from its supervisor drains the child and it exits 0", () => {
      const events = tempFile("events")
      return Effect.gen(function*() {
        const child = yield* Child.make({
          name: "supervised",
          module: fixture("supervised-child.ts"),
          env: { EVENTS_FILE: events, DRAIN_MS: "100" },
          stdio: "ignore"
        })
        yield* Effect.promise(() => waitForLines(events, 1))
        yield* child.requestStop
        assert.deepStrictEqual(yield* child.exit, Member.End.Exited({ code: 0, signal: null }))
        const lines = yield* Effect.promise(() => waitForLines(events, 2))
        assert.deepStrictEqual(lines, [`ready ${child.pid}`, `drained ${child.pid}`])
      }).pipe(Effect.scoped, Effect.provide(live))
    })

    it("a parent SIGKILLed: the child reads EOF on its lifeline, drains and exits within 1 s", async () => {
      const events = tempFile("orphan-events")
      const parent = ChildProcess.spawn(process.execPath, [fixture("supervised-parent.ts")], {
        env: { ...process.env, EVENTS_FILE: events, DRAIN_MS: "50" },
        stdio: "ignore"
      })
      let pid = 0
      try {
        const [ready] = await waitForLines(events, 1)
        pid = Number(ready.split(" ")[1])
        const killedAt = Date.now()
        process.kill(parent.pid!, "SIGKILL")
        const lines = await waitForLines(events, 2, 1_000)
        assert.strictEqual(lines[1], `drained ${pid}`)
        assert.isBelow(Date.now() - killedAt, 1_000)
        // It exits right after its drain; the leak check after this file confirms it is gone for good.
        await new Promise<void>((resolve, reject) => {
          const check = () => isGone(pid) ? resolve() : Date.now() - killedAt > 2_000 ? reject(new Error("still alive")) : setTimeout(check, 10)
          check()
        })
      } finally {
        killQuietly([parent.pid!, pid].filter((value) => value > 0))
      }
    })
  })
})
