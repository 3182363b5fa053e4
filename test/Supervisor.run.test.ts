import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { TestClock } from "effect/testing"
import * as Child from "../src/Child.ts"
import { GrpcBindError } from "../src/GrpcServer.ts"
import * as ShutdownSignal from "../src/ShutdownSignal.ts"
import * as NodeSupervisor from "../src/NodeSupervisor.ts"
import * as Supervisor from "../src/Supervisor.ts"
import * as SupervisorState from "../src/SupervisorState.ts"
import * as TestSpawner from "../src/testing/TestSpawner.ts"
import { child, deliverAfter, layerFor, runStarted } from "./helpers/testClock.ts"

/** The exit code NodeSupervisor.teardown ends the process with, given the fiber's exit. */
const exitCodeOf = (exit: Exit.Exit<unknown, unknown>) =>
  SupervisorState.SupervisorState.use((state) => Effect.sync(() => NodeSupervisor.exitCodeOf(exit, state.reportUnsafe())))

const failureOf = <E>(exit: Exit.Exit<unknown, E>): E | undefined =>
  Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause).pipe((option) => option._tag === "Some" ? option.value : undefined) : undefined

describe("Supervisor.run and the exit codes", () => {
  it.effect("a signal drained within the budget succeeds with the report: exit 0", () =>
    Effect.gen(function*() {
      const fiber = yield* runStarted({ children: [child("api")], budget: "5 seconds" })
      yield* deliverAfter("SIGTERM", "1 second")
      yield* TestClock.adjust("2 seconds")
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isSuccess(exit))
      assert.strictEqual(yield* exitCodeOf(exit), 0)
    }).pipe(Effect.provide(layerFor({ api: { drainFor: "1 second" } }))))

  it.effect("a child exiting on its own fails with MemberExitedError: exit 1", () =>
    Effect.gen(function*() {
      const fiber = yield* runStarted({ children: [child("api"), child("worker")], budget: "5 seconds" })
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.await(fiber)
      const error = failureOf(exit)
      assert.strictEqual(error?._tag, "MemberExitedError")
      assert.strictEqual(error?.message, "child worker (pid 1001) exited on its own by signal SIGSEGV")
      assert.strictEqual(yield* exitCodeOf(exit), 1)
    }).pipe(Effect.provide(layerFor({ api: {}, worker: { exitAfter: "1 second", exitSignal: "SIGSEGV" } }))))

  it.effect("a signal whose drain overran the budget fails with BudgetExceededError: exit 124", () =>
    Effect.gen(function*() {
      const fiber = yield* runStarted({ children: [child("api"), child("stubborn")], budget: "5 seconds" })
      yield* deliverAfter("SIGTERM", "1 second")
      yield* TestClock.adjust("6 seconds")
      const exit = yield* Fiber.await(fiber)
      const error = failureOf(exit)
      assert.strictEqual(error?._tag, "BudgetExceededError")
      assert.strictEqual(error?.message, "forced stubborn after the 5000 ms graceful-shutdown budget")
      assert.strictEqual(yield* exitCodeOf(exit), 124)
    }).pipe(Effect.provide(layerFor({ api: {}, stubborn: { ignoresSigterm: true } }))))

  it.effect("interrupted from outside (runMain on SIGTERM): exit 0 after a clean drain, the signal reported", () =>
    Effect.gen(function*() {
      const fiber = yield* runStarted({ children: [child("api")], budget: "5 seconds" })
      // runMain's order: the signal is recorded, then the main fiber interrupted
      yield* Effect.forkChild(Effect.delay(Effect.andThen(ShutdownSignal.deliver("SIGTERM"), Fiber.interrupt(fiber)), "1 second"))
      yield* TestClock.adjust("3 seconds")
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.hasInterrupts(exit))
      assert.strictEqual(yield* exitCodeOf(exit), 0)
      assert.deepStrictEqual((yield* TestSpawner.events).map((event) => `${event.kind} @${event.at}`), [
        "spawned @0",
        "SIGTERM @1000",
        "SIGCONT @1000",
        "exited @2000"
      ])
    }).pipe(Effect.provide(layerFor({ api: { drainFor: "1 second" } }))))

  it.effect("interrupted from outside with a drain that overran: the failure survives the interruption, exit 124", () =>
    Effect.gen(function*() {
      const fiber = yield* runStarted({ children: [child("stubborn")], budget: "5 seconds" })
      yield* Effect.forkChild(Effect.delay(Fiber.interrupt(fiber), "1 second"))
      yield* TestClock.adjust("6 seconds")
      const exit = yield* Fiber.await(fiber)
      assert.strictEqual(failureOf(exit)?._tag, "BudgetExceededError")
      assert.strictEqual(yield* exitCodeOf(exit), 124)
    }).pipe(Effect.provide(layerFor({ stubborn: { ignoresSigterm: true } }))))

  it.effect("a signal whose drain a member failed (exit 3 in its handler) fails with DrainFailedError: exit 1", () =>
    Effect.gen(function*() {
      const fiber = yield* runStarted({ children: [child("api"), child("crashy")], budget: "5 seconds" })
      yield* deliverAfter("SIGTERM", "1 second")
      yield* TestClock.adjust("2 seconds")
      const exit = yield* Fiber.await(fiber)
      const error = failureOf(exit)
      assert.strictEqual(error?._tag, "DrainFailedError")
      assert.strictEqual(error?.message, "crashy did not stop cleanly")
      assert.strictEqual(yield* exitCodeOf(exit), 1)
    }).pipe(Effect.provide(layerFor({ api: {}, crashy: { drainFor: "100 millis", drainEnds: { code: 3 } } }))))

  it.effect("death by the stop signal itself, or exit 128 + its number, is a clean stop: exit 0", () =>
    Effect.gen(function*() {
      const fiber = yield* runStarted({
        children: [child("plain"), child("shell"), Child.make({ name: "quitter", command: "quitter", stopSignal: "SIGQUIT" })],
        budget: "5 seconds"
      })
      yield* deliverAfter("SIGTERM", "1 second")
      yield* TestClock.adjust("2 seconds")
      const exit = yield* Fiber.await(fiber)
      assert.strictEqual(yield* exitCodeOf(exit), 0)
      const report = Exit.isSuccess(exit) ? exit.value : undefined
      assert.deepStrictEqual(report?.members.map((member) => member.clean), [true, true, true])
    }).pipe(Effect.provide(layerFor({
      plain: { drainEnds: { signal: "SIGTERM" } },
      shell: { drainEnds: { code: 143 } },
      quitter: { drainEnds: { code: 131 } }
    }))))
})

describe("Supervisor.supervise: bad input and start-up", () => {
  it.effect("an invalid budget fails before anything starts", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Supervisor.supervise({ children: [child("api")], budget: 0 }))
      assert.strictEqual(error._tag, "InvalidBudgetError")
      assert.deepStrictEqual(yield* TestSpawner.events, [])
    }).pipe(Effect.provide(layerFor({ api: {} }))))

  it.effect("a server failing to bind stops the children already started and fails with the typed error", () =>
    Effect.gen(function*() {
      const bindError = new GrpcBindError({ name: "admin", address: "127.0.0.1:1", cause: new Error("EADDRINUSE") })
      const error = yield* Effect.flip(Supervisor.supervise({
        children: [child("api"), child("worker")],
        servers: [Effect.fail(bindError)],
        budget: "5 seconds"
      }))
      assert.strictEqual(error, bindError)
      assert.strictEqual(error.message, "gRPC server \"admin\" could not bind 127.0.0.1:1: EADDRINUSE")
      assert.deepStrictEqual((yield* TestSpawner.events).map((event) => `${event.command} ${event.kind}`), [
        "api spawned",
        "worker spawned",
        "api SIGTERM",
        "api exited",
        "worker SIGTERM",
        "worker exited"
      ])
    }).pipe(Effect.provide(layerFor({ api: {}, worker: {} }))))

  it.effect("a start failure is reported in the error's own words, whatever it is", () => {
    const messages: Array<string> = []
    return Effect.gen(function*() {
      const failure = yield* Effect.flip(Supervisor.supervise({
        children: [child("api"), Child.make({ name: "tool", command: "missing" })],
        budget: "5 seconds"
      }))
      assert.strictEqual(failure._tag, "ChildSpawnError")
      const other = yield* Effect.flip(Supervisor.supervise({ children: [Effect.fail("no license")], budget: "5 seconds" }))
      assert.strictEqual(other, "no license")
      assert.include(messages, `start failed: ${failure.message}`)
      assert.match(failure.message, /^Child "tool" could not start \(missing\): /)
      assert.include(messages, "start failed: no license")
    }).pipe(Effect.provide(Layer.mergeAll(
      layerFor({ api: {} }),
      Logger.layer([Logger.make(({ message }) => messages.push([message].flat().map(String).join(" ")))])
    )))
  })

  it.effect("a spawn refused for permissions is a typed error naming the child and command", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Supervisor.supervise({
        children: [Child.make({ name: "tool", command: "locked", args: ["--serve"] })],
        budget: "5 seconds"
      }))
      assert(error._tag === "ChildSpawnError")
      assert.strictEqual(error.name, "tool")
      assert.strictEqual(error.command, "locked --serve")
      assert.strictEqual(error.cause.reason._tag, "PermissionDenied")
    }).pipe(Effect.provide(layerFor({ locked: { failsToSpawn: "PermissionDenied" } }))))

  it.effect("interrupted while starting: what started is drained, the rest never starts", () =>
    Effect.gen(function*() {
      // It never gets ready: the second member never starts.
      const fiber = yield* Supervisor.supervise({
        children: [child("api"), Effect.never as Effect.Effect<Child.Child>, child("never-started")],
        budget: "5 seconds"
      }).pipe(Effect.forkChild({ startImmediately: true }))
      yield* Effect.forkChild(Effect.delay(Fiber.interrupt(fiber), "1 second"))
      yield* TestClock.adjust("2 seconds")
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.hasInterrupts(exit))
      assert.deepStrictEqual((yield* TestSpawner.events).map((event) => `${event.command} ${event.kind} @${event.at}`), [
        "api spawned @0",
        "api SIGTERM @1000",
        "api exited @1000"
      ])
    }).pipe(Effect.provide(layerFor({ api: {}, "never-started": {} }))))

  it.effect("interrupted while starting after a signal was recorded: the shutdown is reported as that signal", () => {
    const messages: Array<unknown> = []
    return Effect.gen(function*() {
      // It never gets ready: the second member never starts.
      const fiber = yield* Supervisor.supervise({
        children: [child("api"), Effect.never as Effect.Effect<Child.Child>],
        budget: "5 seconds"
      }).pipe(Effect.forkChild({ startImmediately: true }))
      yield* Effect.forkChild(Effect.delay(Effect.andThen(ShutdownSignal.deliver("SIGTERM"), Fiber.interrupt(fiber)), "1 second"))
      yield* TestClock.adjust("1 second")
      // The signal alone ends the start; the interruption finds the supervision over, or draining.
      yield* Fiber.await(fiber)
      assert.include(messages, "received SIGTERM, shutting down")
    }).pipe(
      Effect.provide(Layer.mergeAll(layerFor({ api: {} }), Logger.layer([Logger.make(({ message }) => messages.push(...[message].flat()))])))
    )
  })

  it.effect("with no members a signal still ends the supervision", () =>
    Effect.gen(function*() {
      const fiber = yield* Supervisor.supervise({ children: [] as ReadonlyArray<Effect.Effect<Child.Child>>, budget: "5 seconds" }).pipe(
        Effect.forkChild({ startImmediately: true })
      )
      yield* deliverAfter("SIGINT", "1 second")
      yield* TestClock.adjust("1 second")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(report.outcome, { _tag: "Signalled", signal: "SIGINT" })
      assert.deepStrictEqual(report.members, [])
      assert.isTrue(report.budgetHeld)
    }).pipe(Effect.provide(layerFor({}))))
})
