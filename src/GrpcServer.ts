/**
 * A parent-local `@grpc/grpc-js` server as a scoped resource. Its stop request
 * is `tryShutdown` (in-flight calls finish, new ones are refused); its force is
 * `forceShutdown`.
 *
 * @since 0.1.0
 */
import * as Grpc from "@grpc/grpc-js"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Member from "./Member.ts"

/**
 * @since 0.1.0
 * @category models
 */
export interface Spec {
  readonly name: string
  /** `host:port`; port 0 picks a free port, reported in {@link GrpcServer.port}. */
  readonly address: string
  /** Adds the services to the server before it binds. */
  readonly register: (server: Grpc.Server) => void
  /** Defaults to insecure credentials, for loopback and in-cluster traffic behind a mesh. */
  readonly credentials?: Grpc.ServerCredentials | undefined
  readonly options?: Grpc.ServerOptions | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface GrpcServer extends Member.Member {
  readonly server: Grpc.Server
  readonly port: number
}

/**
 * The server could not bind its address (in use, not local, malformed).
 *
 * @since 0.1.0
 * @category errors
 */
export class GrpcBindError extends Data.TaggedError("GrpcBindError")<{
  readonly name: string
  readonly address: string
  readonly cause: Error
}> {
  // Through a supervisor it is the outcome, logged as such: runMain need not print it again.
  override readonly [Runtime.errorReported] = false
  override get message(): string {
    return `gRPC server "${this.name}" could not bind ${this.address}: ${this.cause.message}`
  }
}

const bind = (spec: Spec) =>
  Effect.callback<readonly [Grpc.Server, number], GrpcBindError>((resume) => {
    const server = new Grpc.Server(spec.options)
    let abandoned = false
    spec.register(server)
    server.bindAsync(spec.address, spec.credentials ?? Grpc.ServerCredentials.createInsecure(), (error, port) => {
      if (error === null && !abandoned) {
        resume(Effect.succeed([server, port]))
      } else {
        // Failed, or bound after its caller stopped waiting: either way no port stays open.
        server.forceShutdown()
        if (error !== null) resume(Effect.fail(new GrpcBindError({ name: spec.name, address: spec.address, cause: error })))
      }
    })
    return Effect.sync(() => {
      abandoned = true
    })
  })

/**
 * Binds and starts the server. Closing the scope sends it a stop request. An
 * interruption during the bind leaves no port open.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (spec: Spec): Effect.Effect<GrpcServer, GrpcBindError, Scope.Scope> =>
  Effect.uninterruptibleMask((restore) => Effect.gen(function*() {
    const [server, port] = yield* restore(bind(spec))
    const exit = yield* Deferred.make<Member.End>()
    const markClosed = () => Deferred.doneUnsafe(exit, Effect.succeed(Member.End.Closed()))
    const member = Member.make({
      name: spec.name,
      kind: "server",
      exit,
      onStopRequest: Effect.sync(() => server.tryShutdown(markClosed)),
      onForce: Effect.sync(() => {
        server.forceShutdown()
        markClosed()
      })
    })
    yield* Effect.addFinalizer(() => member.requestStop)
    const grpcServer: GrpcServer = { ...member, server, port }
    yield* Member.register(grpcServer)
    return grpcServer
  }))
