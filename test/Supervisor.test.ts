import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { TestClock } from "effect/testing"
import * as Member from "../src/Member.ts"
import * as Supervisor from "../src/Supervisor.ts"
import * as TestSpawner from "../src/testing/TestSpawner.ts"
import { child, deliverAfter, layerFor, superviseStarted } from "./helpers/testClock.ts"
import { fakeServer, type ServerLog } from "./helpers/fakeServer.ts"

/** Stop signals and SIGKILLs each command received, with the clock time (the SIGCONT after each stop signal aside). */
const signalsByCommand = Effect.map(TestSpawner.events, (events) =>
  events
    .filter((event) => event.kind === "SIGTERM" || event.kind === "SIGKILL")
    .map((event) => `${event.command} ${event.kind} @${event.at}`))

/** Nothing scripted is left running when the supervision returns. */
const expectNothingRunning = Effect.map(TestSpawner.running, (running) => assert.deepStrictEqual(running, []))

const exited = (code: number | null, signal: string | null = null) => Member.End.Exited({ code, signal })

describe("Supervisor.supervise", () => {
  it.effect("a child exiting on its own stops every other member at once and names the child", () =>
    Effect.gen(function*() {
      const server: ServerLog = { stopRequests: [], forces: [] }
      const fiber = yield* superviseStarted({
        children: [child("api"), child("worker"), child("scheduler")],
        servers: [fakeServer("admin", { stopsAfter: "2 seconds" }, server)],
        budget: "10 seconds"
      })
      yield* TestClock.adjust("3 seconds")
      assert.deepStrictEqual(yield* signalsByCommand, ["api SIGTERM @3000", "scheduler SIGTERM @3000"])
      assert.deepStrictEqual(server.stopRequests, [3000])
      assert.isUndefined(fiber.pollUnsafe(), "supervise returns only after every member has stopped")
      yield* TestClock.adjust("4 seconds")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(report.outcome, {
        _tag: "MemberExited",
        name: "worker",
        kind: "child",
        pid: 1001,
        end: exited(7)
      })
      assert.deepStrictEqual(report.members.map((member) => [member.name, member.end]), [
        ["api", { _tag: "Stopped", millis: 1000 }],
        ["worker", { _tag: "AlreadyExited" }],
        ["scheduler", { _tag: "Stopped", millis: 4000 }],
        ["admin", { _tag: "Stopped", millis: 2000 }]
      ])
      assert.strictEqual(report.drainMillis, 4000)
      assert.isTrue(report.budgetHeld)
      yield* expectNothingRunning
    }).pipe(Effect.provide(layerFor({
      api: { drainFor: "1 second" },
      worker: { exitAfter: "3 seconds", exitCode: 7 },
      scheduler: { drainFor: "4 seconds" }
    }))))

  it.effect("a signal sends every child and server its stop request", () =>
    Effect.gen(function*() {
      const server: ServerLog = { stopRequests: [], forces: [] }
      const fiber = yield* superviseStarted({
        children: [child("api"), child("worker")],
        servers: [fakeServer("admin", {}, server)],
        budget: "10 seconds"
      })
      yield* deliverAfter("SIGTERM", "5 seconds")
      yield* TestClock.adjust("5 seconds")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(report.outcome, { _tag: "Signalled", signal: "SIGTERM" })
      assert.deepStrictEqual(yield* signalsByCommand, ["api SIGTERM @5000", "worker SIGTERM @5000"])
      assert.deepStrictEqual(server.stopRequests, [5000])
      assert.deepStrictEqual(report.members.map((member) => member.end._tag), ["Stopped", "Stopped", "Stopped"])
    }).pipe(Effect.provide(layerFor({ api: {}, worker: {} }))))

  it.effect("drains overlap: 1 s, 5 s and 9 s drains finish at 9 s", () =>
    Effect.gen(function*() {
      const fiber = yield* superviseStarted({
        children: [child("one"), child("five"), child("nine")],
        budget: "10 seconds"
      })
      yield* deliverAfter("SIGINT", "1 second")
      yield* TestClock.adjust("10 seconds")
      const report = yield* Fiber.join(fiber)
      assert.strictEqual(report.drainMillis, 9000)
      assert.deepStrictEqual(yield* Effect.map(TestSpawner.events, (events) => events.at(-1)?.at), 10_000)
      assert.deepStrictEqual(report.members.map((member) => member.end), [
        { _tag: "Stopped", millis: 1000 },
        { _tag: "Stopped", millis: 5000 },
        { _tag: "Stopped", millis: 9000 }
      ])
      assert.isTrue(report.budgetHeld)
    }).pipe(Effect.provide(layerFor({
      one: { drainFor: "1 second" },
      five: { drainFor: "5 seconds" },
      nine: { drainFor: "9 seconds" }
    }))))

  it.effect("the budget is shared: a member ignoring its stop request is forced at exactly 10 s, one stopping at 9.9 s is not", () =>
    Effect.gen(function*() {
      const server: ServerLog = { stopRequests: [], forces: [] }
      const fiber = yield* superviseStarted({
        children: [child("stubborn"), child("slow")],
        servers: [fakeServer("deaf", { ignoresStop: true }, server)],
        budget: "10 seconds"
      })
      yield* deliverAfter("SIGTERM", "1 second")
      yield* TestClock.adjust("10999 millis")
      assert.deepStrictEqual(yield* signalsByCommand, ["stubborn SIGTERM @1000", "slow SIGTERM @1000"])
      assert.deepStrictEqual(server.forces, [])
      yield* TestClock.adjust("1 millis")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(yield* signalsByCommand, [
        "stubborn SIGTERM @1000",
        "slow SIGTERM @1000",
        "stubborn SIGKILL @11000"
      ])
      assert.deepStrictEqual(server.forces, [11000])
      assert.deepStrictEqual(report.members.map((member) => [member.name, member.end]), [
        ["stubborn", { _tag: "Forced", millis: 10000 }],
        ["slow", { _tag: "Stopped", millis: 9900 }],
        ["deaf", { _tag: "Forced", millis: 10000 }]
      ])
      assert.isFalse(report.budgetHeld)
      assert.strictEqual(report.forcedBy, "budget")
      assert.strictEqual(report.drainMillis, 10000)
    }).pipe(Effect.provide(layerFor({ stubborn: { ignoresSigterm: true }, slow: { drainFor: "9900 millis" } }))))

  it.effect("two children exiting in the same instant: one outcome, one drain, each live member stopped once", () =>
    Effect.gen(function*() {
      const fiber = yield* superviseStarted({
        children: [child("a"), child("b"), child("c")],
        budget: "10 seconds"
      })
      yield* TestClock.adjust("2 seconds")
      const report = yield* Fiber.join(fiber)
      // The clock wakes same-instant timers in the order they were set: a's exit wins the race;
      // b is still alive when the drain starts, so it gets its one stop request like c.
      assert.deepStrictEqual(report.outcome, { _tag: "MemberExited", name: "a", kind: "child", pid: 1000, end: exited(1) })
      assert.deepStrictEqual(report.members.map((member) => member.end._tag), ["AlreadyExited", "Stopped", "Stopped"])
      assert.deepStrictEqual(yield* signalsByCommand, ["b SIGTERM @2000", "c SIGTERM @2000"])
    }).pipe(Effect.provide(layerFor({ a: { exitAfter: "2 seconds" }, b: { exitAfter: "2 seconds" }, c: {} }))))

  it.effect("a signal and an exit in the same instant: one outcome, one drain", () =>
    Effect.gen(function*() {
      const fiber = yield* superviseStarted({
        children: [child("a"), child("b")],
        budget: "10 seconds"
      })
      yield* deliverAfter("SIGTERM", "2 seconds")
      yield* TestClock.adjust("3 seconds")
      const report = yield* Fiber.join(fiber)
      // a's exit was set first, so it wins; the signal in the same instant starts no second drain
      // and, being the first signal, forces nothing.
      assert.deepStrictEqual(report.outcome, { _tag: "MemberExited", name: "a", kind: "child", pid: 1000, end: exited(1) })
      assert.deepStrictEqual(yield* signalsByCommand, ["b SIGTERM @2000"])
      assert.deepStrictEqual(report.members.map((member) => member.end), [
        { _tag: "AlreadyExited" },
        { _tag: "Stopped", millis: 1000 }
      ])
      assert.isTrue(report.budgetHeld)
    }).pipe(Effect.provide(layerFor({ a: { exitAfter: "2 seconds", drainFor: "1 second" }, b: { drainFor: "1 second" } }))))

  it.effect("a start failure of the 2nd of 3 children stops the 1st, never starts the 3rd, and fails typed", () =>
    Effect.gen(function*() {
      const failure = yield* Effect.flip(Supervisor.supervise({
        children: [child("first"), child("missing"), child("third")],
        budget: "10 seconds"
      }))
      assert(failure._tag === "ChildSpawnError")
      assert.strictEqual(failure.name, "missing")
      assert.match(failure.message, /Child "missing" could not start/)
      const events = yield* TestSpawner.events
      assert.deepStrictEqual(events.map((event) => `${event.command} ${event.kind}`), [
        "first spawned",
        "first SIGTERM",
        "first exited"
      ])
    }).pipe(Effect.provide(layerFor({ first: {}, missing: { failsToSpawn: "NotFound" }, third: {} }))))

  it.effect("a second signal during the drain forces everything at once", () =>
    Effect.gen(function*() {
      const server: ServerLog = { stopRequests: [], forces: [] }
      const fiber = yield* superviseStarted({
        children: [child("slow"), child("quick")],
        servers: [fakeServer("admin", { stopsAfter: "8 seconds" }, server)],
        budget: "10 seconds"
      })
      yield* deliverAfter("SIGTERM", "1 second")
      yield* deliverAfter("SIGINT", "4 seconds")
      yield* TestClock.adjust("4 seconds")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(yield* signalsByCommand, ["slow SIGTERM @1000", "quick SIGTERM @1000", "slow SIGKILL @4000"])
      assert.deepStrictEqual(server.forces, [4000])
      assert.strictEqual(report.forcedBy, "second-signal")
      assert.deepStrictEqual(report.members.map((member) => member.end), [
        { _tag: "Forced", millis: 3000 },
        { _tag: "Stopped", millis: 1000 },
        { _tag: "Forced", millis: 3000 }
      ])
    }).pipe(Effect.provide(layerFor({ slow: { drainFor: "1 minute" }, quick: { drainFor: "1 second" } }))))

  it.effect("interrupting the supervising fiber from outside still runs the whole drain", () =>
    Effect.gen(function*() {
      const fiber = yield* superviseStarted({
        children: [child("a"), child("stubborn")],
        budget: "10 seconds"
      })
      const interruption = yield* Effect.forkChild(Effect.delay(Fiber.interrupt(fiber), "1 second"))
      yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual(yield* signalsByCommand, ["a SIGTERM @1000", "stubborn SIGTERM @1000"])
      assert.isUndefined(interruption.pollUnsafe(), "the interruption waits for the drain")
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(interruption)
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.hasInterrupts(exit))
      assert.deepStrictEqual(yield* signalsByCommand, [
        "a SIGTERM @1000",
        "stubborn SIGTERM @1000",
        "stubborn SIGKILL @11000"
      ])
      yield* expectNothingRunning
    }).pipe(Effect.provide(layerFor({ a: { drainFor: "2 seconds" }, stubborn: { ignoresSigterm: true } }))))
})
