// A small command-line client for the example service.
//   npm run client -- submit "resize photo"      queue a job
//   npm run client -- get 3 [--wait 5000]        one job (optionally wait until it is done)
//   npm run client -- list [queued|running|done] the latest jobs
//   npm run client -- health                     the parent's admin service
// API_ADDRESS (default 127.0.0.1:50061) and ADMIN_ADDRESS (default 127.0.0.1:50060) pick the servers.
import * as Grpc from "@grpc/grpc-js"
import { AdminClient, call, type HealthResponse, type Job, JobsClient, type ListJobsResponse } from "./protocol.ts"

const [command, ...args] = process.argv.slice(2)
const credentials = Grpc.credentials.createInsecure()
const jobs = () => new JobsClient(process.env.API_ADDRESS ?? "127.0.0.1:50061", credentials)

const show = (job: Job) =>
  `job ${job.id}  ${job.state.padEnd(7)}  attempts ${job.attempts}  ${job.name}${job.result ? `  -> ${job.result}` : ""}`

const usage = `usage: client submit <name> | get <id> [--wait <ms>] | list [queued|running|done] | health`

const run = async (): Promise<string> => {
  switch (command) {
    case "submit": {
      if (args[0] === undefined) throw new Error(usage)
      return `submitted ${show(await call<Job>(jobs(), "submitJob", { name: args.join(" ") }))}`
    }
    case "get": {
      const waitAt = args.indexOf("--wait")
      const waitMs = waitAt === -1 ? 0 : Number(args[waitAt + 1] ?? 10_000)
      return show(await call<Job>(jobs(), "getJob", { id: Number(args[0]), waitMs }, waitMs + 30_000))
    }
    case "list": {
      const response = await call<ListJobsResponse>(jobs(), "listJobs", args[0] ? { state: args[0] } : {})
      return response.jobs.length === 0 ? "no jobs" : response.jobs.map(show).join("\n")
    }
    case "health": {
      const client = new AdminClient(process.env.ADMIN_ADDRESS ?? "127.0.0.1:50060", credentials)
      const health = await call<HealthResponse>(client, "health", {})
      return `${health.status}: ${health.childrenAlive}/${health.childrenExpected} children alive; jobs ${JSON.stringify(health.jobs)}`
    }
    default:
      throw new Error(usage)
  }
}

run().then(
  (output) => {
    console.log(output)
    process.exit(0)
  },
  (error: Error & { details?: string }) => {
    console.error(error.details ?? error.message)
    process.exit(1)
  }
)
