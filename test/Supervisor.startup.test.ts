// Start-up is never deaf: a signal, or a member ending, while members are still being started
// stops the start at once; the member being spawned at that instant is tracked and drained.
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { TestClock } from "effect/testing"
import * as Supervisor from "../src/Supervisor.ts"
import * as TestSpawner from "../src/testing/TestSpawner.ts"
import { child, deliverAfter, layerFor } from "./helpers/testClock.ts"

const names = ["c0", "c1", "c2", "c3", "c4"]
const slowSpawns: Record<string, TestSpawner.Script> = Object.fromEntries(names.map((name) => [name, { spawnTakes: 100 }]))

const timeline = Effect.map(TestSpawner.events, (events) => events.map((event) => `${event.command} ${event.kind} @${event.at}`))

describe("Supervisor: start-up", () => {
  it.effect("a signal while members start: the one being spawned is finished and drained, the rest never start", () =>
    Effect.gen(function*() {
      const fiber = yield* Supervisor.supervise({ children: names.map(child), budget: "5 seconds" }).pipe(
        Effect.forkChild({ startImmediately: true })
      )
      yield* deliverAfter("SIGTERM", "250 millis")
      yield* TestClock.adjust("1 second")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(report.outcome, { _tag: "Signalled", signal: "SIGTERM" })
      assert.deepStrictEqual(report.members.map((member) => [member.name, member.end._tag]), [
        ["c0", "Stopped"],
        ["c1", "Stopped"],
        ["c2", "Stopped"]
      ])
      assert.deepStrictEqual(yield* timeline, [
        "c0 spawned @0",
        "c1 spawned @100",
        "c2 spawned @200",
        // The signal at 250 ms: c0 and c1 are stopped at once; c2, whose spawn ends at 300 ms, then.
        "c0 SIGTERM @300",
        "c0 exited @300",
        "c1 SIGTERM @300",
        "c1 exited @300",
        "c2 SIGTERM @300",
        "c2 exited @300"
      ])
    }).pipe(Effect.provide(layerFor(slowSpawns))))

  it.effect("a member exiting while the others start: the outcome at once, the rest never start", () =>
    Effect.gen(function*() {
      const fiber = yield* Supervisor.supervise({ children: names.map(child), budget: "5 seconds" }).pipe(
        Effect.forkChild({ startImmediately: true })
      )
      yield* TestClock.adjust("1 second")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(report.outcome, {
        _tag: "MemberExited",
        name: "c0",
        kind: "child",
        pid: 1000,
        end: { _tag: "Exited", code: 1, signal: null }
      })
      // c0 exits at 150 ms while c1's spawn (100 to 200 ms) is under way: c1 is drained, nothing after it starts.
      assert.deepStrictEqual(report.members.map((member) => member.name), ["c0", "c1"])
      assert.isFalse((yield* timeline).some((line) => line.startsWith("c3") || line.startsWith("c4")))
    }).pipe(Effect.provide(layerFor({ ...slowSpawns, c0: { spawnTakes: "100 millis", exitAfter: "150 millis" } }))))

  it.effect("a signal before anything started: nothing starts, a clean drain of nothing", () =>
    Effect.gen(function*() {
      yield* deliverAfter("SIGTERM", 0)
      yield* TestClock.adjust(0)
      const report = yield* Supervisor.supervise({ children: names.map(child), budget: "5 seconds" })
      assert.deepStrictEqual(report.members, [])
      assert.strictEqual(report.verdict, "drained")
      assert.deepStrictEqual(yield* timeline, [])
    }).pipe(Effect.provide(layerFor(slowSpawns))))
})
