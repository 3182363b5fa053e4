// The test layers and helpers shared by the TestClock tests of the supervisor.
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Child from "../../src/Child.ts"
import type * as Member from "../../src/Member.ts"
import * as Output from "../../src/Output.ts"
import * as ShutdownSignal from "../../src/ShutdownSignal.ts"
import * as Supervisor from "../../src/Supervisor.ts"
import * as SupervisorMetrics from "../../src/SupervisorMetrics.ts"
import * as SupervisorState from "../../src/SupervisorState.ts"
import * as TestSpawner from "../../src/testing/TestSpawner.ts"

/** Scripted processes, test signals, captured output and metrics in a registry of their own. */
export const layerFor = (scripts: Record<string, TestSpawner.Script>, options?: Parameters<typeof TestSpawner.layer>[1]) =>
  Layer.mergeAll(
    TestSpawner.layer(scripts, options),
    ShutdownSignal.layerTest,
    SupervisorMetrics.layerTest,
    Output.layerTest,
    SupervisorState.layer,
    NodeFileSystem.layer
  )

/**
 * Forks the supervision and returns once every member has started (or the
 * start was cut short): the test clock moves only after that.
 */
export const superviseStarted = <
  Children extends Effect.Effect<Member.Member, any, any>,
  Servers extends Effect.Effect<Member.Member, any, any> = never
>(options: Supervisor.Options<Children, Servers>) =>
  Effect.gen(function*() {
    const fiber = yield* Supervisor.supervise(options).pipe(Effect.forkChild({ startImmediately: true }))
    yield* SupervisorState.reached("ready")
    return fiber
  })

/** A child running the scripted command of the same name. */
export const child = (name: string) => Child.make({ name, command: name })

/**
 * Delivers `signal` after `delay` on the test clock: the clock then lets
 * everything the signal sets off run before it moves on.
 */
export const deliverAfter = (signal: ShutdownSignal.Signal, delay: Duration.Input) =>
  Effect.forkChild(Effect.delay(ShutdownSignal.deliver(signal), delay))

/** {@link superviseStarted} for `Supervisor.run`. */
export const runStarted = <
  Children extends Effect.Effect<Member.Member, any, any>,
  Servers extends Effect.Effect<Member.Member, any, any> = never
>(options: Supervisor.Options<Children, Servers>) =>
  Effect.gen(function*() {
    const fiber = yield* Supervisor.run(options).pipe(Effect.forkChild({ startImmediately: true }))
    yield* SupervisorState.reached("ready")
    return fiber
  })
