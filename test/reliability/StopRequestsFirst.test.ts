// Found by the detection benchmark (docs/PERFORMANCE.md): the supervisor logged the
// outcome before it issued the stop requests, and the first log line of a process
// costs ~3 ms cold, all of it added to the time the other members keep running.
// The stop requests go out first, the log line after them.
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Member from "../../src/Member.ts"
import { child, deliverAfter, layerFor, superviseStarted } from "../helpers/testClock.ts"
import { TestClock } from "effect/testing"

/** A member that notes its stop request in `order`, and stops at once. */
const noting = (order: Array<string>) =>
  Effect.gen(function*() {
    const exit = yield* Deferred.make<Member.End>()
    const close = Deferred.succeed(exit, Member.End.Closed())
    return Member.make({
      name: "noted",
      kind: "server",
      exit,
      onStopRequest: Effect.andThen(Effect.sync(() => order.push("stop request")), close),
      onForce: close
    })
  })

const recording = (order: Array<string>) =>
  Logger.layer([Logger.make(({ message }) => {
    order.push(`log: ${String(Array.isArray(message) ? message[0] : message).split("\n")[0]}`)
  })])

describe("the order of the drain's first steps", () => {
  it.effect("a signal: every stop request goes out before the outcome is logged", () => {
    const order: Array<string> = []
    return Effect.gen(function*() {
      const fiber = yield* superviseStarted({
        children: [child("api")],
        servers: [noting(order)],
        budget: "1 second"
      })
      yield* deliverAfter("SIGTERM", "1 second")
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(order.slice(0, 2), ["stop request", "log: received SIGTERM, shutting down"])
    }).pipe(Effect.provide(Layer.mergeAll(layerFor({ api: {} }), recording(order))))
  })
})
