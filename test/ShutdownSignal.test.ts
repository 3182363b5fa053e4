import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as EarlySignals from "../src/EarlySignals.ts"
import * as ShutdownSignal from "../src/ShutdownSignal.ts"

const listenerCounts = (signals: ReadonlyArray<NodeJS.Signals>) => signals.map((signal) => process.listenerCount(signal))

describe("ShutdownSignal", () => {
  it.effect("the first signal completes await, the second completes awaitSecond", () =>
    Effect.gen(function*() {
      const signals = yield* ShutdownSignal.ShutdownSignal
      const first = yield* Effect.forkChild(signals.await, { startImmediately: true })
      const second = yield* Effect.forkChild(signals.awaitSecond, { startImmediately: true })
      assert.isTrue(Option.isNone(yield* signals.poll))
      yield* ShutdownSignal.deliver("SIGINT")
      assert.strictEqual(yield* Fiber.join(first), "SIGINT")
      assert.isUndefined(second.pollUnsafe())
      yield* ShutdownSignal.deliver("SIGTERM")
      assert.strictEqual(yield* Fiber.join(second), "SIGTERM")
      assert.deepStrictEqual(yield* signals.poll, Option.some("SIGINT"))
    }).pipe(Effect.provide(ShutdownSignal.layerTest)))

  it("the Node layer hears SIGTERM, SIGINT, SIGHUP and SIGQUIT by default, and removes its listeners when closed", async () => {
    const before = listenerCounts(EarlySignals.caught)
    const received = await Effect.runPromise(
      Effect.gen(function*() {
        const signals = yield* ShutdownSignal.ShutdownSignal
        assert.deepStrictEqual(listenerCounts(EarlySignals.caught), before.map((count) => count + 1))
        // emit runs the listeners as a real signal would, without signalling the test worker
        process.emit("SIGHUP", "SIGHUP")
        process.emit("SIGQUIT", "SIGQUIT")
        return [yield* signals.await, yield* signals.awaitSecond]
      }).pipe(Effect.provide(ShutdownSignal.layer()))
    )
    assert.deepStrictEqual(received, ["SIGHUP", "SIGQUIT"])
    assert.deepStrictEqual(listenerCounts(EarlySignals.caught), before)
  })

  it("with the signals configured, any other signal that would kill the process is caught and logged, not a drain", async () => {
    const logged: Array<unknown> = []
    const polled = await Effect.runPromise(
      Effect.gen(function*() {
        const signals = yield* ShutdownSignal.ShutdownSignal
        process.emit("SIGTERM", "SIGTERM")
        process.emit("SIGUSR2", "SIGUSR2")
        const before = yield* signals.poll
        process.emit("SIGQUIT", "SIGQUIT")
        // The warning is logged by a fiber of its own.
        yield* Effect.yieldNow
        return [before, yield* signals.poll]
      }).pipe(
        Effect.provide(ShutdownSignal.layer({ signals: ["SIGQUIT"] })),
        Effect.provide(Logger.layer([Logger.make(({ message }) => logged.push(...[message].flat()))]))
      )
    )
    assert.deepStrictEqual(polled, [Option.none(), Option.some("SIGQUIT")])
    assert.deepStrictEqual(logged, [
      "received SIGTERM: ignored, it is not a drain signal",
      "received SIGUSR2: ignored, it is not a drain signal"
    ])
  })

  it("signals caught by EarlySignals before the layer was built are delivered when it is, in order", async () => {
    EarlySignals.install()
    EarlySignals.install()
    process.emit("SIGINT", "SIGINT")
    process.emit("SIGTERM", "SIGTERM")
    const received = await Effect.runPromise(
      Effect.gen(function*() {
        const signals = yield* ShutdownSignal.ShutdownSignal
        return [yield* signals.await, yield* signals.awaitSecond]
      }).pipe(Effect.provide(ShutdownSignal.layer()))
    )
    assert.deepStrictEqual(received, ["SIGINT", "SIGTERM"])
    assert.deepStrictEqual(EarlySignals.takeOver(), [], "taken over once")
  })

  it("the Node layer records a signal before listeners registered earlier run, such as NodeRuntime.runMain's", async () => {
    // runMain's listener interrupts the main fiber; by then the signal must already be recorded.
    let signals: ShutdownSignal.Service | undefined
    const seenByEarlierListener: Array<string> = []
    const earlier = () =>
      seenByEarlierListener.push(signals === undefined ? "no service" : Option.getOrElse(Effect.runSync(signals.poll), () => "nothing"))
    process.on("SIGTERM", earlier)
    try {
      await Effect.runPromise(
        Effect.gen(function*() {
          signals = yield* ShutdownSignal.ShutdownSignal
          process.emit("SIGTERM", "SIGTERM")
        }).pipe(Effect.provide(Layer.fresh(ShutdownSignal.layer())))
      )
    } finally {
      process.off("SIGTERM", earlier)
    }
    assert.deepStrictEqual(seenByEarlierListener, ["SIGTERM"])
  })
})
