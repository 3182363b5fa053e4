/**
 * Importing this module starts catching shutdown signals at once (see
 * `EarlySignals`): `node --import effect-supervise/early-signals main.js`.
 *
 * @since 0.2.0
 */
import { install } from "./EarlySignals.ts"

install()
