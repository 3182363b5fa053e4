/**
 * What to run, as foreman calls it: the named commands (from a Procfile or
 * from `name=command` arguments), each run as many times as its scale says,
 * every instance with a name of its own and a `PORT` of its own.
 *
 * - A type run once keeps its name (`api`); a type scaled above 1 has
 *   instances `api.1`, `api.2`... Names of types have no `.`, so an instance
 *   name never equals a type name.
 * - `PORT` is foreman's: `base + typeIndex * step + (n - 1)`, where
 *   `typeIndex` is the type's position among all the commands (0-based,
 *   counting those scaled to 0) and `n` the instance's number (1-based). With
 *   the defaults (5000, 100) the first command gets 5000, 5001..., the second
 *   5100, 5101...
 *
 * @since 0.2.0
 */
import * as Data from "effect/Data"
import * as Result from "effect/Result"

/**
 * A command with its name, as given: the command is a string, or anything the
 * caller made of it (such as an argument list).
 *
 * @since 0.2.0
 * @category models
 */
export interface NamedCommand<C = string> {
  readonly name: string
  readonly command: C
}

/**
 * One process to run.
 *
 * @since 0.2.0
 * @category models
 */
export interface Instance<C = string> {
  /** `api` when its type runs once, `api.1`, `api.2`... when scaled above 1. */
  readonly name: string
  /** The command's name: `api`. */
  readonly type: string
  /** 1-based, among the instances of its type. */
  readonly index: number
  readonly command: C
  readonly env: { readonly PORT: string }
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** How many of each to run; a type not in it runs once, 0 means not at all. */
  readonly scale?: Readonly<Record<string, number>> | undefined
  /** The first PORT: {@link defaultPortBase} unless given. */
  readonly portBase?: number | undefined
  /** The distance between the PORTs of two consecutive types: {@link defaultPortStep} unless given. */
  readonly portStep?: number | undefined
}

/**
 * @since 0.2.0
 * @category constants
 */
export const defaultPortBase = 5000

/**
 * @since 0.2.0
 * @category constants
 */
export const defaultPortStep = 100

/**
 * The formation cannot be built: a duplicate name, an unknown name in the
 * scale, a bad count, PORTs out of range or shared, or nothing to run.
 *
 * @since 0.2.0
 * @category errors
 */
export class FormationError extends Data.TaggedError("FormationError")<{
  readonly reason: string
}> {
  override get message(): string {
    return this.reason
  }
}

/**
 * A scale such as `api=2,worker=3` is malformed.
 *
 * @since 0.2.0
 * @category errors
 */
export class ScaleError extends Data.TaggedError("ScaleError")<{
  readonly input: string
  readonly reason: string
}> {
  override get message(): string {
    return `Invalid scale ${JSON.stringify(this.input)}: ${this.reason}`
  }
}

/**
 * A `name=command` argument is malformed.
 *
 * @since 0.2.0
 * @category errors
 */
export class NamedCommandError extends Data.TaggedError("NamedCommandError")<{
  readonly input: string
  readonly reason: string
}> {
  override get message(): string {
    return `Invalid command ${JSON.stringify(this.input)}: ${this.reason}`
  }
}

const namePattern = /^[A-Za-z0-9_-]+$/

/**
 * Whether a text can name a command: letters, digits, `_` and `-`, as in a
 * Procfile.
 *
 * @since 0.2.0
 * @category predicates
 */
export const isName = (text: string): boolean => namePattern.test(text)

/**
 * What {@link isName} accepts, for error messages.
 *
 * @since 0.2.0
 * @category constants
 */
export const nameRule = `a name may contain only letters, digits, "_" and "-"`

const maxPort = 65535

/**
 * The instances to run, in the order of the commands, then by number.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = <C>(
  commands: ReadonlyArray<NamedCommand<C>>,
  options: Options = {}
): Result.Result<Array<Instance<C>>, FormationError> => {
  const fail = (reason: string) => Result.fail(new FormationError({ reason }))
  const base = options.portBase ?? defaultPortBase
  const step = options.portStep ?? defaultPortStep
  const scale = options.scale ?? {}
  if (!Number.isInteger(base) || base < 1 || base > maxPort) {
    return fail(`The port base must be a whole number from 1 to ${maxPort}; got ${base}`)
  }
  if (!Number.isInteger(step) || step < 0) return fail(`The port step must be a whole number, 0 or more; got ${step}`)

  // Positions are 1-based in messages: "commands 1 and 3".
  const positions = new Map<string, number>()
  for (const [position, { name }] of commands.entries()) {
    const earlier = positions.get(name)
    if (earlier !== undefined) return fail(`The name ${JSON.stringify(name)} is given twice: commands ${earlier + 1} and ${position + 1}`)
    positions.set(name, position)
  }
  // Own properties only: a name such as "constructor" must not find Object's.
  for (const [name, count] of Object.entries(scale)) {
    if (!positions.has(name)) {
      return fail(`Cannot scale ${JSON.stringify(name)}: no command has that name (the commands are ${[...positions.keys()].join(", ")})`)
    }
    if (!Number.isSafeInteger(count) || count < 0) {
      return fail(`The scale of ${name} must be a whole number, 0 or more; got ${count}`)
    }
  }

  const countOf = (name: string) => Object.hasOwn(scale, name) ? scale[name]! : 1
  const nameOf = (type: string, count: number, index: number) => count > 1 ? `${type}.${index}` : type
  // Checked before any instance is made, so that a huge scale fails at once.
  for (const [typeIndex, { name }] of commands.entries()) {
    const count = countOf(name)
    const last = base + typeIndex * step + count - 1
    if (count > 0 && last > maxPort) {
      return fail(
        `PORT ${last} for ${nameOf(name, count, count)} is above ${maxPort}: lower the port base (${base}), the port step (${step}) or the scale`
      )
    }
  }

  const instances: Array<Instance<C>> = []
  const owners = new Map<number, string>()
  for (const [typeIndex, { name: type, command }] of commands.entries()) {
    const count = countOf(type)
    for (let index = 1; index <= count; index++) {
      const name = nameOf(type, count, index)
      const port = base + typeIndex * step + index - 1
      const owner = owners.get(port)
      if (owner !== undefined) {
        return fail(`PORT ${port} would go to both ${owner} and ${name}: raise the port step (${step}) above the largest scale`)
      }
      owners.set(port, name)
      instances.push({ name, type, index, command, env: { PORT: String(port) } })
    }
  }
  if (instances.length === 0) {
    return fail(commands.length === 0 ? "No command to run" : "Every command is scaled to 0: nothing to run")
  }
  return Result.succeed(instances)
}

/**
 * Parses scales in foreman's `-m` form, `api=2` or `api=2,worker=3`, from
 * one argument or several (a repeated flag); a name given again takes the
 * later count, as a repeated flag usually does. Whether the names exist is
 * checked by {@link make}.
 *
 * @since 0.2.0
 * @category parsing
 */
export const parseScale = (input: string | ReadonlyArray<string>): Result.Result<Record<string, number>, ScaleError> => {
  const scale = new Map<string, number>()
  for (const argument of typeof input === "string" ? [input] : input) {
    for (const entry of argument.split(",")) {
      const fail = (reason: string) => Result.fail(new ScaleError({ input: argument, reason }))
      const equals = entry.indexOf("=")
      if (equals === -1) return fail(`expected name=count, such as api=2, got ${JSON.stringify(entry.trim())}`)
      const name = entry.slice(0, equals).trim()
      const count = entry.slice(equals + 1).trim()
      if (!isName(name)) return fail(`bad name ${JSON.stringify(name)}: ${nameRule}`)
      if (!/^\d+$/.test(count) || !Number.isSafeInteger(Number(count))) {
        return fail(`the count of ${name} must be a whole number, 0 or more; got ${JSON.stringify(count)}`)
      }
      scale.set(name, Number(count))
    }
  }
  // fromEntries defines own properties, so even "__proto__" is a plain key.
  return Result.succeed(Object.fromEntries(scale))
}

/**
 * Parses a command argument, `name=command`: the first `=` ends the name.
 * A name is required (there is no automatic one): it prefixes every line of
 * output and is what the other options (scale, stop signal...) refer to, so
 * it must not change when the list of commands does. A command without one
 * fails with a message showing the form to use.
 *
 * @since 0.2.0
 * @category parsing
 */
export const parseNamedCommand = (input: string): Result.Result<NamedCommand, NamedCommandError> => {
  const fail = (reason: string) => Result.fail(new NamedCommandError({ input, reason }))
  const equals = input.indexOf("=")
  const name = equals === -1 ? "" : input.slice(0, equals).trim()
  // No "=", or what comes before it is no name (`node --port=1`): most likely no name at all.
  if (equals === -1 || /\s/.test(name)) {
    return fail(`it has no name: write it as name=command, such as ${JSON.stringify(`app=${input.trim()}`)}`)
  }
  if (name === "") return fail("the name before \"=\" is empty")
  if (!isName(name)) return fail(`bad name ${JSON.stringify(name)}: ${nameRule}`)
  const command = input.slice(equals + 1).trim()
  if (command === "") return fail(`${name} has no command after "="`)
  return Result.succeed({ name, command })
}
