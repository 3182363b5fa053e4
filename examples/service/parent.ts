// The example service: 2 API workers, a background worker and a scheduler as
// supervised children; an admin gRPC server and the health endpoint (/livez,
// /readyz, /metrics) in the parent; one SQLite file; one graceful-shutdown
// budget. Loaded by main.ts, which catches signals first.
//   npm start            then, from a second terminal: npm run client -- submit "resize photo"
// Configuration: see config.ts (API_HOST, API_PORT, API_WORKERS, JOB_WORKERS, ADMIN_PORT,
// HEALTH_HOST, METRICS_PORT, DATA_DIR, GRACEFUL_SHUTDOWN_TIMEOUT, DRAIN_DELAY, WORK_MS,
// SCHEDULE_EVERY_MS, LEASE_MS).
import * as Grpc from "@grpc/grpc-js"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Net from "node:net"
import * as Prometheus from "prom-client"
import {
  Child,
  GrpcServer,
  HealthServer,
  NodeSupervisor,
  Supervisor,
  SupervisorMetrics,
  SupervisorState
} from "../../src/index.ts"
import { address, apiPorts, checkAll, load, type ServiceConfig } from "./config.ts"
import { AdminService, type HealthResponse } from "./protocol.ts"
import * as Store from "./store.ts"

const registry = new Prometheus.Registry()
Prometheus.collectDefaultMetrics({ register: registry })

/** The database, created before anything starts (an unwritable DATA_DIR stops us); closed last. */
const openDatabase = (config: ServiceConfig) =>
  Effect.acquireRelease(
    Effect.try({
      try: () => Store.create(config.dbPath),
      catch: (error) => `DATA_DIR ${config.dataDir}: cannot create ${config.dbPath}: ${(error as Error).message}`
    }),
    (db) => Effect.sync(() => db.close())
  )

/** Succeeds when `host:port` can be bound; a line naming `variable` otherwise. */
const checkPort = (variable: string, host: string, port: number) =>
  Effect.callback<void, string>((resume) => {
    if (port === 0) return resume(Effect.void)
    const probe = Net.createServer()
    probe.once("error", (error: NodeJS.ErrnoException) =>
      resume(Effect.fail(`${variable}: ${address(host, port)} is not available (${error.code ?? error.message})`)))
    probe.listen(port, host, () => probe.close(() => resume(Effect.void)))
  })

const checkPorts = (config: ServiceConfig) =>
  checkAll({
    ...Object.fromEntries(apiPorts(config).map((port, index) => {
      const variable = index === 0 ? "API_PORT" : `API_PORT (+${index})`
      return [variable, checkPort(variable, config.apiHost, port)]
    })),
    admin: checkPort("ADMIN_PORT", "127.0.0.1", config.adminPort),
    metrics: checkPort("METRICS_PORT", config.healthHost, config.metricsPort)
  })

const program = Effect.gen(function*() {
  const config = yield* load()
  // Before anything starts, every problem at once: the database, then the ports.
  const { db } = yield* checkAll({ db: openDatabase(config), ports: checkPorts(config) })
  const store = Store.makeStore(db)
  new Prometheus.Gauge({
    name: "example_jobs",
    help: "Jobs in the database, by state.",
    labelNames: ["state"],
    registers: [registry],
    collect() {
      for (const [state, count] of Object.entries(store.counts())) this.set({ state }, count)
    }
  })

  const module = (file: string) => new URL(file, import.meta.url).pathname
  const childEnv = {
    DB_PATH: config.dbPath,
    WORK_MS: String(config.workMs),
    LEASE_MS: String(config.leaseMs),
    SCHEDULE_EVERY_MS: String(config.scheduleEveryMs)
  }
  const children = [
    // Ready once their gRPC port is bound (they write READY=1 on fd 3), so /readyz is 200 only
    // when every API port accepts connections. Not listening within 30 s: a start failure, exit 1.
    ...apiPorts(config).map((port, index) =>
      Child.make({
        name: `api-${index + 1}`,
        module: module("api-worker.ts"),
        env: { ...childEnv, HOST: config.apiHost, PORT: String(port) },
        stdio: "prefixed",
        readiness: "notify",
        startTimeout: "30 seconds"
      })
    ),
    // Ready once it opened the database.
    ...Array.from({ length: config.jobWorkers }, (_, index) =>
      Child.make({
        name: config.jobWorkers === 1 ? "worker" : `worker-${index + 1}`,
        module: module("job-worker.ts"),
        env: childEnv,
        stdio: "prefixed",
        readiness: "notify",
        startTimeout: "30 seconds"
      })),
    // Ready when spawned (the default): it serves no requests, so traffic need not wait for it,
    // and if it cannot open the database it exits, which ends the supervision anyway.
    Child.make({ name: "scheduler", module: module("scheduler.ts"), env: childEnv, stdio: "prefixed" })
  ]

  const state = yield* SupervisorState.SupervisorState
  const childrenAlive = async (): Promise<number> => {
    const metric = registry.getSingleMetric(SupervisorMetrics.names.childrenAlive)
    return (await metric?.get())?.values[0]?.value ?? 0
  }
  // The admin view agrees with /readyz: SERVING only while the supervision is ready.
  const health = async (): Promise<HealthResponse> => ({
    status: state.phaseUnsafe() === "ready" ? "SERVING" : "NOT_SERVING",
    childrenAlive: await childrenAlive(),
    childrenExpected: children.length,
    jobs: store.counts()
  })
  const admin = GrpcServer.make({
    name: "admin",
    address: `127.0.0.1:${config.adminPort}`,
    register: (server: Grpc.Server) =>
      server.addService(AdminService, {
        health: (_call: unknown, callback: Grpc.sendUnaryData<HealthResponse>) =>
          void health().then((response) => callback(null, response))
      })
  }).pipe(Effect.tap((server) => Effect.logInfo(`admin gRPC on 127.0.0.1:${server.port}`)))

  const healthServer = HealthServer.make({ address: address(config.healthHost, config.metricsPort) }).pipe(
    Effect.tap((server) =>
      Effect.logInfo(`health on http://${address(config.healthHost, server.port)}: /livez, /readyz, /metrics`)
    )
  )

  const budget = `${Duration.format(config.budget)}${
    Duration.isZero(config.drainDelay) ? "" : ` (the first ${Duration.format(config.drainDelay)} still serving: DRAIN_DELAY)`
  }`
  yield* Effect.forkChild(
    Effect.gen(function*() {
      yield* state.reached("ready")
      // Reached also when the supervision went straight to draining.
      if ((yield* state.phase) !== "ready") return
      yield* Effect.logInfo(
        `ready: ${children.length} children and 2 servers; data in ${config.dbPath}; Ctrl-C drains within ${budget}`
      )
    })
  )

  return yield* Supervisor.run({
    children,
    servers: [admin, healthServer],
    budget: config.budget,
    drainDelay: config.drainDelay
  })
}).pipe(
  Effect.scoped,
  // One line per problem, and nothing else; nothing has started.
  Effect.tapErrorTag("ConfigError", (error) => Console.error(error.message))
)

NodeSupervisor.runMain(program, { registry })
