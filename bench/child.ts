// The bench child: a tiny program that logs, with process.hrtime.bigint() (the
// machine-wide monotonic clock, comparable across processes), when it started,
// when it got SIGTERM, when it finished draining and when it exits on its own.
// Lines "<event> <name> <pid> <ns>" are appended to BENCH_LOG (O_APPEND: whole lines).
//   NAME, BENCH_LOG
//   DRAIN_MS        drain length after SIGTERM (default 0)
//   IGNORE_SIGTERM  "1": logs the SIGTERM and keeps running
//   EXIT_ON_USR2    exits on its own with this code when it gets SIGUSR2 (the runner's "random moment")
import * as Fs from "node:fs"

const env = process.env
const log = (event: string) =>
  Fs.appendFileSync(env.BENCH_LOG!, `${event} ${env.NAME} ${process.pid} ${process.hrtime.bigint()}\n`)
const keepAlive = setInterval(() => {}, 1 << 30)

process.on("SIGTERM", () => {
  log("sigterm")
  if (env.IGNORE_SIGTERM === "1") return
  setTimeout(() => {
    log("drained")
    clearInterval(keepAlive)
    process.exit(0)
  }, Number(env.DRAIN_MS ?? 0))
})

if (env.EXIT_ON_USR2 !== undefined) {
  process.on("SIGUSR2", () => {
    log("exit")
    process.exit(Number(env.EXIT_ON_USR2))
  })
}

log("start")
