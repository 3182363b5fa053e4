import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ShutdownSignal from "../src/ShutdownSignal.ts"

const listenerCounts = () => [process.listenerCount("SIGTERM"), process.listenerCount("SIGINT")]

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

  it("the Node layer hears the process's SIGTERM and SIGINT and removes its listeners when closed", async () => {
    const before = listenerCounts()
    const received = await Effect.runPromise(
      Effect.gen(function*() {
        const signals = yield* ShutdownSignal.ShutdownSignal
        assert.deepStrictEqual(listenerCounts(), [before[0] + 1, before[1] + 1])
        // emit runs the listeners as a real signal would, without signalling the test worker
        process.emit("SIGTERM", "SIGTERM")
        process.emit("SIGINT", "SIGINT")
        return [yield* signals.await, yield* signals.awaitSecond]
      }).pipe(Effect.provide(Layer.fresh(ShutdownSignal.layer)))
    )
    assert.deepStrictEqual(received, ["SIGTERM", "SIGINT"])
    assert.deepStrictEqual(listenerCounts(), before)
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
        }).pipe(Effect.provide(Layer.fresh(ShutdownSignal.layer)))
      )
    } finally {
      process.off("SIGTERM", earlier)
    }
    assert.deepStrictEqual(seenByEarlierListener, ["SIGTERM"])
  })
})
