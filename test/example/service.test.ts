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
import { accepts, allGone, call, freeConsecutivePorts, jobsClient, mainModule, probe, ready, start } from "./service.ts"

const sharedData = tempFile("data")
const database = () => new DatabaseSync(`${sharedData}/jobs.sqlite`, { readOnly: true })

describe("the example service", () => {
  it("1. serves the API: 20 jobs submitted through both workers all reach done; /metrics shows 4 children, ready", async () => {
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

      const metrics = await probe(up.healthPort, "/metrics")
      assert.match(metrics.body, /^supervised_children_alive 4$/m)
      assert.match(metrics.body, /^supervised_children_ready 4$/m)
      assert.match(metrics.body, /^example_jobs\{state="done"\} \d+$/m)
      assert.deepStrictEqual(await probe(up.healthPort, "/readyz"), { status: 200, body: "ready\n" })
      assert.deepStrictEqual(await probe(up.healthPort, "/livez"), { status: 200, body: "ok: ready\n" })
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

  it("6. readiness: /readyz is 503 until every child is ready, then 200, and by then every API port accepts connections", async () => {
    const apiPort = await freeConsecutivePorts(2)
    const service = start({ DATA_DIR: tempFile("data-6"), API_PORT: String(apiPort) })
    try {
      const [health] = await service.waitFor(/health on http:\/\/127\.0\.0\.1:(\d+)/)
      const port = Number(health[1])
      // The health endpoint listens as soon as the children are spawned; they take a while to bind.
      assert.deepStrictEqual(await probe(port, "/readyz"), { status: 503, body: "not ready: starting\n" })
      // Probed as a kubelet would, until it says ready.
      let reply = await probe(port, "/readyz")
      while (reply.status === 503) {
        assert.strictEqual(reply.body, "not ready: starting\n")
        await new Promise((resolve) => setTimeout(resolve, 10))
        reply = await probe(port, "/readyz")
      }
      assert.deepStrictEqual(reply, { status: 200, body: "ready\n" })
      assert.deepStrictEqual(await Promise.all([accepts(apiPort), accepts(apiPort + 1)]), [true, true])
      await service.waitFor(/ INFO \(#\d+\): ready: 4 children and 2 servers/)
      process.kill(service.pid, "SIGTERM")
      assert.deepStrictEqual(await service.exited, { code: 0, signal: null })
    } finally {
      service.cleanup()
    }
  })

  it("7. DRAIN_DELAY=1: not ready from the signal on, an RPC 0.5 s after SIGTERM is still answered, exit 0 with the delay reported", async () => {
    const service = start({ DATA_DIR: tempFile("data-7"), DRAIN_DELAY: "1" })
    try {
      const up = await ready(service)
      assert.deepStrictEqual(await probe(up.healthPort, "/readyz"), { status: 200, body: "ready\n" })
      process.kill(service.pid, "SIGTERM")
      await service.waitFor(/received SIGTERM: not ready any more; the members keep serving 1000 ms before their stop requests/)
      assert.deepStrictEqual(await probe(up.healthPort, "/readyz"), { status: 503, body: "not ready: draining\n" })

      // Half-way through the delay, a request as a lagging load balancer would still send it: a new connection.
      await new Promise((resolve) => setTimeout(resolve, 500))
      const client = jobsClient(up.apiPorts[0])
      const job = await call<Job>(client, "submitJob", { name: "during the delay" }, 2_000)
      client.close()
      assert.strictEqual(job.state, "queued")
      assert.deepStrictEqual(await probe(up.healthPort, "/readyz"), { status: 503, body: "not ready: draining\n" })

      assert.deepStrictEqual(await service.exited, { code: 0, signal: null })
      const output = service.output()
      // api-1 took the request before its stop request came.
      const submitted = output.findIndex((line) => line === `[api-1] job ${job.id} submitted: during the delay`)
      const stopping = output.findIndex((line) => /^\[api-1\] .*received SIGTERM, draining/.test(line))
      assert.isAtLeast(submitted, 0)
      assert.isAbove(stopping, submitted)
      assert.match(
        output.join("\n"),
        /shutdown: received SIGTERM, shutting down; kept serving 1\d{3} ms \(drain delay\), then drained in \d+ ms, within the 5000 ms budget/
      )
      assert.notMatch(output.join("\n"), /forced/)
    } finally {
      service.cleanup()
    }
  })

  describe("8. bad configuration: one clear line per problem, every problem, exit 1, nothing started", () => {
    const run = (env: Record<string, string>) =>
      ChildProcess.spawnSync(process.execPath, [mainModule], {
        env: { ...process.env, API_PORT: "0", ADMIN_PORT: "0", METRICS_PORT: "0", DATA_DIR: tempFile("data-8"), ...env },
        encoding: "utf8",
        timeout: 10_000
      })

    const expectRefused = (result: ChildProcess.SpawnSyncReturns<string>, ...lines: ReadonlyArray<RegExp>) => {
      assert.strictEqual(result.status, 1, result.stderr)
      const printed = result.stderr.trim().split("\n")
      assert.strictEqual(printed.length, lines.length, result.stderr)
      lines.forEach((line, index) => assert.match(printed[index], line))
      assert.notMatch(result.stdout, /\[(api|worker|scheduler)/)
    }

    it("a budget that is not a duration", () =>
      expectRefused(
        run({ GRACEFUL_SHUTDOWN_TIMEOUT: "abc" }),
        /^config error: GRACEFUL_SHUTDOWN_TIMEOUT must be a positive number of seconds \(such as 10 or 2\.5\) or of milliseconds \(such as 500ms\); got "abc"$/
      ))

    it("a port that is not a port", () =>
      expectRefused(run({ API_PORT: "70000" }), /^config error: API_PORT must be a port \(0-65535; 0 picks a free one\); got "70000"$/))

    it("two bad variables at once: both reported, one line each", () =>
      expectRefused(
        run({ API_WORKERS: "many", DRAIN_DELAY: "-1" }),
        /^config error: API_WORKERS must be a whole number from 1 to 32; got "many"$/,
        /^config error: DRAIN_DELAY must be a number of seconds \(such as 5 or 2\.5; 0 for none\) or of milliseconds \(such as 500ms\); got "-1"$/
      ))

    it("a drain delay not shorter than the budget it comes out of", () =>
      expectRefused(
        run({ DRAIN_DELAY: "5", GRACEFUL_SHUTDOWN_TIMEOUT: "5" }),
        /^config error: DRAIN_DELAY \(5s\) must be shorter than GRACEFUL_SHUTDOWN_TIMEOUT \(5s\), the budget it comes out of$/
      ))

    it("ports that clash", () =>
      expectRefused(
        run({ ADMIN_PORT: "50070", METRICS_PORT: "50070" }),
        /^config error: ADMIN_PORT 50070 and METRICS_PORT 50070 must differ from each other and from the API ports/
      ))

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

    it("a data folder that cannot be written, and a port in use: both reported", async () => {
      // Below a regular file: unwritable even for root.
      const file = tempFile("not-a-folder")
      Fs.writeFileSync(file, "")
      const holder = Net.createServer()
      await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve))
      try {
        const port = (holder.address() as Net.AddressInfo).port
        expectRefused(
          run({ DATA_DIR: `${file}/data`, METRICS_PORT: String(port) }),
          /^config error: DATA_DIR .*: cannot create .*jobs\.sqlite: ENOTDIR/,
          new RegExp(`^config error: METRICS_PORT: 127\\.0\\.0\\.1:${port} is not available \\(EADDRINUSE\\)$`)
        )
      } finally {
        holder.close()
      }
    })
  })
})
