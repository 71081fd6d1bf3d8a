// What a new user reads first: the licence and the README's prerequisites, kept true to package.json.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { license: string, engines: { node: string } }
const readme = readFileSync('README.md', 'utf8')

describe('project files', () => {
  it('has a LICENSE file with the licence package.json names', () => {
    expect(pkg.license).toBe('MIT')
    const license = readFileSync('LICENSE', 'utf8')
    expect(license.split('\n')[0]).toBe('MIT License')
    expect(license).toContain('Permission is hereby granted, free of charge')
  })

  it('README lists the prerequisites: the Node version of engines, and python3, make, g++ for better-sqlite3', () => {
    const section = readme.split('\n## Prerequisites\n')[1]?.split('\n## ')[0] ?? ''
    const min = /^>=\s*(\d+\.\d+\.\d+)$/.exec(pkg.engines.node)?.[1]
    expect(min).toBe('20.18.1')
    expect(section).toContain(`Node ≥ ${min}`)
    for (const tool of ['python3', 'make', 'g++', 'better-sqlite3']) expect(section).toContain(tool)
  })
})
