/**
 * The prefixes of output lines, as foreman writes them: the name padded to
 * the longest one, then `" | "`, so that the lines' text starts in one
 * column. The supervisor's own lines get one too, and its name counts in the
 * width. In colour, each process takes the next colour of a fixed cycle
 * (foreman's), and the supervisor's is bold, in no colour of the cycle.
 *
 * @since 0.2.0
 */

/**
 * @since 0.2.0
 * @category models
 */
export interface Prefixes {
  /** By process name. */
  readonly byName: Readonly<Record<string, string>>
  /** For the supervisor's own lines. */
  readonly supervisor: string
}

/**
 * The name on the supervisor's own lines unless another is given.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultSupervisorName = "supervisor"

/**
 * The colour cycle, as ANSI foreground codes: foreman's cyan, yellow, green,
 * magenta, red, blue, then their bright variants.
 *
 * @since 0.2.0
 * @category constants
 */
export const colours: ReadonlyArray<number> = [36, 33, 32, 35, 31, 34, 96, 93, 92, 95, 91, 94]

const bold = 1
const style = (code: number, text: string) => `\x1b[${code}m${text}\x1b[0m`

/**
 * The prefixes of the given process names (unique, as instance names are).
 * Widths count UTF-16 code units: names are ASCII (letters, digits, `_`,
 * `-`, `.`).
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (
  names: ReadonlyArray<string>,
  options: { readonly colour: boolean; readonly supervisorName?: string | undefined }
): Prefixes => {
  const supervisorName = options.supervisorName ?? defaultSupervisorName
  const width = Math.max(supervisorName.length, ...names.map((name) => name.length))
  const prefix = (name: string, code: number) => {
    const plain = `${name.padEnd(width)} | `
    return options.colour ? style(code, plain) : plain
  }
  return {
    // fromEntries defines own properties, so even "__proto__" is a plain key.
    byName: Object.fromEntries(names.map((name, index) => [name, prefix(name, colours[index % colours.length]!)])),
    supervisor: prefix(supervisorName, bold)
  }
}

/**
 * Whether to colour the output, by the usual conventions, in this order:
 * `FORCE_COLOR` set to `0` or `false` turns colour off and set to anything
 * else non-empty turns it on (as Node and chalk read it, so the children
 * agree); then `NO_COLOR` set to anything non-empty turns it off
 * (no-color.org), and so does `TERM=dumb`; otherwise colour goes to a
 * terminal only.
 *
 * @since 0.2.0
 * @category predicates
 */
export const colourWanted = (options: {
  readonly isTTY: boolean
  readonly env: Readonly<Record<string, string | undefined>>
}): boolean => {
  const { env } = options
  const force = env.FORCE_COLOR
  if (force !== undefined && force !== "") return force !== "0" && force !== "false"
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false
  if (env.TERM === "dumb") return false
  return options.isTTY
}
