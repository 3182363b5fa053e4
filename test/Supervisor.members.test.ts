// Members that are neither children nor gRPC servers, and members that misbehave: any member's
// end takes part in the race, and a failing member cannot strand the others.
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { TestClock } from "effect/testing"
import * as Member from "../src/Member.ts"
import * as ShutdownSignal from "../src/ShutdownSignal.ts"
import * as SupervisorState from "../src/SupervisorState.ts"
import * as TestSpawner from "../src/testing/TestSpawner.ts"
import { child, deliverAfter, layerFor, superviseStarted } from "./helpers/testClock.ts"

/** A member made by hand; `end` ends it on its own, the test decides how the rest behaves. */
const custom = (options: {
  readonly name: string
  readonly kind: string
  readonly onStopRequest?: (end: (how: Member.End) => Effect.Effect<void>) => Effect.Effect<void>
  readonly onForce?: (end: (how: Member.End) => Effect.Effect<void>) => Effect.Effect<void>
}) =>
  Effect.gen(function*() {
    const exit = yield* Deferred.make<Member.End>()
    const end = (how: Member.End) => Effect.asVoid(Deferred.succeed(exit, how))
    const member = Member.make({
      name: options.name,
      kind: options.kind,
      exit,
      onStopRequest: options.onStopRequest?.(end) ?? end(Member.End.Closed()),
      onForce: options.onForce?.(end) ?? end(Member.End.Closed())
    })
    return { member, end }
  })

const logged = (messages: Array<string>) =>
  Logger.layer([Logger.make(({ message }) => messages.push([message].flat().map(String).join(" ")))])

describe("Supervisor: any member", () => {
  it.effect("a custom member calling itself a child, ending on its own, is the outcome like any other", () =>
    Effect.gen(function*() {
      const impostor = yield* custom({ name: "cache", kind: "child" })
      const fiber = yield* superviseStarted({
        children: [child("api"), Effect.succeed(impostor.member)],
        budget: "5 seconds"
      })
      yield* Effect.delay(impostor.end(Member.End.Failed({ reason: "disk full" })), "2 seconds").pipe(Effect.forkChild)
      yield* TestClock.adjust("2 seconds")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(report.outcome, {
        _tag: "MemberExited",
        name: "cache",
        kind: "child",
        pid: undefined,
        end: Member.End.Failed({ reason: "disk full" })
      })
      assert.strictEqual(report.verdict, "member-exited")
      assert.deepStrictEqual((yield* TestSpawner.events).map((event) => `${event.command} ${event.kind} @${event.at}`), [
        "api spawned @0",
        "api SIGTERM @2000",
        "api exited @2000"
      ])
    }).pipe(Effect.provide(layerFor({ api: {} }))))

  it.effect("a server closing on its own ends the supervision too", () =>
    Effect.gen(function*() {
      const server = yield* custom({ name: "admin", kind: "server" })
      const fiber = yield* superviseStarted({ children: [child("api")], servers: [Effect.succeed(server.member)], budget: "5 seconds" })
      yield* Effect.delay(server.end(Member.End.Closed()), "1 second").pipe(Effect.forkChild)
      yield* TestClock.adjust("1 second")
      const report = yield* Fiber.join(fiber)
      assert.strictEqual(report.outcome._tag, "MemberExited")
      assert.deepStrictEqual(report.members.map((member) => [member.name, member.end._tag]), [
        ["api", "Stopped"],
        ["admin", "AlreadyExited"]
      ])
    }).pipe(Effect.provide(layerFor({ api: {} }))))
})

describe("Supervisor: a member that fails its own stop", () => {
  it.effect("a stop request that dies is logged; the others drain; the member is forced at the budget", () => {
    const messages: Array<string> = []
    return Effect.gen(function*() {
      const broken = yield* custom({ name: "broken", kind: "server", onStopRequest: () => Effect.die("stop exploded") })
      const fiber = yield* superviseStarted({
        children: [child("api")],
        servers: [Effect.succeed(broken.member)],
        budget: "3 seconds"
      })
      yield* deliverAfter("SIGTERM", "1 second")
      yield* TestClock.adjust("4 seconds")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(report.members.map((member) => [member.name, member.end]), [
        ["api", { _tag: "Stopped", millis: 1000 }],
        ["broken", { _tag: "Forced", millis: 3000 }]
      ])
      assert.strictEqual(report.verdict, "forced")
      assert.isTrue(messages.some((message) => message.startsWith("server broken: stop request failed")), messages.join("\n"))
    }).pipe(Effect.provide(Layer.mergeAll(layerFor({ api: { drainFor: "1 second" } }), logged(messages))))
  })

  it.effect("a member whose stop and force both die, and that never ends, cannot hold the report or strand the others", () => {
    const messages: Array<string> = []
    return Effect.gen(function*() {
      const stuck = yield* custom({
        name: "stuck",
        kind: "server",
        onStopRequest: () => Effect.die("stop exploded"),
        onForce: () => Effect.die("force exploded")
      })
      const fiber = yield* superviseStarted({
        children: [child("api"), child("stubborn")],
        servers: [Effect.succeed(stuck.member)],
        budget: "2 seconds"
      })
      yield* deliverAfter("SIGTERM", "1 second")
      // The budget, then the second the supervisor gives forced members to be gone.
      yield* TestClock.adjust("4 seconds")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(report.members.map((member) => [member.name, member.end._tag, member.exit?._tag]), [
        ["api", "Stopped", "Exited"],
        ["stubborn", "Forced", "Exited"],
        ["stuck", "Forced", undefined]
      ])
      assert.deepStrictEqual(yield* TestSpawner.running, [], "every process was stopped")
      assert.isTrue(messages.some((message) => message.startsWith("server stuck: force failed")), messages.join("\n"))
    }).pipe(Effect.provide(Layer.mergeAll(layerFor({ api: {}, stubborn: { ignoresSigterm: true } }), logged(messages))))
  })

  it.effect("a member whose end dies is reported as ended, and the drain goes on", () => {
    const messages: Array<string> = []
    return Effect.gen(function*() {
      const exit = yield* Deferred.make<Member.End>()
      const member: Member.Member = {
        ...Member.make({ name: "odd", kind: "server", exit, onStopRequest: Effect.void, onForce: Effect.void }),
        ended: Effect.die("end exploded")
      }
      const fiber = yield* superviseStarted({ children: [child("api")], servers: [Effect.succeed(member)], budget: "2 seconds" })
      yield* deliverAfter("SIGTERM", "1 second")
      yield* TestClock.adjust("1 second")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(report.members.map((member) => member.end._tag), ["Stopped", "Stopped"])
      assert.isTrue(messages.some((message) => message.startsWith("server odd: its end failed")), messages.join("\n"))
    }).pipe(Effect.provide(Layer.mergeAll(layerFor({ api: {} }), logged(messages))))
  })
})

describe("Supervisor: interrupted from outside", () => {
  it.effect("a signal recorded in the same instant as the interruption (runMain's order) is the outcome", () =>
    Effect.gen(function*() {
      const signals = yield* ShutdownSignal.ShutdownSignal
      const fiber = yield* superviseStarted({ children: [child("api")], budget: "2 seconds" })
      // As runMain's listener runs right after ShutdownSignal's: no fiber runs in between.
      yield* Effect.sync(() => {
        Effect.runSync(signals.deliver("SIGTERM"))
        fiber.interruptUnsafe()
      })
      yield* TestClock.adjust("1 second")
      yield* Fiber.await(fiber)
      const report = (yield* SupervisorState.SupervisorState).reportUnsafe()
      assert.deepStrictEqual(report?.outcome, { _tag: "Signalled", signal: "SIGTERM" })
      assert.strictEqual(report?.verdict, "drained")
    }).pipe(Effect.provide(layerFor({ api: {} }))))
})
