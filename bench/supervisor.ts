// Our side of the bench: a supervising parent as the README shows it, with the
// children of BENCH_CONFIG (a JSON file { budgetMs, children: [{ name, env, command?, args? }] };
// without a command, a child is `node bench/child.ts`).
// Exit codes: 0 drained after a signal, 1 a child exited on its own, 124 forced.
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import { Child, NodeSupervisor, Supervisor } from "../src/index.ts"

interface Config {
  readonly budgetMs: number
  readonly children: ReadonlyArray<
    { readonly name: string; readonly env: Record<string, string>; readonly command?: string; readonly args?: Array<string> }
  >
}
const config: Config = JSON.parse(Fs.readFileSync(process.env.BENCH_CONFIG!, "utf8"))
const module = new URL("child.ts", import.meta.url).pathname

const program = Effect.gen(function*() {
  // Ablation (off by default): BENCH_WARM_LOGGER=1 logs once at start-up, so the
  // logger's first, cold call is not the one made between a child's exit and the stop requests.
  if (process.env.BENCH_WARM_LOGGER === "1") yield* Effect.logInfo(`supervising ${config.children.length} children`)
  return yield* Supervisor.run({
    children: config.children.map(({ args, command, env, name }) =>
      command === undefined
        ? Child.make({ name, module, env, stdio: "inherit" })
        : Child.make({ name, command, args: args ?? [], env, stdio: "inherit" })
    ),
    budget: config.budgetMs
  })
})

NodeSupervisor.runMain(program)
