/**
 * How the command line shows what its parser has to say: bad input in one
 * line on stderr, the help and the version on stdout.
 *
 * @since 0.2.0
 */
import * as CliOutput from "effect/cli/CliOutput"
import * as Effect from "effect/Effect"
import * as Prefix from "./Prefix.ts"

/**
 * Where to find help, after a one-line error: `(effect-supervise run --help shows the flags)`.
 *
 * @since 0.2.0
 * @category presenting
 */
export const hint = (commandPath: ReadonlyArray<string>): string => `(${[...commandPath, "--help"].join(" ")} shows the flags)`

/**
 * Bad input in one line on stderr, not drowned in the whole help text; the
 * help and the version on stdout when asked for, coloured as the process's
 * output is.
 *
 * @since 0.2.0
 * @category presenting
 */
export const presenter: CliOutput.Presenter = {
  present: (event) =>
    Effect.sync(() => {
      switch (event._tag) {
        case "Help": {
          const colors = Prefix.colourWanted({ isTTY: process.stdout.isTTY === true, env: process.env })
          return void process.stdout.write(`${CliOutput.defaultFormatter({ colors }).formatHelpDoc(event.helpDoc)}\n`)
        }
        case "InvalidInvocation":
          // The first error only: the parser's later ones follow from it (`--grace -1s` reads `-1s` as flags).
          return void process.stderr.write(`effect-supervise: ${event.errors[0]?.message} ${hint(event.commandPath)}\n`)
        case "Version":
          return void process.stdout.write(`${event.version}\n`)
      }
    })
}
