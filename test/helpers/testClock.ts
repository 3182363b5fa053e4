// The test layers and helpers shared by the TestClock tests of the supervisor.
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Child from "../../src/Child.ts"
import * as ShutdownSignal from "../../src/ShutdownSignal.ts"
import * as SupervisorMetrics from "../../src/SupervisorMetrics.ts"
import * as TestSpawner from "../../src/testing/TestSpawner.ts"

/** Scripted processes, test signals and metrics in a registry of their own. */
export const layerFor = (scripts: Record<string, TestSpawner.Script>) =>
  Layer.mergeAll(TestSpawner.layer(scripts), ShutdownSignal.layerTest, SupervisorMetrics.layerTest, NodeFileSystem.layer)

/** A child running the scripted command of the same name. */
export const child = (name: string) => Child.make({ name, command: name })

/**
 * Delivers `signal` after `delay` on the test clock: the clock then lets
 * everything the signal sets off run before it moves on.
 */
export const deliverAfter = (signal: ShutdownSignal.Signal, delay: Duration.Input) =>
  Effect.forkChild(Effect.delay(ShutdownSignal.deliver(signal), delay))
