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
import type * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import type * as Path from "effect/Path"
import type { ChildProcessSpawner } from "effect/process/ChildProcessSpawner"
import type * as Prometheus from "prom-client"
import * as ShutdownSignal from "./ShutdownSignal.ts"
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
