// The phase of a supervision, as health endpoints and tests read it.
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as ShutdownReport from "../src/ShutdownReport.ts"
import * as SupervisorState from "../src/SupervisorState.ts"

const report: ShutdownReport.ShutdownReport = {
  outcome: ShutdownReport.Outcome.Signalled({ signal: "SIGTERM" }),
  members: [],
  delayMillis: 0, drainMillis: 12,
  budgetMillis: 10_000,
  budgetHeld: true,
  forcedBy: undefined,
  verdict: "drained"
}

/** Forks `reached(phase)` for each phase; returns the phases whose wait has completed so far. */
const watch = (state: SupervisorState.Service) =>
  Effect.gen(function*() {
    const phases: ReadonlyArray<SupervisorState.Phase> = ["starting", "ready", "draining", "stopped"]
    const fibers = yield* Effect.forEach(phases, (phase) => Effect.forkChild(state.reached(phase), { startImmediately: true }))
    return Effect.gen(function*() {
      yield* Effect.yieldNow
      return phases.filter((_, index) => fibers[index].pollUnsafe() !== undefined)
    })
  })

describe("SupervisorState", () => {
  it.effect("starts in `starting`, with nothing reported", () =>
    Effect.gen(function*() {
      const state = yield* SupervisorState.make
      assert.strictEqual(yield* state.phase, "starting")
      assert.strictEqual(state.phaseUnsafe(), "starting")
      assert.isUndefined(state.reportUnsafe())
      yield* state.reached("starting")
    }))

  it.effect("reached(p) waits for p, and completes for every earlier phase once a later one is entered", () =>
    Effect.gen(function*() {
      const state = yield* SupervisorState.make
      const done = yield* watch(state)
      assert.deepStrictEqual(yield* done, ["starting"])
      yield* state.enter("draining") // skipping `ready`, as a signal during the start does
      assert.deepStrictEqual(yield* done, ["starting", "ready", "draining"])
      assert.strictEqual(state.phaseUnsafe(), "draining")
      yield* state.reached("ready") // asked after the fact: completes at once
    }))

  it.effect("phases only move forward: entering an earlier or the same phase is ignored", () =>
    Effect.gen(function*() {
      const state = yield* SupervisorState.make
      yield* state.enter("ready")
      yield* state.enter("ready")
      assert.strictEqual(yield* state.phase, "ready")
      yield* state.enter("draining")
      yield* state.enter("starting")
      yield* state.enter("ready")
      assert.strictEqual(yield* state.phase, "draining")
      const stopped = yield* Effect.forkChild(state.reached("stopped"), { startImmediately: true })
      yield* Effect.yieldNow
      assert.isUndefined(stopped.pollUnsafe(), "not stopped by moving back")
    }))

  it.effect("stop(report) keeps the report and reaches `stopped`, which nothing leaves", () =>
    Effect.gen(function*() {
      const state = yield* SupervisorState.make
      const stopped = yield* Effect.forkChild(state.reached("stopped"), { startImmediately: true })
      yield* state.enter("ready")
      yield* state.stop(report)
      yield* Fiber.join(stopped)
      assert.strictEqual(state.phaseUnsafe(), "stopped")
      assert.strictEqual(state.reportUnsafe(), report)
      yield* state.enter("draining")
      assert.strictEqual(yield* state.phase, "stopped")
    }))

  it.effect("the layer gives a fresh state, read through the `reached` accessor", () =>
    Effect.gen(function*() {
      const state = yield* SupervisorState.SupervisorState
      const ready = yield* Effect.forkChild(SupervisorState.reached("ready"), { startImmediately: true })
      yield* Effect.yieldNow
      assert.isUndefined(ready.pollUnsafe())
      yield* state.enter("ready")
      yield* Fiber.join(ready)
    }).pipe(Effect.provide(SupervisorState.layer)))
})
