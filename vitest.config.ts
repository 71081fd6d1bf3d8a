import { defineConfig } from 'vitest/config'

// Tests that start real processes (the server entry point, Chromium, the benchmark smoke run).
const PROCESS_TESTS = ['test/app/server-process.test.ts', 'test/app/demo-process.test.ts', 'test/app/start-checks.test.ts', 'test/app/start-errors.test.ts', 'test/browser/**/*.test.ts']
const BENCH_TESTS = ['test/bench/smoke.test.ts']

const shared = {
  testTimeout: 20_000,
  hookTimeout: 20_000
}

// `vitest run` (npm test) runs every project in one process and one report: the unit
// project first, then the process and bench projects together (sequence.groupOrder), so
// the benchmark's load never lands on the unit suite's socket timing tests.
// `vitest run --project unit` (npm run test:unit) is the fast loop.
export default defineConfig({
  test: {
    // once per run, not per project: the projects below do not extend this config
    globalSetup: ['test/helpers/global-setup.ts'],
    // two cores: keep file-level parallelism modest so socket timing tests stay stable
    maxWorkers: 2,
    projects: [
      {
        test: {
          ...shared,
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: [...PROCESS_TESTS, ...BENCH_TESTS],
          sequence: { groupOrder: 0 }
        }
      },
      {
        test: {
          ...shared,
          name: 'process',
          include: PROCESS_TESTS,
          sequence: { groupOrder: 1 }
        }
      },
      {
        test: {
          ...shared,
          name: 'bench',
          include: BENCH_TESTS,
          sequence: { groupOrder: 1 }
        }
      }
    ]
  }
})
