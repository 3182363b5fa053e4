// The scripted spawner behaves as the real one where a supervisor can tell the difference.
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as ChildProcess from "effect/process/ChildProcess"
import { ChildProcessSpawner } from "effect/process/ChildProcessSpawner"
import * as Scope from "effect/Scope"
import { TestClock } from "effect/testing"
import { ProcessTree } from "../src/ProcessTree.ts"
import * as TestSpawner from "../src/testing/TestSpawner.ts"

const kinds = Effect.map(TestSpawner.events, (events) => events.map((event) => `${event.command} ${event.kind} @${event.at}`))

describe("TestSpawner", () => {
  it.effect("its scope clean-up, as the real spawner's: the kill signal, forceKillAfter, then SIGKILL", () =>
    Effect.gen(function*() {
      const spawner = yield* ChildProcessSpawner
      const scope = yield* Scope.make()
      yield* spawner.spawn(ChildProcess.make("stubborn", [], { killSignal: "SIGTERM", forceKillAfter: "500 millis" })).pipe(
        Scope.provide(scope)
      )
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void), { startImmediately: true })
      yield* TestClock.adjust("600 millis")
      yield* Fiber.join(closing)
      assert.deepStrictEqual(yield* kinds, [
        "stubborn spawned @0",
        "stubborn SIGTERM @0",
        "stubborn SIGKILL @500",
        "stubborn exited @500"
      ])
    }).pipe(Effect.provide(TestSpawner.layer({ stubborn: { ignoresSigterm: true } }))))

  it.effect("a spawn interrupted halfway kills the new process and returns nothing, as the real one does", () =>
    Effect.gen(function*() {
      const spawner = yield* ChildProcessSpawner
      const spawning = yield* spawner.spawn(ChildProcess.make("slow", [])).pipe(
        Effect.scoped,
        Effect.forkChild({ startImmediately: true })
      )
      yield* Fiber.interrupt(spawning)
      assert.deepStrictEqual(yield* kinds, ["slow spawned @0", "slow spawn-interrupted @0", "slow SIGTERM @0", "slow exited @0"])
    }).pipe(Effect.provide(TestSpawner.layer({ slow: { spawnTakes: "1 second" } }))))

  it.effect("descendants: the group's share the leader's pgid, escaped ones lead their own; orphans go to PID 1", () =>
    Effect.gen(function*() {
      const spawner = yield* ChildProcessSpawner
      const tree = yield* ProcessTree
      const handle = yield* spawner.spawn(ChildProcess.make("app", [])).pipe(Scope.provide(yield* Scope.make()))
      const before = (yield* tree.snapshot(0))!
      assert.deepStrictEqual(
        before.descendants([handle.pid]).map(({ pgid, pid, ppid }) => [pid, ppid, pgid]).sort(),
        [[1001, 1000, 1000], [1002, 1000, 1002]]
      )
      yield* tree.signalProcess(handle.pid, "SIGKILL")
      const after = (yield* tree.snapshot(0))!
      assert.deepStrictEqual(after.descendants([1]).map(({ pid }) => pid).sort(), [1001, 1002])
      assert.isTrue(yield* tree.groupExists(1000), "its group lives on in the grandchild")
      yield* tree.signalGroup(1000, "SIGKILL")
      // As PID 1, nobody reaps the grandchild: a zombie, still in the group as kill(-pgid, 0) sees it.
      assert.isTrue(yield* tree.groupExists(1000))
      assert.deepStrictEqual((yield* tree.snapshot(0))!.liveInGroup(1000), [])
      assert.deepStrictEqual(yield* TestSpawner.running, ["app.e0"])
      yield* tree.signalGroup(1002, "SIGKILL")
    }).pipe(Effect.provide(TestSpawner.layer({ app: { group: [{}], escaped: [{}] } }, { pid1: true }))))

  it.effect("a stopped process acts on its stop signal only after SIGCONT", () =>
    Effect.gen(function*() {
      const spawner = yield* ChildProcessSpawner
      const tree = yield* ProcessTree
      const handle = yield* spawner.spawn(ChildProcess.make("paused", [])).pipe(Scope.provide(yield* Scope.make()))
      yield* tree.signalGroup(handle.pid, "SIGTERM")
      yield* TestClock.adjust("1 second")
      assert.isTrue(yield* handle.isRunning)
      yield* tree.signalGroup(handle.pid, "SIGCONT")
      yield* TestClock.adjust("100 millis")
      assert.deepStrictEqual(yield* handle.exitCode, 0)
    }).pipe(Effect.provide(TestSpawner.layer({ paused: { stopped: true, drainFor: "100 millis" } }))))

  it.effect("an unscripted command fails to spawn as NotFound", () =>
    Effect.gen(function*() {
      const spawner = yield* ChildProcessSpawner
      const error = yield* Effect.flip(Effect.scoped(spawner.spawn(ChildProcess.make("unscripted", []))))
      assert.strictEqual(error.reason._tag, "NotFound")
    }).pipe(Effect.provide(TestSpawner.layer({}))))
})
