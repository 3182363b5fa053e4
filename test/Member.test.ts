import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Member from "../src/Member.ts"

const counted = Effect.gen(function*() {
  const exit = yield* Deferred.make<Member.End>()
  const ended = Deferred.succeed(exit, Member.End.Closed())
  const calls = { stop: 0, force: 0 }
  const member = Member.make({
    name: "m",
    kind: "server",
    exit,
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
      yield* ended
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

describe("Member.isCleanStop", () => {
  const process = { stopSignal: "SIGTERM" }
  it("exit 0, death by the member's stop signal and 128 + its number are clean; the rest is not", () => {
    assert.isTrue(Member.isCleanStop(process, Member.End.Exited({ code: 0, signal: null })))
    assert.isTrue(Member.isCleanStop(process, Member.End.Exited({ code: null, signal: "SIGTERM" })))
    assert.isTrue(Member.isCleanStop(process, Member.End.Exited({ code: 143, signal: null })))
    assert.isFalse(Member.isCleanStop(process, Member.End.Exited({ code: 3, signal: null })))
    assert.isFalse(Member.isCleanStop(process, Member.End.Exited({ code: null, signal: "SIGSEGV" })))
    assert.isFalse(Member.isCleanStop(process, Member.End.Exited({ code: 130, signal: null })))
    assert.isFalse(Member.isCleanStop({ stopSignal: undefined }, Member.End.Exited({ code: 143, signal: null })))
    assert.isTrue(Member.isCleanStop({ stopSignal: undefined }, Member.End.Closed()))
    assert.isFalse(Member.isCleanStop({ stopSignal: undefined }, Member.End.Failed({ reason: "boom" })))
  })

  it("formats each end as one phrase", () => {
    assert.strictEqual(Member.formatEnd(Member.End.Exited({ code: 3, signal: null })), "exited with code 3")
    assert.strictEqual(Member.formatEnd(Member.End.Exited({ code: null, signal: "SIGKILL" })), "killed by SIGKILL")
    assert.strictEqual(Member.formatEnd(Member.End.Closed()), "closed")
    assert.strictEqual(Member.formatEnd(Member.End.Failed({ reason: "boom" })), "failed: boom")
  })
})
