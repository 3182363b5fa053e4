// The services of a real-process test: the real spawner, process tree and output, test signals
// (a test delivers them), metrics in a registry of their own.
import * as NodeChildProcessSpawner from "@effect/platform-node/NodeChildProcessSpawner"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as Layer from "effect/Layer"
import * as Output from "../../src/Output.ts"
import * as ProcessTree from "../../src/ProcessTree.ts"
import * as ShutdownSignal from "../../src/ShutdownSignal.ts"
import * as SupervisorMetrics from "../../src/SupervisorMetrics.ts"
import * as SupervisorState from "../../src/SupervisorState.ts"

export const live = Layer.mergeAll(
  Layer.provideMerge(NodeChildProcessSpawner.layer, Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)),
  ProcessTree.layer,
  ShutdownSignal.layerTest,
  SupervisorState.layer,
  Layer.provideMerge(Output.layer, SupervisorMetrics.layerTest)
)
