import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Member from "../src/Member.ts"

const counted = Effect.gen(function*() {
  const ended = yield* Deferred.make<void>()
  const calls = { stop: 0, force: 0 }
  const member = Member.make({
    name: "m",
    kind: "server",
    ended,
    onStopRequest: Effect.sync(() => calls.stop++),
    onForce: Effect.sync(() => calls.force++)
  })
  return { ended, calls, member }
})

describe("Member.make", () => {
  it.effect("a stop request is issued once however often it is asked for", () =>
    Effect.gen(function*() {
      const { calls, member } = yield* counted
      yield* member.requestStop
      yield* member.requestStop
      assert.deepStrictEqual(calls, { stop: 1, force: 0 })
    }))

  it.effect("a member that has ended is neither asked to stop nor forced", () =>
    Effect.gen(function*() {
      const { calls, ended, member } = yield* counted
      yield* Deferred.succeed(ended, undefined)
      yield* member.requestStop
      yield* member.force
      assert.deepStrictEqual(calls, { stop: 0, force: 0 })
      assert.isTrue(yield* member.hasEnded)
    }))

  it.effect("force reaches a member whose stop request it ignored", () =>
    Effect.gen(function*() {
      const { calls, member } = yield* counted
      yield* member.requestStop
      yield* member.force
      assert.deepStrictEqual(calls, { stop: 1, force: 1 })
    }))
})
