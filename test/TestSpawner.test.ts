import { assert, describe, it } from "@effect/vitest"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Child from "../src/Child.ts"
import * as TestSpawner from "../src/testing/TestSpawner.ts"

describe("TestSpawner", () => {
  it.effect("records a process still running when its scope closes as reaped, so tests can catch leaks", () =>
    Effect.gen(function*() {
      const child = yield* Effect.scoped(Child.make({ name: "stubborn", command: "stubborn" }))
      assert.deepStrictEqual(yield* child.exit, { code: null, signal: "SIGKILL" })
      assert.deepStrictEqual((yield* TestSpawner.events).map((event) => event.kind), ["spawned", "SIGTERM", "reaped", "exited"])
    }).pipe(Effect.provide(Layer.mergeAll(TestSpawner.layer({ stubborn: { ignoresSigterm: true } }), NodeFileSystem.layer))))

  it.effect("an unscripted command fails to spawn as NotFound", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(Child.make({ name: "x", command: "unscripted" })))
      assert.strictEqual(error.cause.reason._tag, "NotFound")
    }).pipe(Effect.provide(Layer.mergeAll(TestSpawner.layer({}), NodeFileSystem.layer))))
})
