// Measures what a rolling update looks like from outside the pod: starts the service
// (DRAIN_DELAY=2 unless set), probes /readyz every 10 ms as an impatient kubelet would,
// calls api-1 every 50 ms as a lagging load balancer would, sends SIGTERM once it is
// ready, and prints when each step happened.
//   node examples/service/timeline.ts          (or DRAIN_DELAY=5 GRACEFUL_SHUTDOWN_TIMEOUT=20 ...)
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { call, JobsClient } from "./protocol.ts"
import * as Grpc from "@grpc/grpc-js"

const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "timeline-"))
const service = ChildProcess.spawn(process.execPath, [new URL("main.ts", import.meta.url).pathname], {
  env: { API_PORT: "0", ADMIN_PORT: "0", METRICS_PORT: "0", DRAIN_DELAY: "2", ...process.env, DATA_DIR: dataDir },
  stdio: ["ignore", "pipe", "inherit"]
})
const lines: Array<{ readonly at: number; readonly text: string }> = []
const waiters: Array<() => void> = []
let partial = ""
service.stdout.on("data", (chunk: Buffer) => {
  const parts = (partial + chunk.toString()).split("\n")
  partial = parts.pop()!
  for (const text of parts) lines.push({ at: Date.now(), text })
  waiters.splice(0).forEach((wake) => wake())
})
const exited = new Promise<number | null>((resolve) => service.on("close", (code) => resolve(code)))
const waitFor = async (pattern: RegExp): Promise<RegExpMatchArray> => {
  while (true) {
    const found = lines.map((line) => line.text.match(pattern)).find((match) => match !== null)
    if (found) return found
    await new Promise<void>((resolve) => waiters.push(resolve))
  }
}

const healthPort = Number((await waitFor(/health on http:\/\/127\.0\.0\.1:(\d+)/))[1])
const apiPort = Number((await waitFor(/^\[api-1\] listening on 127\.0\.0\.1:(\d+)/))[1])
await waitFor(/ INFO \(#\d+\): ready: /)

let stopped = false
const probes: Array<{ readonly at: number; readonly status: number }> = []
const probing = (async () => {
  while (!stopped) {
    const status = await fetch(`http://127.0.0.1:${healthPort}/readyz`).then((response) => response.status, () => 0)
    probes.push({ at: Date.now(), status })
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
})()
const calls: Array<{ readonly at: number; readonly ok: boolean }> = []
const calling = (async () => {
  while (!stopped) {
    // A new connection each time, as requests routed to this pod by a node that has not heard yet.
    const client = new JobsClient(`127.0.0.1:${apiPort}`, Grpc.credentials.createInsecure())
    const ok = await call(client, "listJobs", { limit: 1 }, 1_000).then(() => true, () => false)
    client.close()
    calls.push({ at: Date.now(), ok })
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
})()

await new Promise((resolve) => setTimeout(resolve, 500))
const signalledAt = Date.now()
service.kill("SIGTERM")
const code = await exited
const exitedAt = Date.now()
stopped = true
await Promise.all([probing, calling])
Fs.rmSync(dataDir, { recursive: true, force: true })

// A child logs "[hh:mm:ss.mmm] INFO (#1): received SIGTERM, draining" at the moment its stop request came.
const clockOf = (text: string) => {
  const [, h, m, s, ms] = text.match(/\[(\d\d):(\d\d):(\d\d)\.(\d\d\d)\]/)!
  return new Date(signalledAt).setHours(Number(h), Number(m), Number(s), Number(ms))
}
const stopRequests = lines.filter((line) => /^\[[\w-]+\] \[.*received SIGTERM, draining/.test(line.text))
const firstStop = Math.min(...stopRequests.map((line) => clockOf(line.text)))
const after = (at: number) => `+${String(at - signalledAt).padStart(5)} ms`
const first503 = probes.find((probe) => probe.at >= signalledAt && probe.status !== 200)
const lastReady = probes.filter((probe) => probe.status === 200).at(-1)
const lastAnswered = calls.filter((entry) => entry.ok).at(-1)
const firstRefused = calls.find((entry) => entry.at >= signalledAt && !entry.ok)
const timeline: Array<[number, string]> = [
  [signalledAt, `SIGTERM to the parent (pid ${service.pid})`],
  [firstStop, "first stop request seen by a child (its own log line)"],
  [exitedAt, `exit ${code}`]
]
if (lastReady) timeline.push([lastReady.at, "/readyz answers 200 for the last time"])
if (first503) timeline.push([first503.at, `/readyz answers ${first503.status === 0 ? "nothing" : first503.status} for the first time`])
if (lastAnswered) timeline.push([lastAnswered.at, "last RPC to api-1 answered"])
if (firstRefused) timeline.push([firstRefused.at, "first RPC to api-1 refused"])

console.log(lines.filter((line) => line.at >= signalledAt).map((line) => line.text).join("\n"))
console.log()
for (const [at, what] of timeline.sort(([a], [b]) => a - b)) console.log(`${after(at)}  ${what}`)
