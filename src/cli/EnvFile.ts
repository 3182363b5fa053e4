/**
 * Reads an env file in the dotenv format that foreman, honcho and Docker
 * Compose share, one `KEY=value` a line:
 *
 * - `export ` before the key is allowed (so the file can be sourced), and so
 *   are spaces around `=`; blank lines and lines starting with `#` are
 *   ignored; CRLF line endings and a leading byte order mark are tolerated.
 * - A key starts with a letter or `_` and has only letters, digits and `_`.
 * - An unquoted value is trimmed, and ends at a `#` after a space or tab
 *   (`KEY=a #note` is `a`, `COLOUR=#fff` is `#fff`).
 * - `'single quoted'` is literal; `"double quoted"` reads `\n`, `\r`, `\t`,
 *   `\"` and `\\`, and keeps any other backslash as it is. After the closing
 *   quote, only spaces and a `#` comment may follow.
 * - No expansion of `$VAR` or `${VAR}`, and no value spans lines: write `\n`
 *   in double quotes instead.
 * - A key given again takes the later value.
 *
 * @since 0.2.0
 */
import * as Data from "effect/Data"
import * as Result from "effect/Result"

/**
 * The env file is malformed (`line` is the offending line). The CLI can also
 * use it, without a line, for a file it cannot read.
 *
 * @since 0.2.0
 * @category errors
 */
export class EnvFileError extends Data.TaggedError("EnvFileError")<{
  readonly path: string
  readonly line?: number
  readonly reason: string
}> {
  override get message(): string {
    return this.line === undefined
      ? `Env file ${this.path}: ${this.reason}`
      : `Env file ${this.path}, line ${this.line}: ${this.reason}`
  }
}

const keyPattern = /^[A-Za-z_][A-Za-z0-9_]*$/

const escapes = new Map([["n", "\n"], ["r", "\r"], ["t", "\t"], ["\"", "\""], ["\\", "\\"]])

/**
 * The variables of an env file. `path` is only for messages.
 *
 * @since 0.2.0
 * @category parsing
 */
export const parse = (text: string, path: string): Result.Result<Record<string, string>, EnvFileError> => {
  const variables = new Map<string, string>()
  for (const [index, raw] of text.replace(/^\uFEFF/, "").split("\n").entries()) {
    const fail = (reason: string) => Result.fail(new EnvFileError({ path, line: index + 1, reason }))
    const trimmed = raw.trim()
    if (trimmed === "" || trimmed.startsWith("#")) continue
    // The "\r" of CRLF goes with the trimming of the line's end.
    const assignment = trimmed.replace(/^export\s+/, "")
    const equals = assignment.indexOf("=")
    if (equals === -1) return fail(`expected KEY=value, got ${JSON.stringify(trimmed)}`)
    const key = assignment.slice(0, equals).trim()
    if (key === "") return fail(`no name before "=" in ${JSON.stringify(trimmed)}`)
    if (!keyPattern.test(key)) {
      return fail(`bad name ${JSON.stringify(key)}: a name starts with a letter or "_" and has only letters, digits and "_"`)
    }
    const after = assignment.slice(equals + 1)
    const value = after.trimStart()
    const quote = value[0]
    if (quote === "'" || quote === "\"") {
      let out = ""
      let i = 1
      for (; i < value.length && value[i] !== quote; i++) {
        if (quote === "\"" && value[i] === "\\" && i + 1 < value.length) {
          const next = value[++i]
          out += escapes.get(next) ?? `\\${next}`
        } else {
          out += value[i]
        }
      }
      if (i === value.length) {
        return fail(`the ${quote === "'" ? "single" : "double"} quote of ${key} is not closed on this line`)
      }
      const rest = value.slice(i + 1)
      if (!/^\s*(#.*)?$/.test(rest)) {
        return fail(`unexpected text after the closing quote of ${key}: ${JSON.stringify(rest.trim())}`)
      }
      variables.set(key, out)
    } else {
      const comment = after.search(/\s#/)
      variables.set(key, (comment === -1 ? after : after.slice(0, comment)).trim())
    }
  }
  // fromEntries defines own properties, so even "__proto__" is a plain key.
  return Result.succeed(Object.fromEntries(variables))
}
