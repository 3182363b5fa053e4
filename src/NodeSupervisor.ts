/**
 * Everything `supervise` needs on Node, in one layer: the process spawner
 * (with its file system and path services), SIGTERM/SIGINT, and metrics in
 * prom-client's global registry or the one given.
 *
 * @since 0.1.0
 */
import * as NodeChildProcessSpawner from "@effect/platform-node/NodeChildProcessSpawner"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import type * as Path from "effect/Path"
import type { ChildProcessSpawner } from "effect/process/ChildProcessSpawner"
import type * as Prometheus from "prom-client"
import * as ShutdownSignal from "./ShutdownSignal.ts"
import * as Supervisor from "./Supervisor.ts"
import * as SupervisorMetrics from "./SupervisorMetrics.ts"

/**
 * @since 0.1.0
 * @category models
 */
export type NodeSupervisorServices =
  | ChildProcessSpawner
  | FileSystem.FileSystem
  | Path.Path
  | ShutdownSignal.ShutdownSignal
  | SupervisorMetrics.SupervisorMetrics

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: {
  readonly registry?: Prometheus.Registry | undefined
}): Layer.Layer<NodeSupervisorServices> =>
  Layer.mergeAll(
    Layer.provideMerge(NodeChildProcessSpawner.layer, Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)),
    ShutdownSignal.layer,
    SupervisorMetrics.layer(options?.registry)
  )

/**
 * Runs a supervising program as the process's main, under
 * `NodeRuntime.runMain`, with {@link layer} provided.
 *
 * runMain turns SIGTERM/SIGINT into an interruption of the main fiber, which
 * would exit 130 and hide the drain's verdict; {@link Supervisor.teardownFor}
 * judges by the program's own exit instead, so the process exits with
 * {@link Supervisor.exitCodes}: 0 after a signal drained within budget, 1 when
 * a child exited on its own, 124 when the drain had to force.
 *
 * @since 0.1.0
 * @category runtime
 */
export const runMain = <A, E>(
  program: Effect.Effect<A, E, NodeSupervisorServices>,
  options?: { readonly registry?: Prometheus.Registry | undefined }
): void => {
  let programExit: Exit.Exit<unknown, unknown> | undefined
  NodeRuntime.runMain(
    program.pipe(
      Effect.provide(layer(options)),
      Effect.onExit((exit) => Effect.sync(() => (programExit = exit)))
    ),
    { teardown: Supervisor.teardownFor(() => programExit) }
  )
}
