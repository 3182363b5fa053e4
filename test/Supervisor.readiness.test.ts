// Readiness and the drain delay under TestClock: children that notify READY=1, start timeouts,
// ordered start, the supervision's phases, and the delay between "not ready" and the stop requests.
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import { TestClock } from "effect/testing"
import * as Prometheus from "prom-client"
import * as Child from "../src/Child.ts"
import * as Member from "../src/Member.ts"
import * as Output from "../src/Output.ts"
import * as ShutdownSignal from "../src/ShutdownSignal.ts"
import * as Supervisor from "../src/Supervisor.ts"
import * as SupervisorMetrics from "../src/SupervisorMetrics.ts"
import * as SupervisorState from "../src/SupervisorState.ts"
import * as TestSpawner from "../src/testing/TestSpawner.ts"
import { child, deliverAfter, layerFor } from "./helpers/testClock.ts"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"

const notifying = (name: string, options: Partial<Child.CommandSpec> = {}) =>
  Child.make({ name, command: name, readiness: "notify", ...options })

const phase = SupervisorState.SupervisorState.use((state) => state.phase)

const timeline = Effect.map(TestSpawner.events, (events) =>
  events.filter((event) => event.kind !== "SIGCONT").map((event) => `${event.command} ${event.kind} @${event.at}`))

describe("readiness", () => {
  it.effect("a notify child is not ready until it writes READY=1; the supervision is ready once every member is", () =>
    Effect.gen(function*() {
      const fiber = yield* Supervisor.supervise({
        children: [notifying("api"), child("worker")],
        budget: "5 seconds"
      }).pipe(Effect.forkChild({ startImmediately: true }))
      yield* TestClock.adjust("1999 millis")
      assert.strictEqual(yield* phase, "starting")
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* phase, "ready")
      yield* deliverAfter("SIGTERM", 0)
      yield* TestClock.adjust(0)
      const report = yield* Fiber.join(fiber)
      assert.strictEqual(report.verdict, "drained")
    }).pipe(Effect.provide(layerFor({ api: { readyAfter: "2 seconds" }, worker: {} }))))

  it.effect("a child not ready within its start timeout: a start failure naming it, everything drained, exit 1", () =>
    Effect.gen(function*() {
      const fiber = yield* Supervisor.run({
        children: [child("worker"), notifying("api", { startTimeout: "3 seconds" })],
        budget: "5 seconds"
      }).pipe(Effect.forkChild({ startImmediately: true }))
      yield* TestClock.adjust("3 seconds")
      const exit = yield* Fiber.await(fiber)
      assert(Exit.isFailure(exit))
      const error = exit.cause.reasons.find((reason) => reason._tag === "Fail")?.error as Supervisor.StartFailedError
      assert.strictEqual(error._tag, "StartFailedError")
      assert.strictEqual(error.message, "start failed: child api (pid 1001) was not ready within 3000 ms")
      assert.strictEqual(error.report.verdict, "start-failed")
      assert.deepStrictEqual(yield* timeline, [
        "worker spawned @0",
        "api spawned @0",
        "worker SIGTERM @3000",
        "worker exited @3000",
        "api SIGTERM @3000",
        "api exited @3000"
      ])
    }).pipe(Effect.provide(layerFor({ api: {}, worker: {} }))))

  it.effect("a notify child gets 60 s by default", () =>
    Effect.gen(function*() {
      const fiber = yield* Supervisor.supervise({ children: [notifying("api")], budget: "5 seconds" }).pipe(
        Effect.forkChild({ startImmediately: true })
      )
      yield* TestClock.adjust("59999 millis")
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* Fiber.join(fiber)).outcome._tag, "NotReady")
    }).pipe(Effect.provide(layerFor({ api: {} }))))

  it.effect("ordered start: a member after Member.afterReady starts once every member before it is ready", () =>
    Effect.gen(function*() {
      const fiber = yield* Supervisor.supervise({
        children: [
          notifying("migrations"),
          child("cache"),
          Child.make({ name: "api", command: "api", afterReady: true }),
          Member.afterReady(Child.make({ name: "worker", command: "worker" }))
        ],
        budget: "5 seconds"
      }).pipe(Effect.forkChild({ startImmediately: true }))
      yield* TestClock.adjust("3 seconds")
      assert.deepStrictEqual(yield* timeline, [
        "migrations spawned @0",
        "cache spawned @0",
        "api spawned @2000",
        "worker spawned @2000"
      ])
      assert.strictEqual(yield* phase, "ready")
      yield* deliverAfter("SIGTERM", 0)
      yield* TestClock.adjust(0)
      yield* Fiber.join(fiber)
    }).pipe(Effect.provide(layerFor({ migrations: { readyAfter: "2 seconds" }, cache: {}, api: {}, worker: {} }))))

  it.effect("a signal while a member waits for its predecessors: it never starts", () =>
    Effect.gen(function*() {
      const fiber = yield* Supervisor.supervise({
        children: [notifying("migrations"), Child.make({ name: "api", command: "api", afterReady: true })],
        budget: "5 seconds"
      }).pipe(Effect.forkChild({ startImmediately: true }))
      yield* deliverAfter("SIGTERM", "1 second")
      yield* TestClock.adjust("1 second")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(report.members.map((member) => member.name), ["migrations"])
    }).pipe(Effect.provide(layerFor({ migrations: { readyAfter: "2 seconds" }, api: {} }))))
})

describe("the drain delay", () => {
  it.effect("on the first signal the supervision is draining (not ready) at once; the stop requests come after the delay", () =>
    Effect.gen(function*() {
      const fiber = yield* Supervisor.supervise({
        children: [child("api")],
        budget: "10 seconds",
        drainDelay: "2 seconds"
      }).pipe(Effect.forkChild({ startImmediately: true }))
      yield* SupervisorState.reached("ready")
      yield* deliverAfter("SIGTERM", "1 second")
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* phase, "draining")
      assert.deepStrictEqual(yield* timeline, ["api spawned @0"], "no stop request yet")
      yield* TestClock.adjust("2500 millis")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(yield* timeline, ["api spawned @0", "api SIGTERM @3000", "api exited @3500"])
      assert.strictEqual(report.delayMillis, 2000)
      assert.deepStrictEqual(report.members[0].end, { _tag: "Stopped", millis: 500 })
      assert.strictEqual(report.verdict, "drained")
    }).pipe(Effect.provide(layerFor({ api: { drainFor: "500 millis" } }))))

  it.effect("the delay comes out of the budget: a stubborn member is forced at the budget counted from the signal", () =>
    Effect.gen(function*() {
      const fiber = yield* Supervisor.supervise({
        children: [child("stubborn")],
        budget: "5 seconds",
        drainDelay: "2 seconds"
      }).pipe(Effect.forkChild({ startImmediately: true }))
      yield* SupervisorState.reached("ready")
      yield* deliverAfter("SIGTERM", "1 second")
      yield* TestClock.adjust("6 seconds")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(yield* timeline, [
        "stubborn spawned @0",
        "stubborn SIGTERM @3000",
        "stubborn SIGKILL @6000",
        "stubborn exited @6000"
      ])
      assert.deepStrictEqual(report.members[0].end, { _tag: "Forced", millis: 3000 })
      assert.strictEqual(report.verdict, "forced")
    }).pipe(Effect.provide(layerFor({ stubborn: { ignoresSigterm: true } }))))

  it.effect("a second signal skips the delay (and forces, as a second signal does)", () =>
    Effect.gen(function*() {
      const fiber = yield* Supervisor.supervise({
        children: [child("api")],
        budget: "10 seconds",
        drainDelay: "5 seconds"
      }).pipe(Effect.forkChild({ startImmediately: true }))
      yield* SupervisorState.reached("ready")
      yield* deliverAfter("SIGTERM", "1 second")
      yield* deliverAfter("SIGINT", "2 seconds")
      yield* TestClock.adjust("2 seconds")
      const report = yield* Fiber.join(fiber)
      assert.strictEqual(report.delayMillis, 1000)
      assert.deepStrictEqual(yield* timeline, ["api spawned @0", "api SIGTERM @2000", "api SIGKILL @2000", "api exited @2000"])
      assert.strictEqual(report.forcedBy, "second-signal")
    }).pipe(Effect.provide(layerFor({ api: { drainFor: "1 second" } }))))

  it.effect("a member ending on its own during the delay skips it; its end is judged as a failed drain", () =>
    Effect.gen(function*() {
      const fiber = yield* Supervisor.supervise({
        children: [child("api"), child("worker")],
        budget: "10 seconds",
        drainDelay: "5 seconds"
      }).pipe(Effect.forkChild({ startImmediately: true }))
      yield* SupervisorState.reached("ready")
      yield* deliverAfter("SIGTERM", "1 second")
      yield* TestClock.adjust("3 seconds")
      const report = yield* Fiber.join(fiber)
      assert.strictEqual(report.delayMillis, 1000)
      assert.deepStrictEqual(report.outcome, { _tag: "Signalled", signal: "SIGTERM" })
      assert.deepStrictEqual(report.members.map((member) => [member.name, member.end._tag, member.clean]), [
        ["api", "Stopped", true],
        ["worker", "AlreadyExited", false]
      ])
      assert.strictEqual(report.verdict, "drain-failed")
    }).pipe(Effect.provide(layerFor({ api: {}, worker: { exitAfter: "2 seconds", exitCode: 2 } }))))

  it.effect("a member ending on its own is no signal: no delay", () =>
    Effect.gen(function*() {
      const fiber = yield* Supervisor.supervise({
        children: [child("api"), child("worker")],
        budget: "10 seconds",
        drainDelay: "5 seconds"
      }).pipe(Effect.forkChild({ startImmediately: true }))
      yield* TestClock.adjust("2 seconds")
      const report = yield* Fiber.join(fiber)
      assert.strictEqual(report.delayMillis, 0)
      assert.deepStrictEqual(yield* timeline, ["api spawned @0", "worker spawned @0", "worker exited @2000", "api SIGTERM @2000", "api exited @2000"])
    }).pipe(Effect.provide(layerFor({ api: {}, worker: { exitAfter: "2 seconds" } }))))

  it.effect("a drain delay not shorter than the budget is refused before anything starts", () =>
    Effect.gen(function*() {
      for (const drainDelay of ["5 seconds", "1 minute", -1] as const) {
        const error = yield* Effect.flip(Supervisor.supervise({ children: [child("api")], budget: "5 seconds", drainDelay }))
        assert.strictEqual(error._tag, "InvalidDrainDelayError")
        assert.match(error.message, /shorter than the 5000 ms budget it comes out of; got/)
      }
      assert.deepStrictEqual(yield* timeline, [])
    }).pipe(Effect.provide(layerFor({ api: {} }))))
})

describe("metrics of readiness and phases", () => {
  it.effect("children ready, the phase, and the start-up time, at each step", () => {
    const registry = new Prometheus.Registry()
    const scrape = Effect.promise(() => registry.metrics()).pipe(Effect.map((text) =>
      text.split("\n").filter((line) =>
        /^(supervised_children_ready|supervisor_state\{state="(starting|ready|draining|stopped)"\}|supervisor_startup_duration_seconds_(sum|count)) /
          .test(line)
      ).sort()
    ))
    return Effect.gen(function*() {
      const fiber = yield* Supervisor.supervise({
        children: [notifying("api"), child("worker")],
        budget: "5 seconds",
        drainDelay: "1 second"
      }).pipe(Effect.forkChild({ startImmediately: true }))
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* scrape, [
        "supervised_children_ready 1",
        "supervisor_startup_duration_seconds_count 0",
        "supervisor_startup_duration_seconds_sum 0",
        "supervisor_state{state=\"draining\"} 0",
        "supervisor_state{state=\"ready\"} 0",
        "supervisor_state{state=\"starting\"} 1",
        "supervisor_state{state=\"stopped\"} 0"
      ])
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* scrape, [
        "supervised_children_ready 2",
        "supervisor_startup_duration_seconds_count 1",
        "supervisor_startup_duration_seconds_sum 2",
        "supervisor_state{state=\"draining\"} 0",
        "supervisor_state{state=\"ready\"} 1",
        "supervisor_state{state=\"starting\"} 0",
        "supervisor_state{state=\"stopped\"} 0"
      ])
      yield* ShutdownSignal.deliver("SIGTERM")
      assert.include(yield* scrape, "supervisor_state{state=\"draining\"} 1")
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(yield* scrape, [
        "supervised_children_ready 0",
        "supervisor_startup_duration_seconds_count 1",
        "supervisor_startup_duration_seconds_sum 2",
        "supervisor_state{state=\"draining\"} 0",
        "supervisor_state{state=\"ready\"} 0",
        "supervisor_state{state=\"starting\"} 0",
        "supervisor_state{state=\"stopped\"} 1"
      ])
    }).pipe(Effect.provide(Layer.mergeAll(
      TestSpawner.layer({ api: { readyAfter: "2 seconds" }, worker: {} }),
      ShutdownSignal.layerTest,
      SupervisorMetrics.layer(registry),
      Output.layerTest,
      SupervisorState.layer,
      NodeFileSystem.layer
    )))
  })
})

describe("readiness of a member that has already ended", () => {
  it.effect("is not counted ready, even if it said so before its end", () => {
    const registry = new Prometheus.Registry()
    return Effect.gen(function*() {
      const exit = yield* Deferred.make<Member.End>()
      const ready = yield* Deferred.make<void>()
      yield* Deferred.succeed(ready, undefined)
      yield* Deferred.succeed(exit, Member.End.Exited({ code: 0, signal: null }))
      // A child-like member, ready and exited before the supervisor even tracks it.
      const gone: Child.Child = {
        ...Member.make({ name: "gone", kind: "child", exit, ready, onStopRequest: Effect.void, onForce: Effect.void }),
        [Child.TypeId]: Child.TypeId,
        pid: 1,
        stopSignal: "SIGTERM"
      }
      const report = yield* Supervisor.supervise({ children: [Effect.succeed(gone)], budget: "1 second" })
      assert.strictEqual(report.outcome._tag, "MemberExited")
      const text = yield* Effect.promise(() => registry.metrics())
      assert.include(text, "supervised_children_ready 0")
      assert.include(text, "supervised_children_alive 0")
    }).pipe(Effect.provide(Layer.mergeAll(
      TestSpawner.layer({}),
      ShutdownSignal.layerTest,
      SupervisorMetrics.layer(registry),
      Output.layerTest,
      SupervisorState.layer,
      NodeFileSystem.layer
    )))
  })
})
