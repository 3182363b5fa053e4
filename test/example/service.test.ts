// The example service as a user meets it: real processes, loopback only.
// Tests 2-5 share one data folder, so the restart in 5 checks what 2-4 left.
import * as Grpc from "@grpc/grpc-js"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import { DatabaseSync } from "node:sqlite"
import { assert, describe, it } from "vitest"
import type { Job, ListJobsResponse } from "../../examples/service/protocol.ts"
import { tempFile } from "../helpers/processes.ts"
import { allGone, call, jobsClient, mainModule, ready, start } from "./service.ts"

const sharedData = tempFile("data")
const database = () => new DatabaseSync(`${sharedData}/jobs.sqlite`, { readOnly: true })

describe("the example service", () => {
  it("1. serves the API: 20 jobs submitted through both workers all reach done; /metrics shows 4 children", async () => {
    const service = start({ DATA_DIR: tempFile("data-1") })
    try {
      const up = await ready(service)
      const clients = up.apiPorts.map(jobsClient)
      const submitted = await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          call<Job>(clients[index % clients.length], "submitJob", { name: `job ${index}` }))
      )
      assert.strictEqual(new Set(submitted.map((job) => job.id)).size, 20)
      const finished = await Promise.all(
        submitted.map((job) => call<Job>(clients[0], "getJob", { id: job.id, waitMs: 10_000 }))
      )
      assert.deepStrictEqual(finished.map((job) => [job.state, job.attempts]), submitted.map(() => ["done", 1]))
      const list = await call<ListJobsResponse>(clients[1], "listJobs", { state: "done", limit: 100 })
      assert.isAtLeast(list.jobs.length, 20)

      const metrics = await (await fetch(`http://127.0.0.1:${up.metricsPort}/metrics`)).text()
      assert.match(metrics, /^supervised_children_alive 4$/m)
      const health = await fetch(`http://127.0.0.1:${up.metricsPort}/healthz`)
      assert.strictEqual(health.status, 200)
      clients.forEach((client) => client.close())

      process.kill(service.pid, "SIGTERM")
      assert.deepStrictEqual(await service.exited, { code: 0, signal: null })
    } finally {
      service.cleanup()
    }
  })

  it("2. SIGTERM with a 30 s long poll open and a job running: the poll is answered at once, the job completes, nothing lost, exit 0", async () => {
    const service = start({ DATA_DIR: sharedData, WORK_MS: "1500" })
    try {
      const up = await ready(service)
      const client = jobsClient(up.apiPorts[0])
      // The periodic job comes first; submit after it so ours is the next one claimed.
      await service.waitFor(/^\[worker\] job \d+ done/)
      const running = await call<Job>(client, "submitJob", { name: "long job" })
      await service.waitFor(new RegExp(`^\\[worker\\] job ${running.id} started`))
      const queued = await call<Job>(client, "submitJob", { name: "queued job" })
      // A long poll of 30 s: it would hold api-1 past the 5 s budget if the drain waited for it.
      const poll = call<Job>(client, "getJob", { id: running.id, waitMs: 30_000 }, 60_000)
      await service.waitFor(new RegExp(`^\\[api-1\\] job ${running.id}: waiting up to 30000 ms`))

      const signalledAt = Date.now()
      process.kill(service.pid, "SIGTERM")
      // Answered as the drain starts, with the job as it is: still running (it takes 1.5 s).
      const answered = await poll
      assert.strictEqual(answered.state, "running")
      assert.isBelow(Date.now() - signalledAt, 1_000)
      await service.waitFor(new RegExp(`^\\[api-1\\] job ${running.id}: answered running, draining`))
      await service.waitFor(/^\[api-1\] refusing new calls/)
      const late = jobsClient(up.apiPorts[0])
      const refused = await call<Job>(late, "listJobs", {}, 2_000).then(() => undefined, (error) => error)
      late.close()
      assert.strictEqual(refused?.code, Grpc.status.UNAVAILABLE)

      client.close()
      assert.deepStrictEqual(await service.exited, { code: 0, signal: null })
      assert.isBelow(Date.now() - signalledAt, 5_000)
      const output = service.output().join("\n")
      assert.match(output, /shutdown: received SIGTERM, shutting down; drained in \d+ ms, within the 5000 ms budget/)
      assert.match(output, /child api-1 \(pid \d+\): stopped in \d+ ms, exited with code 0/)
      assert.notMatch(output, /forced/)
      await allGone([service.pid, ...service.childPids()], 1_000)

      // The job in hand was finished during the drain; the one behind it waits for the next start.
      const db = database()
      const rows = db.prepare("SELECT id, state, attempts FROM jobs WHERE id IN (?, ?) ORDER BY id").all(running.id, queued.id)
      db.close()
      assert.deepStrictEqual(rows.map((row) => ({ ...row })), [
        { id: running.id, state: "done", attempts: 1 },
        { id: queued.id, state: "queued", attempts: 0 }
      ])
    } finally {
      service.cleanup()
    }
  })

  it("3. SIGKILL of an API worker tears everything down: exit 1, the worker and the signal named, nothing left", async () => {
    const service = start({ DATA_DIR: sharedData })
    try {
      const up = await ready(service)
      const victim = up.apiPid("api-1")
      process.kill(victim, "SIGKILL")
      assert.deepStrictEqual(await service.exited, { code: 1, signal: null })
      assert.match(service.output().join("\n"), new RegExp(`child api-1 \\(pid ${victim}\\) exited on its own by signal SIGKILL`))
      await allGone([service.pid, ...service.childPids()], 1_000)
    } finally {
      service.cleanup()
    }
  })

  it("4. SIGKILL of the parent: every child notices on its lifeline and exits within 2 s, the job in hand done", async () => {
    const service = start({ DATA_DIR: sharedData, WORK_MS: "500" })
    try {
      const up = await ready(service)
      const client = jobsClient(up.apiPorts[1])
      const job = await call<Job>(client, "submitJob", { name: "orphaned job" })
      client.close()
      await service.waitFor(new RegExp(`^\\[worker\\] job ${job.id} started`))
      const children = service.childPids()
      assert.strictEqual(children.length, 4)
      process.kill(service.pid, "SIGKILL")
      await service.exited
      const tookMs = await allGone(children, 2_000)
      assert.isBelow(tookMs, 2_000)
      const db = database()
      const row = db.prepare("SELECT state, attempts FROM jobs WHERE id = ?").get(job.id)
      db.close()
      assert.deepStrictEqual({ ...row }, { state: "done", attempts: 1 })
    } finally {
      service.cleanup()
    }
  })

  it("5. a restart after 2-4 loses and duplicates nothing: every job done once", async () => {
    const service = start({ DATA_DIR: sharedData })
    try {
      const up = await ready(service)
      const client = jobsClient(up.apiPorts[0])
      // Test 2 left a job queued; whichever start came next ran it.
      const all = await call<ListJobsResponse>(client, "listJobs", { limit: 1000 })
      assert.isAtLeast(all.jobs.length, 4)
      for (const job of all.jobs) {
        assert.strictEqual((await call<Job>(client, "getJob", { id: job.id, waitMs: 10_000 })).state, "done")
      }
      client.close()
      process.kill(service.pid, "SIGTERM")
      assert.strictEqual((await service.exited).code, 0)

      const db = database()
      const jobs = db.prepare("SELECT id, name, state, attempts FROM jobs ORDER BY id").all()
      const completions = db.prepare("SELECT job_id, count(*) AS n FROM completions GROUP BY job_id").all()
      db.close()
      assert.deepStrictEqual(jobs.filter((job) => job.state !== "done"), [])
      assert.deepStrictEqual(jobs.filter((job) => job.attempts !== 1), [])
      assert.deepStrictEqual(completions.map((row) => row.job_id), jobs.map((job) => job.id))
      assert.isTrue(completions.every((row) => row.n === 1))
      // The scheduler's slot key kept its periodic job to one per slot across the restarts.
      assert.strictEqual(jobs.filter((job) => job.name === "periodic cleanup").length, 1)
    } finally {
      service.cleanup()
    }
  })

  describe("6. bad configuration: one clear line, exit 1, nothing started", () => {
    const run = (env: Record<string, string>) =>
      ChildProcess.spawnSync(process.execPath, [mainModule], {
        env: { ...process.env, API_PORT: "0", ADMIN_PORT: "0", METRICS_PORT: "0", DATA_DIR: tempFile("data-6"), ...env },
        encoding: "utf8",
        timeout: 10_000
      })

    const expectRefused = (result: ChildProcess.SpawnSyncReturns<string>, message: RegExp) => {
      assert.strictEqual(result.status, 1, result.stderr)
      assert.match(result.stderr.trim(), message)
      assert.strictEqual(result.stderr.trim().split("\n").length, 1, result.stderr)
      assert.notMatch(result.stdout, /\[(api|worker|scheduler)/)
    }

    it("a budget that is not a number", () =>
      expectRefused(
        run({ GRACEFUL_SHUTDOWN_TIMEOUT: "abc" }),
        /^config error: GRACEFUL_SHUTDOWN_TIMEOUT must be a positive number of seconds; got "abc"$/
      ))

    it("a port that is not a port", () =>
      expectRefused(run({ API_PORT: "70000" }), /^config error: API_PORT must be a port/))

    it("a port in use", async () => {
      const holder = Net.createServer()
      await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve))
      try {
        const port = (holder.address() as Net.AddressInfo).port
        expectRefused(
          run({ ADMIN_PORT: String(port) }),
          new RegExp(`^config error: ADMIN_PORT: 127\\.0\\.0\\.1:${port} is not available \\(EADDRINUSE\\)$`)
        )
      } finally {
        holder.close()
      }
    })

    it("a data folder that cannot be written", () => {
      // Below a regular file: unwritable even for root.
      const file = tempFile("not-a-folder")
      Fs.writeFileSync(file, "")
      expectRefused(run({ DATA_DIR: `${file}/data` }), /^config error: DATA_DIR .*: cannot create .*jobs\.sqlite: ENOTDIR/)
    })
  })
})
