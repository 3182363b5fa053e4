// A child's process group and descendants under TestClock: the member has ended only when all of
// them have, the budget forces what is left of them, and what cannot be traced is said so.
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as PlatformError from "effect/PlatformError"
import * as Scope from "effect/Scope"
import { TestClock } from "effect/testing"
import * as Child from "../src/Child.ts"
import * as Output from "../src/Output.ts"
import * as TestSpawner from "../src/testing/TestSpawner.ts"
import { child, deliverAfter, layerFor, superviseStarted } from "./helpers/testClock.ts"

const signals = (name: string) =>
  Effect.map(TestSpawner.events, (events) =>
    events.filter((event) => event.command.startsWith(name) && event.kind.startsWith("SIG")).map((event) =>
      `${event.command} ${event.kind} @${event.at}`
    ))

describe("Child: the whole process group", () => {
  it.effect("a grandchild ignoring SIGTERM holds the member until the budget, then is SIGKILLed: forced, not stopped", () =>
    Effect.gen(function*() {
      const fiber = yield* superviseStarted({ children: [child("api")], budget: "2 seconds" })
      yield* deliverAfter("SIGTERM", "1 second")
      yield* TestClock.adjust("3 seconds")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(report.members.map((member) => [member.end, member.exit]), [
        [{ _tag: "Forced", millis: 2000 }, { _tag: "Exited", code: 0, signal: null }]
      ])
      assert.strictEqual(report.verdict, "forced")
      assert.strictEqual(report.drainMillis, 2000)
      assert.deepStrictEqual(yield* signals("api"), [
        "api SIGTERM @1000",
        "api.g0 SIGTERM @1000",
        "api SIGCONT @1000",
        "api.g0 SIGCONT @1000",
        "api.g0 SIGKILL @3000"
      ])
      assert.deepStrictEqual(yield* TestSpawner.running, [])
    }).pipe(Effect.provide(layerFor({ api: { drainFor: "200 millis", group: [{ ignoresSigterm: true }] } }))))

  it.effect("a grandchild that drains longer than its parent: stopped when the last of them ends", () =>
    Effect.gen(function*() {
      const fiber = yield* superviseStarted({ children: [child("api")], budget: "5 seconds" })
      yield* deliverAfter("SIGTERM", "1 second")
      yield* TestClock.adjust("3 seconds")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(report.members.map((member) => member.end), [{ _tag: "Stopped", millis: 1500 }])
      assert.strictEqual(report.verdict, "drained")
    }).pipe(Effect.provide(layerFor({ api: { drainFor: "200 millis", group: [{ drainFor: "1500 millis" }] } }))))

  it.effect("as PID 1, grandchildren that exited stay zombies nobody reaps: they do not hold the member", () =>
    Effect.gen(function*() {
      const fiber = yield* superviseStarted({ children: [child("api")], budget: "5 seconds" })
      yield* deliverAfter("SIGTERM", "1 second")
      yield* TestClock.adjust("2 seconds")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(report.members.map((member) => member.end), [{ _tag: "Stopped", millis: 300 }])
    }).pipe(Effect.provide(layerFor({ api: { drainFor: "300 millis", group: [{ drainFor: "100 millis" }] } }, { pid1: true }))))

  it.effect("a stopped (SIGSTOP) child drains once the SIGCONT after its stop signal wakes it", () =>
    Effect.gen(function*() {
      const fiber = yield* superviseStarted({ children: [child("paused")], budget: "5 seconds" })
      yield* deliverAfter("SIGTERM", "1 second")
      yield* TestClock.adjust("2 seconds")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(report.members.map((member) => member.end), [{ _tag: "Stopped", millis: 400 }])
      assert.deepStrictEqual(yield* signals("paused"), ["paused SIGTERM @1000", "paused SIGCONT @1000"])
    }).pipe(Effect.provide(layerFor({ paused: { stopped: true, drainFor: "400 millis" } }))))
})

describe("Child: descendants that left the group", () => {
  it.effect("an escaped descendant is traced while its parent lives, signalled with it, and SIGKILLed at the budget", () =>
    Effect.gen(function*() {
      const fiber = yield* superviseStarted({ children: [child("app")], budget: "2 seconds" })
      yield* deliverAfter("SIGTERM", "1 second")
      yield* TestClock.adjust("3 seconds")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(report.members.map((member) => member.end), [{ _tag: "Forced", millis: 2000 }])
      assert.deepStrictEqual(yield* signals("app"), [
        "app SIGTERM @1000",
        "app.e0 SIGTERM @1000",
        "app SIGCONT @1000",
        "app.e0 SIGCONT @1000",
        "app.e0 SIGKILL @3000"
      ])
      assert.deepStrictEqual(yield* TestSpawner.running, [])
    }).pipe(Effect.provide(layerFor({ app: { drainFor: "100 millis", escaped: [{ ignoresSigterm: true }] } }))))

  it.effect("one that obeys its SIGTERM is waited for like the group: stopped when it has gone", () =>
    Effect.gen(function*() {
      const fiber = yield* superviseStarted({ children: [child("app")], budget: "5 seconds" })
      yield* deliverAfter("SIGTERM", "1 second")
      yield* TestClock.adjust("2 seconds")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(report.members.map((member) => member.end), [{ _tag: "Stopped", millis: 700 }])
    }).pipe(Effect.provide(layerFor({ app: { escaped: [{ drainFor: "700 millis" }] } }))))

  it.effect("an untraceable one (reparented away) holding the output pipe: the output is given up after the force", () =>
    Effect.gen(function*() {
      const fiber = yield* superviseStarted({
        children: [Child.make({ name: "app", command: "app", stdio: "prefixed" })],
        budget: "2 seconds"
      })
      yield* deliverAfter("SIGTERM", "1 second")
      yield* TestClock.adjust("4 seconds")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(report.members.map((member) => member.end), [{ _tag: "Forced", millis: 2000 }])
      // Still running: nothing traced it. In a container's PID namespace the kernel kills it when PID 1 exits.
      assert.deepStrictEqual(yield* TestSpawner.running, ["app.e0"])
      const out = yield* Output.TestOutput
      assert.strictEqual(new TextDecoder().decode(yield* out.bytes("stdout")), "[app] hello\n")
    }).pipe(Effect.provide(layerFor({
      app: { stdout: ["hello\n"], escaped: [{ ignoresSigterm: true, untraceable: true }] }
    }))))
})

describe("Child: without a process table (no /proc, or no file descriptors left)", () => {
  it.effect("the group is judged by kill(-pgid, 0): a live grandchild holds it, as it should", () =>
    Effect.gen(function*() {
      const fiber = yield* superviseStarted({ children: [child("api")], budget: "5 seconds" })
      yield* deliverAfter("SIGTERM", "1 second")
      yield* TestClock.adjust("3 seconds")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(report.members.map((member) => member.end), [{ _tag: "Stopped", millis: 1000 }])
    }).pipe(Effect.provide(layerFor({ api: { group: [{ drainFor: "1 second" }] } }, { noProcessTable: true }))))

  it.effect("escapees are not traced then: only the group is signalled", () =>
    Effect.gen(function*() {
      const fiber = yield* superviseStarted({ children: [child("app")], budget: "1 second" })
      yield* deliverAfter("SIGTERM", "1 second")
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(yield* signals("app"), ["app SIGTERM @1000"])
      assert.deepStrictEqual(yield* TestSpawner.running, ["app.e0"])
    }).pipe(Effect.provide(layerFor({ app: { escaped: [{ ignoresSigterm: true }] } }, { noProcessTable: true }))))
})

describe("Child without a supervisor", () => {
  it.effect("closing its scope stops it: a stop request, then SIGKILL after the budget it was given", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const stubborn = yield* Child.make({ name: "stubborn", command: "stubborn" }).pipe(
        Scope.provide(scope),
        Effect.provideService(Child.CurrentBudget, Duration.seconds(3))
      )
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void), { startImmediately: true })
      yield* TestClock.adjust("3 seconds")
      yield* Fiber.join(closing)
      assert.isTrue(yield* stubborn.hasEnded)
      assert.deepStrictEqual(yield* signals("stubborn"), ["stubborn SIGTERM @0", "stubborn SIGCONT @0", "stubborn SIGKILL @3000"])
    }).pipe(Effect.provide(layerFor({ stubborn: { ignoresSigterm: true } }))))

  it.effect("a child that stops in time is not forced", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const polite = yield* Child.make({ name: "polite", command: "polite" }).pipe(Scope.provide(scope))
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void), { startImmediately: true })
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(closing)
      assert.deepStrictEqual(yield* polite.exit, { _tag: "Exited", code: 0, signal: null })
      assert.deepStrictEqual(yield* signals("polite"), ["polite SIGTERM @0", "polite SIGCONT @0"])
    }).pipe(Effect.provide(layerFor({ polite: { drainFor: "500 millis" } }))))

  it.effect("its spawn cannot be interrupted halfway: the child is started, and stopped with its scope", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const starting = yield* Child.make({ name: "slow", command: "slow" }).pipe(
        Scope.provide(scope),
        Effect.forkChild({ startImmediately: true })
      )
      const interrupting = yield* Effect.forkChild(Fiber.interrupt(starting), { startImmediately: true })
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(interrupting)
      yield* Fiber.await(starting)
      // Not killed halfway, unreported, as the spawner alone would do: it runs, and its scope knows it.
      assert.deepStrictEqual((yield* TestSpawner.events).map((event) => event.kind), ["spawned"])
      assert.deepStrictEqual(yield* TestSpawner.running, ["slow"])
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(yield* TestSpawner.running, [])
    }).pipe(Effect.provide(layerFor({ slow: { spawnTakes: "500 millis" } }))))
})

describe("ChildSpawnError", () => {
  it("says what the system said, and what to do about running out of file descriptors or processes", () => {
    const failure = (code: string) =>
      new Child.ChildSpawnError({
        name: "api",
        command: "node api.js",
        cause: PlatformError.systemError({
          _tag: "Unknown",
          module: "ChildProcess",
          method: "spawn",
          cause: Object.assign(new Error(`spawn node ${code}`), { code })
        })
      })
    assert.match(failure("EMFILE").message, /^Child "api" could not start \(node api\.js\): .* \[EMFILE: too many open files in this process; raise its limit \(ulimit -n\)/)
    assert.match(failure("EAGAIN").message, /\[EAGAIN: too many processes; raise the limit \(ulimit -u\)/)
    assert.match(failure("EIO").message, /\[EIO\]$/)
  })
})
