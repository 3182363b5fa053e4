/**
 * Stop signals as the command line gives them: a name with or without `SIG`
 * in any case, or a number, checked against the signals of this platform
 * (`os.constants.signals`). SIGKILL and SIGSTOP cannot be stop signals: a
 * process cannot handle them.
 *
 * @since 0.2.0
 */
import * as Data from "effect/Data"
import * as Result from "effect/Result"
import { constants } from "node:os"
import { isName, nameRule } from "./Formation.ts"

/**
 * The stop signals: one for every process, and some for named ones.
 *
 * @since 0.2.0
 * @category models
 */
export interface StopSignals {
  /** For every process without one of its own; absent when not given. */
  readonly default?: string
  /** By command name. */
  readonly byName: Readonly<Record<string, string>>
}

/**
 * Not a signal of this platform (`Unknown`), or one that cannot stop a
 * process gracefully (`Uncatchable`).
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidSignalError extends Data.TaggedError("InvalidSignalError")<{
  readonly input: string
  readonly reason: "Unknown" | "Uncatchable"
  /** The canonical name, when known. */
  readonly signal?: string
}> {
  override get message(): string {
    switch (this.signal) {
      case "SIGKILL":
        return "SIGKILL cannot be a stop signal: a process cannot handle it, so it gets no chance to stop gracefully " +
          "(SIGKILL is what the supervisor sends when the grace period runs out)"
      case "SIGSTOP":
        return "SIGSTOP cannot be a stop signal: a process cannot handle it, and it pauses the process instead of stopping it"
      default:
        return `Unknown signal ${
          JSON.stringify(this.input)
        }: give a name such as SIGTERM, SIGINT, SIGQUIT, SIGHUP or SIGUSR1 (with or without "SIG", in any case), or its number`
    }
  }
}

/**
 * A stop signal entry, `SIGNAL` or `name=SIGNAL`, names no command or a bad
 * one.
 *
 * @since 0.2.0
 * @category errors
 */
export class StopSignalError extends Data.TaggedError("StopSignalError")<{
  readonly input: string
  readonly reason: string
}> {
  override get message(): string {
    return `Invalid stop signal ${JSON.stringify(this.input)}: ${this.reason}`
  }
}

const signals: Readonly<Record<string, number>> = constants.signals

/**
 * The canonical name (`"SIGQUIT"`) of `SIGQUIT`, `QUIT`, `quit` or `3`,
 * refusing SIGKILL and SIGSTOP. A number shared by two names gives the first
 * Node lists (6 is SIGABRT, not SIGIOT).
 *
 * @since 0.2.0
 * @category parsing
 */
export const parseSignal = (input: string): Result.Result<string, InvalidSignalError> => {
  const text = input.trim()
  const upper = text.toUpperCase()
  const name = /^\d+$/.test(text)
    ? Object.keys(signals).find((name) => signals[name] === Number(text))
    : [upper, `SIG${upper}`].find((name) => Object.hasOwn(signals, name))
  if (name === undefined) return Result.fail(new InvalidSignalError({ input, reason: "Unknown" }))
  if (name === "SIGKILL" || name === "SIGSTOP") {
    return Result.fail(new InvalidSignalError({ input, reason: "Uncatchable", signal: name }))
  }
  return Result.succeed(name)
}

/**
 * Parses stop signal entries, as a repeated flag gives them: `SIGNAL` sets
 * the default for every process, `name=SIGNAL` the signal of one command
 * (and all its instances). A later entry for the same name (or a later
 * default) wins. With `names`, a name that is not among them is an error.
 *
 * @since 0.2.0
 * @category parsing
 */
export const parseStopSignals = (
  inputs: ReadonlyArray<string>,
  names?: ReadonlyArray<string>
): Result.Result<StopSignals, InvalidSignalError | StopSignalError> => {
  let fallback: string | undefined
  const byName = new Map<string, string>()
  for (const input of inputs) {
    const fail = (reason: string) => Result.fail(new StopSignalError({ input, reason }))
    const equals = input.indexOf("=")
    const name = equals === -1 ? undefined : input.slice(0, equals).trim()
    if (name !== undefined) {
      if (name === "") return fail("the name before \"=\" is empty")
      // Known names may be instance names (web.1); without them, the rule of a command's name.
      if (names === undefined) {
        if (!isName(name)) return fail(`bad name ${JSON.stringify(name)}: ${nameRule}`)
      } else if (!names.includes(name)) {
        return fail(`no process is named ${name} (there are ${names.join(", ")})`)
      }
    }
    const signal = parseSignal(input.slice(equals + 1))
    if (Result.isFailure(signal)) return Result.fail(signal.failure)
    if (name === undefined) fallback = signal.success
    else byName.set(name, signal.success)
  }
  // fromEntries defines own properties, so even "__proto__" is a plain key.
  const byNameRecord = Object.fromEntries(byName)
  return Result.succeed(fallback === undefined ? { byName: byNameRecord } : { default: fallback, byName: byNameRecord })
}
