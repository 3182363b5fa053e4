/**
 * The package's version, as `--version` prints it (a test keeps it equal to package.json's).
 *
 * @since 0.2.0
 */
export const version = "0.2.0"
