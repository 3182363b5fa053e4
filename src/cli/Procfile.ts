/**
 * Reads a Procfile as foreman and honcho do: one `name: command` per line,
 * the first `:` ending the name; blank lines and lines starting with `#`
 * ignored; whitespace around the line, the name and the command trimmed;
 * CRLF line endings and a leading byte order mark tolerated. Unlike foreman,
 * which skips a line it cannot read, every malformed line is an error naming
 * its line number, so a typo never silently drops a process.
 *
 * @since 0.2.0
 */
import * as Data from "effect/Data"
import * as Result from "effect/Result"
import { isName, nameRule } from "./Formation.ts"

/**
 * One process type of the Procfile.
 *
 * @since 0.2.0
 * @category models
 */
export interface Entry {
  readonly name: string
  readonly command: string
  /** 1-based. */
  readonly line: number
}

/**
 * The Procfile is malformed (`line` is the offending line), or has no entry
 * at all (no `line`). The CLI can also use it for a Procfile it cannot read.
 *
 * @since 0.2.0
 * @category errors
 */
export class ProcfileError extends Data.TaggedError("ProcfileError")<{
  readonly path: string
  readonly line?: number
  readonly reason: string
}> {
  override get message(): string {
    return this.line === undefined
      ? `Procfile ${this.path}: ${this.reason}`
      : `Procfile ${this.path}, line ${this.line}: ${this.reason}`
  }
}

/**
 * The entries of a Procfile, in order. `path` is only for messages.
 *
 * @since 0.2.0
 * @category parsing
 */
export const parse = (text: string, path: string): Result.Result<Array<Entry>, ProcfileError> => {
  const entries: Array<Entry> = []
  const lines = new Map<string, number>()
  for (const [index, raw] of text.replace(/^\uFEFF/, "").split("\n").entries()) {
    const line = index + 1
    const fail = (reason: string) => Result.fail(new ProcfileError({ path, line, reason }))
    const trimmed = raw.trim()
    if (trimmed === "" || trimmed.startsWith("#")) continue
    const colon = trimmed.indexOf(":")
    if (colon === -1) return fail(`expected "name: command", got ${JSON.stringify(trimmed)}`)
    const name = trimmed.slice(0, colon).trim()
    const command = trimmed.slice(colon + 1).trim()
    if (name === "") return fail(`no name before ":" in ${JSON.stringify(trimmed)}`)
    if (!isName(name)) return fail(`bad name ${JSON.stringify(name)} in ${JSON.stringify(trimmed)}: ${nameRule}`)
    if (command === "") return fail(`${name} has no command after ":"`)
    const earlier = lines.get(name)
    if (earlier !== undefined) return fail(`the name ${name} is already used on line ${earlier}`)
    lines.set(name, line)
    entries.push({ name, command, line })
  }
  if (entries.length === 0) return Result.fail(new ProcfileError({ path, reason: "no processes: expected lines \"name: command\"" }))
  return Result.succeed(entries)
}
