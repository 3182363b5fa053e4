import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Effect from "effect/Effect"

const run = Command.make("run", {
  grace: Flag.String("grace").pipe(Flag.withDescription("the shared budget"), Flag.withDefault("10s")),
  procfile: Flag.String("procfile").pipe(Flag.optional),
  scale: Flag.String("scale").pipe(Flag.atLeast(0)),
  shell: Flag.Boolean("shell"),
  commands: Argument.String("command").pipe(Argument.variadic())
}, (config) => Effect.sync(() => console.log(JSON.stringify(config)))).pipe(Command.withDescription("Run commands under one-for-all supervision"))

const cli = Command.make("effect-supervise").pipe(Command.withSubcommands([run]))
const main = Command.run(cli, { version: "0.2.0" })
NodeRuntime.runMain(main.pipe(Effect.provide(NodeServices.layer)))
