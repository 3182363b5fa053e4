// The example service: 2 API workers, a background worker and a scheduler as
// supervised children; an admin gRPC server and an HTTP /metrics + /healthz
// endpoint in the parent; one SQLite file; one graceful-shutdown budget.
// Loaded by main.ts, which catches signals first.
//   npm start            then, from a second terminal: npm run client -- submit "resize photo"
// Configuration: see config.ts (API_PORT, API_WORKERS, JOB_WORKERS, ADMIN_PORT,
// METRICS_PORT, DATA_DIR, GRACEFUL_SHUTDOWN_TIMEOUT, WORK_MS, SCHEDULE_EVERY_MS, LEASE_MS).
import * as Grpc from "@grpc/grpc-js"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Http from "node:http"
import * as Net from "node:net"
import * as Prometheus from "prom-client"
import { Child, GrpcServer, Member, NodeSupervisor, Supervisor, SupervisorMetrics } from "../../src/index.ts"
import * as Config from "./config.ts"
import { AdminService, type HealthResponse } from "./protocol.ts"
import * as Store from "./store.ts"

const fatal = (message: string): never => {
  console.error(`config error: ${message}`)
  process.exit(1)
}

const config = (() => {
  try {
    return Config.fromEnv()
  } catch (error) {
    return fatal((error as Error).message)
  }
})()

// The database first: an unwritable data folder must stop us before any child starts.
const db = (() => {
  try {
    return Store.create(config.dbPath)
  } catch (error) {
    return fatal(`DATA_DIR ${config.dataDir}: cannot create ${config.dbPath}: ${(error as Error).message}`)
  }
})()
const store = Store.makeStore(db)

/** Resolves when `port` can be bound on loopback; a clear line naming `variable` otherwise. */
const checkPort = (variable: string, port: number) =>
  new Promise<void>((resolve) => {
    if (port === 0) return resolve()
    const probe = Net.createServer()
    probe.once("error", (error: NodeJS.ErrnoException) =>
      fatal(`${variable}: 127.0.0.1:${port} is not available (${error.code ?? error.message})`))
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve()))
  })
const apiPorts = Config.apiPorts(config)
await Promise.all([
  ...apiPorts.map((port, index) => checkPort(index === 0 ? "API_PORT" : `API_PORT (+${index})`, port)),
  checkPort("ADMIN_PORT", config.adminPort),
  checkPort("METRICS_PORT", config.metricsPort)
])

const registry = new Prometheus.Registry()
Prometheus.collectDefaultMetrics({ register: registry })
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
  ...apiPorts.map((port, index) =>
    Child.make({ name: `api-${index + 1}`, module: module("api-worker.ts"), env: { ...childEnv, PORT: String(port) }, stdio: "prefixed" })
  ),
  ...Array.from({ length: config.jobWorkers }, (_, index) =>
    Child.make({
      name: config.jobWorkers === 1 ? "worker" : `worker-${index + 1}`,
      module: module("job-worker.ts"),
      env: childEnv,
      stdio: "prefixed"
    })),
  Child.make({ name: "scheduler", module: module("scheduler.ts"), env: childEnv, stdio: "prefixed" })
]

const childrenAlive = async (): Promise<number> => {
  const metric = registry.getSingleMetric(SupervisorMetrics.names.childrenAlive)
  return (await metric?.get())?.values[0]?.value ?? 0
}

const health = async (): Promise<HealthResponse> => {
  const alive = await childrenAlive()
  return {
    status: alive === children.length ? "SERVING" : "NOT_SERVING",
    childrenAlive: alive,
    childrenExpected: children.length,
    jobs: store.counts()
  }
}

const admin = GrpcServer.make({
  name: "admin",
  address: `127.0.0.1:${config.adminPort}`,
  register: (server: Grpc.Server) =>
    server.addService(AdminService, {
      health: (_call: unknown, callback: Grpc.sendUnaryData<HealthResponse>) =>
        void health().then((response) => callback(null, response))
    })
}).pipe(Effect.tap((server) => Effect.logInfo(`admin gRPC on 127.0.0.1:${server.port}`)))

/** The HTTP endpoint as a member: drained with the rest (close, then wait for open requests). */
const http = Effect.gen(function*() {
  const server = Http.createServer((request, response) => {
    const reply = (status: number, type: string, body: string) => {
      response.writeHead(status, { "content-type": type }).end(body)
    }
    if (request.url === "/metrics") {
      void registry.metrics().then((body) => reply(200, registry.contentType, body))
    } else if (request.url === "/healthz") {
      void health().then((state) =>
        reply(state.status === "SERVING" ? 200 : 503, "text/plain", `${state.status === "SERVING" ? "ok" : "unhealthy"}: ${state.childrenAlive}/${state.childrenExpected} children alive\n`)
      )
    } else {
      reply(404, "text/plain", "not found; try /metrics or /healthz\n")
    }
  })
  const port = yield* Effect.callback<number, Error>((resume) => {
    server.once("error", (error) => resume(Effect.fail(new Error(`METRICS_PORT: cannot listen on 127.0.0.1:${config.metricsPort}: ${error.message}`))))
    server.listen(config.metricsPort, "127.0.0.1", () => resume(Effect.succeed((server.address() as Net.AddressInfo).port)))
  })
  const exit = yield* Deferred.make<Member.End>()
  const member = Member.make({
    name: "http",
    kind: "server",
    exit,
    onStopRequest: Effect.sync(() => {
      server.close(() => Deferred.doneUnsafe(exit, Effect.succeed(Member.End.Closed())))
      server.closeIdleConnections()
    }),
    onForce: Effect.sync(() => server.closeAllConnections())
  })
  yield* Effect.addFinalizer(() => member.requestStop)
  yield* Effect.logInfo(`metrics on http://127.0.0.1:${port}/metrics, health on http://127.0.0.1:${port}/healthz`)
  yield* Effect.logInfo(`all ${children.length} children and 2 servers started; data in ${config.dbPath}; Ctrl-C drains within ${config.budgetSeconds} s`)
  return member
})

const program = Supervisor.run({
  children,
  servers: [admin, http],
  budget: Duration.seconds(config.budgetSeconds)
}).pipe(Effect.ensuring(Effect.sync(() => db.close())))

NodeSupervisor.runMain(program, { registry })
