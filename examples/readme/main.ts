// The README's example: three children and a parent-local gRPC server under
// one graceful-shutdown budget. Run: node examples/readme/main.ts, then Ctrl-C.
import * as Grpc from "@grpc/grpc-js"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { Budget, Child, GrpcServer, NodeSupervisor, Supervisor } from "../../src/index.ts"

const worker = new URL("worker.ts", import.meta.url).pathname

const program = Effect.gen(function*() {
  const budget = yield* Budget.config().pipe(Config.withDefault(Duration.seconds(10))) // GRACEFUL_SHUTDOWN_TIMEOUT
  return yield* Supervisor.run({
    children: [
      Child.make({ name: "api-1", module: worker, env: { DRAIN_MS: "300" }, stdio: "prefixed" }),
      Child.make({ name: "api-2", module: worker, env: { DRAIN_MS: "300" }, stdio: "prefixed" }),
      Child.make({ name: "scheduler", command: "sleep", args: ["infinity"] })
    ],
    servers: [GrpcServer.make({ name: "admin", address: "127.0.0.1:0", register: (_server: Grpc.Server) => {} })],
    budget
  })
})

NodeSupervisor.runMain(program) // NodeRuntime.runMain, the Node layer, and the exit codes below
