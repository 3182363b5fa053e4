/**
 * @since 0.1.0
 */
export * as Budget from "./Budget.ts"
export * as Child from "./Child.ts"
export * as EarlySignals from "./EarlySignals.ts"
export * as GrpcServer from "./GrpcServer.ts"
export * as HealthServer from "./HealthServer.ts"
export * as Member from "./Member.ts"
export * as NodeSupervisor from "./NodeSupervisor.ts"
export * as Output from "./Output.ts"
export * as PrefixedLines from "./PrefixedLines.ts"
export * as ProcessTree from "./ProcessTree.ts"
export * as ShutdownReport from "./ShutdownReport.ts"
export * as ShutdownSignal from "./ShutdownSignal.ts"
export * as SupervisedChild from "./SupervisedChild.ts"
export * as Supervisor from "./Supervisor.ts"
export * as SupervisorMetrics from "./SupervisorMetrics.ts"
export * as SupervisorState from "./SupervisorState.ts"
