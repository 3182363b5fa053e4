// Two edges of readiness the other tests do not reach: two members missing the same start
// timeout at the same instant, and Member.afterReady used outside a supervisor.
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { TestClock } from "effect/testing"
import * as Child from "../src/Child.ts"
import * as Member from "../src/Member.ts"
import * as Supervisor from "../src/Supervisor.ts"
import { layerFor } from "./helpers/testClock.ts"

describe("readiness edges", () => {
  it.effect("two members not ready at the same instant: the first to time out is the outcome, the other changes nothing", () =>
    Effect.gen(function*() {
      const fiber = yield* Supervisor.supervise({
        children: [
          Child.make({ name: "a", command: "a", readiness: "notify", startTimeout: "1 second" }),
          Child.make({ name: "b", command: "b", readiness: "notify", startTimeout: "1 second" })
        ],
        budget: "5 seconds"
      }).pipe(Effect.forkChild({ startImmediately: true }))
      yield* TestClock.adjust("1 second")
      const report = yield* Fiber.join(fiber)
      assert.strictEqual(report.outcome._tag, "NotReady")
      assert.include(report.outcome, { name: "a", kind: "child", timeoutMillis: 1000 })
      assert.strictEqual(report.verdict, "start-failed")
    }).pipe(Effect.provide(layerFor({ a: {}, b: {} }))))

  it.effect("Member.afterReady outside a supervisor: nothing comes before, so it starts at once", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* Member.afterReady(Effect.succeed("started")), "started")
    }))
})
