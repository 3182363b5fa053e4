// A one-method gRPC service with JSON messages, so tests need no .proto file:
// Slow.Wait answers only when the test releases it.
import * as Grpc from "@grpc/grpc-js"

const json = {
  serialize: (value: unknown) => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes: Buffer) => JSON.parse(bytes.toString())
}

export const slowService: Grpc.ServiceDefinition = {
  wait: {
    path: "/test.Slow/Wait",
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize
  }
}

export interface SlowCalls {
  /** Resolves when a call has reached the handler. */
  readonly arrived: Promise<void>
  /** Lets every held call answer. */
  readonly release: () => void
  readonly register: (server: Grpc.Server) => void
}

export const slowCalls = (): SlowCalls => {
  let arrive!: () => void
  let release!: () => void
  const arrived = new Promise<void>((resolve) => (arrive = resolve))
  const released = new Promise<void>((resolve) => (release = resolve))
  return {
    arrived,
    release,
    register: (server) =>
      server.addService(slowService, {
        wait: (call: Grpc.ServerUnaryCall<{ id: number }, unknown>, callback: Grpc.sendUnaryData<unknown>) => {
          arrive()
          void released.then(() => callback(null, { id: call.request.id, done: true }))
        }
      })
  }
}

const SlowClient = Grpc.makeGenericClientConstructor(slowService, "Slow")

/** Calls Slow.Wait and settles with the reply or the gRPC status code of the failure. */
export const callWait = (port: number, id: number): Promise<{ readonly reply?: unknown; readonly code?: Grpc.status }> => {
  const client = new SlowClient(`127.0.0.1:${port}`, Grpc.credentials.createInsecure())
  return new Promise((resolve) => {
    client.wait({ id }, (error: Grpc.ServiceError | null, reply: unknown) => {
      client.close()
      resolve(error === null ? { reply } : { code: error.code })
    })
  })
}
