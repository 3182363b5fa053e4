// The example's gRPC services, defined by hand with JSON messages: no .proto
// file and no code generation. A production service would use protobuf
// (@grpc/proto-loader); the supervision does not care either way.
import * as Grpc from "@grpc/grpc-js"

export type JobState = "queued" | "running" | "done"

export interface Job {
  readonly id: number
  readonly name: string
  readonly state: JobState
  /** How many times a worker claimed it; more than 1 only after a crash let its lease expire. */
  readonly attempts: number
  readonly createdAt: string
  readonly finishedAt: string | null
  readonly result: string | null
}

export interface SubmitJobRequest {
  readonly name: string
  /** Submitting the same key twice returns the first job: safe client retries. */
  readonly key?: string
}
export interface GetJobRequest {
  readonly id: number
  /** Waits up to this long for the job to be done (a long poll); 0 answers at once. */
  readonly waitMs?: number
}
export interface ListJobsRequest {
  readonly state?: JobState
  readonly limit?: number
}
export interface ListJobsResponse {
  readonly jobs: ReadonlyArray<Job>
}
export interface HealthResponse {
  readonly status: "SERVING" | "NOT_SERVING"
  readonly childrenAlive: number
  readonly childrenExpected: number
  readonly jobs: Record<JobState, number>
}

const serialize = (value: unknown): Buffer => Buffer.from(JSON.stringify(value))
const deserialize = (bytes: Buffer): any => JSON.parse(bytes.toString("utf8"))

const unary = (path: string) => ({
  path,
  requestStream: false,
  responseStream: false,
  requestSerialize: serialize,
  requestDeserialize: deserialize,
  responseSerialize: serialize,
  responseDeserialize: deserialize
})

/** The API the workers serve. */
export const JobsService = {
  submitJob: unary("/example.Jobs/SubmitJob"),
  getJob: unary("/example.Jobs/GetJob"),
  listJobs: unary("/example.Jobs/ListJobs")
} satisfies Grpc.ServiceDefinition

/** The parent's own admin service. */
export const AdminService = {
  health: unary("/example.Admin/Health")
} satisfies Grpc.ServiceDefinition

export const JobsClient = Grpc.makeGenericClientConstructor(JobsService, "Jobs")
export const AdminClient = Grpc.makeGenericClientConstructor(AdminService, "Admin")

/** Calls a unary method as a promise. */
export const call = <Res>(client: Grpc.Client, method: string, request: unknown, deadlineMs = 30_000): Promise<Res> =>
  new Promise((resolve, reject) =>
    (client as any)[method](request, { deadline: Date.now() + deadlineMs }, (error: Grpc.ServiceError | null, response: Res) =>
      error === null ? resolve(response) : reject(error))
  )
