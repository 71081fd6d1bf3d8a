import { defineConfig } from 'vitest/config'

// Tests that start real processes (the server entry point, Chromium, the benchmark smoke run).
const PROCESS_TESTS = ['test/app/server-process.test.ts', 'test/app/demo-process.test.ts', 'test/app/start-checks.test.ts', 'test/app/start-errors.test.ts', 'test/browser/**/*.test.ts']
const BENCH_TESTS = ['test/bench/smoke.test.ts']
// The chat, tool-call, workflow, chatflow and OpenAI surfaces, once more on the SDK transport
// (COZE_TRANSPORT=sdk; the unit project runs them on the default, undici).
const SDK_TRANSPORT_TESTS = [
  'test/app/chat.test.ts', 'test/app/chat-actions.test.ts', 'test/app/streaming.test.ts', 'test/app/simple-chat.test.ts',
  'test/app/workflows.test.ts', 'test/app/chatflows.test.ts', 'test/app/upstream-answers.test.ts',
  'test/app/openai.test.ts', 'test/app/openai-streaming.test.ts', 'test/app/openai-errors.test.ts'
]

const shared = {
  testTimeout: 20_000,
  hookTimeout: 20_000
}

// `vitest run` (npm test) runs every project in one process and one report: the unit
// project first, then the process and bench projects together (sequence.groupOrder), so
// the benchmark's load never lands on the unit suite's socket timing tests.
// `vitest run --project unit` (npm run test:unit) is the fast loop; the unit-sdk project runs
// the hot-path surfaces once more on the SDK transport (COZE_TRANSPORT=sdk).
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
          name: 'unit-sdk',
          include: SDK_TRANSPORT_TESTS,
          env: { COZE_TRANSPORT: 'sdk' },
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
