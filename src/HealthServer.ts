/**
 * The supervisor's health endpoint, as a member drained with the rest, on
 * `node:http`:
 *
 * - `GET /livez`: 200 while the supervision runs (a liveness probe: restart
 *   the container only if this stops answering);
 * - `GET /readyz`: 200 only once every member is ready and nothing is
 *   draining; 503 from the first signal on, before any stop request (a
 *   readiness probe: send traffic only when this answers 200);
 * - `GET /metrics`: the prom-client registry of `SupervisorMetrics`.
 *
 * It listens on loopback by default; in a pod, give `0.0.0.0:<port>` so the
 * kubelet can reach it.
 *
 * @since 0.2.0
 */
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import type * as Http from "node:http"
import type * as Net from "node:net"
import * as Member from "./Member.ts"
import { SupervisorMetrics } from "./SupervisorMetrics.ts"
import { SupervisorState } from "./SupervisorState.ts"

/**
 * @since 0.2.0
 * @category models
 */
export interface Spec {
  /** Default `health`. */
  readonly name?: string | undefined
  /** `host:port`; default `127.0.0.1:9464`. Port 0 picks a free port, reported in {@link HealthServer.port}. */
  readonly address?: string | undefined
}

/**
 * @since 0.2.0
 * @category models
 */
export interface HealthServer extends Member.Member {
  readonly port: number
}

/**
 * The health endpoint could not listen on its address.
 *
 * @since 0.2.0
 * @category errors
 */
export class HealthBindError extends Data.TaggedError("HealthBindError")<{
  readonly name: string
  readonly address: string
  readonly cause: Error
}> {
  // Through a supervisor it is the outcome, logged as such: runMain need not print it again.
  override readonly [Runtime.errorReported] = false
  override get message(): string {
    return `health endpoint "${this.name}" could not listen on ${this.address}: ${this.cause.message}`
  }
}

/**
 * The default address: loopback, the port Prometheus exporters use.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultAddress = "127.0.0.1:9464"

const splitAddress = (address: string): { readonly host: string; readonly port: number } | undefined => {
  const at = address.lastIndexOf(":")
  const port = Number(address.slice(at + 1))
  const host = address.slice(0, at).replace(/^\[(.*)\]$/, "$1")
  return at > 0 && Number.isInteger(port) && port >= 0 && port <= 65535 ? { host, port } : undefined
}

/**
 * Listens and serves the endpoints. Closing the scope sends it a stop request:
 * it stops accepting connections and ends once the open ones are done.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (
  spec: Spec = {}
): Effect.Effect<HealthServer, HealthBindError, Scope.Scope | SupervisorState | SupervisorMetrics> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const state = yield* SupervisorState
      const metrics = yield* SupervisorMetrics
      const name = spec.name ?? "health"
      const address = spec.address ?? defaultAddress
      const reply = (response: Http.ServerResponse, status: number, body: string, type = "text/plain; charset=utf-8") =>
        response.writeHead(status, { "content-type": type, "cache-control": "no-store" }).end(body)
      // Loaded here, not at the top: importing node:http also loads Node's fetch (undici), ~15 ms,
      // which a supervisor without a health endpoint should not pay at start-up.
      const { createServer } = yield* Effect.promise(() => import("node:http"))
      const server = createServer((request, response) => {
        const path = (request.url ?? "/").split("?")[0]
        if (request.method !== "GET" && request.method !== "HEAD") return reply(response, 405, "method not allowed\n")
        const phase = state.phaseUnsafe()
        switch (path) {
          case "/livez":
            return reply(response, 200, `ok: ${phase}\n`)
          case "/readyz":
            return reply(response, phase === "ready" ? 200 : 503, `${phase === "ready" ? "ready" : `not ready: ${phase}`}\n`)
          case "/metrics": {
            const registry = metrics.registry
            if (registry === undefined) return reply(response, 404, "no metrics kept\n")
            return void registry.metrics().then(
              (body) => reply(response, 200, body, registry.contentType),
              (error: Error) => reply(response, 500, `${error.message}\n`)
            )
          }
          default:
            return reply(response, 404, "not found; try /livez, /readyz or /metrics\n")
        }
      })
      const port = yield* restore(Effect.callback<number, HealthBindError>((resume) => {
        const where = splitAddress(address)
        const fail = (cause: Error) => resume(Effect.fail(new HealthBindError({ name, address, cause })))
        if (where === undefined) return fail(new Error("not a host:port address"))
        server.once("error", fail)
        server.listen(where.port, where.host, () => {
          server.off("error", fail)
          resume(Effect.succeed((server.address() as Net.AddressInfo).port))
        })
        // Interrupted while it binds: no port stays open.
        return Effect.sync(() => server.close())
      }))
      const exit = yield* Deferred.make<Member.End>()
      const member = Member.make({
        name,
        kind: "server",
        exit,
        onStopRequest: Effect.sync(() => {
          server.close(() => Deferred.doneUnsafe(exit, Effect.succeed(Member.End.Closed())))
          server.closeIdleConnections()
        }),
        onForce: Effect.sync(() => server.closeAllConnections())
      })
      yield* Effect.addFinalizer(() => member.requestStop)
      const health: HealthServer = { ...member, port }
      yield* Member.register(health)
      return health
    })
  )
