// Whether this run may skip what it cannot run: not in CI (CI=true, as every CI service
// sets it) nor under .ci/run (TEST_REQUIRE_SYSTEM_DEPS=1). There a test whose system
// dependency is missing fails, and the leftover checks of the global teardown fail the run.
const truthy = (v: string | undefined) => v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false'

export const strictRun = (env: NodeJS.ProcessEnv = process.env): boolean => truthy(env.CI) || truthy(env.TEST_REQUIRE_SYSTEM_DEPS)
