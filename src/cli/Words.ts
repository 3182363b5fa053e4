/**
 * Splits a command into the program and its arguments without a shell, with
 * the word rules of a POSIX shell (`CommandLine.template` of Effect): blanks
 * separate words; `'single quotes'` are literal; `"double quotes"` read `\"`,
 * `\\`, `\$` and `` \` ``; a backslash outside quotes escapes the next
 * character. What only a shell can do is refused rather than passed on
 * literally: operators (`| & ; < > ( )`), expansions (`$VAR`, `${...}`,
 * `$(...)`, backticks, a leading `~`, `{a,b}`), globs (`* ? [`), comments
 * (`#` starting a word), a leading `=` and a variable assignment before the
 * program (`PORT=1 node`). Quote such a character to pass it literally, or
 * run the command through a shell.
 *
 * @since 0.2.0
 */
import * as Data from "effect/Data"
import * as CommandLine from "effect/process/CommandLine"
import * as Result from "effect/Result"

/**
 * The command cannot be split into arguments.
 *
 * - `Empty`: there is no program.
 * - `NulCharacter`: no argument can carry a NUL character.
 * - `InvalidEscape`: a backslash ends the command.
 * - `UnterminatedQuote`: a quote is not closed.
 * - `NeedsShell`: the command uses shell syntax; `detail` says which.
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidCommandError extends Data.TaggedError("InvalidCommandError")<{
  readonly command: string
  readonly reason: "Empty" | "NulCharacter" | "InvalidEscape" | "UnterminatedQuote" | "NeedsShell"
  readonly detail: string
}> {
  override get message(): string {
    const command = JSON.stringify(this.command)
    switch (this.reason) {
      case "Empty":
        return "The command is empty: give the program to run and its arguments"
      case "NeedsShell":
        return `The command ${command} cannot run without a shell: ${this.detail}. ` +
          "Add --shell to run it through one, or quote the character to pass it literally"
      default:
        return `Cannot split the command ${command}: ${this.detail}`
    }
  }
}

// A one-part template: the whole text is template text, split by the shell's
// word rules, with nothing interpolated.
const parseWords = (text: string) => CommandLine.template(Object.assign([text], { raw: [text] }))

// Every reason of the template's errors, so that a new one fails to compile.
const reasons = {
  InvalidEscape: "InvalidEscape",
  UnterminatedQuote: "UnterminatedQuote",
  UnsupportedSyntax: "NeedsShell",
  // Never returned here: NUL is checked before the template, which never
  // checks it, and InvalidArgument is an error of `join` alone.
  NulCharacter: "NulCharacter",
  InvalidArgument: "InvalidEscape"
} as const satisfies Record<CommandLine.CommandLineError["reason"], InvalidCommandError["reason"]>

/**
 * The program and its arguments: at least one word.
 *
 * @since 0.2.0
 * @category parsing
 */
export const split = (command: string): Result.Result<Array<string>, InvalidCommandError> => {
  const fail = (reason: InvalidCommandError["reason"], detail: string) =>
    Result.fail(new InvalidCommandError({ command, reason, detail }))
  // The template does not check for NUL, and the spawner would fail late.
  if (command.includes("\0")) return fail("NulCharacter", "it contains a NUL character, which no argument can carry")
  const parsed = parseWords(command)
  if (Result.isFailure(parsed)) {
    const { reason, message } = parsed.failure
    // The template's message names a template part, meaningless here: "... in template part 0".
    const detail = message.replace(/ in template part \d+$/, "")
    return fail(reasons[reason], detail.charAt(0).toLowerCase() + detail.slice(1))
  }
  if (parsed.success.length === 0) return fail("Empty", "there is no program")
  // Nothing is interpolated, so no word is Redacted.
  return Result.succeed(parsed.success as Array<string>)
}

/**
 * Whether the command uses syntax that only a shell understands (see the
 * module's description): what {@link split} refuses as `NeedsShell`.
 *
 * @since 0.2.0
 * @category predicates
 */
export const isShellSyntax = (command: string): boolean => {
  const parsed = parseWords(command)
  return Result.isFailure(parsed) && parsed.failure.reason === "UnsupportedSyntax"
}
