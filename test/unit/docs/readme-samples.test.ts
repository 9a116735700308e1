import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Every ```ts block of the README is compiled, as a module of its own that imports 'tributary'
 * (mapped to src/index.ts), with the project's strict compiler options: a sample that no longer
 * type-checks fails here, not in a newcomer's editor.
 */
const root = resolve(import.meta.dirname, '../../..');
const dir = join(root, '.scratch', 'readme-samples');

function samples(markdown: string): { line: number; code: string }[] {
  const found: { line: number; code: string }[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```ts\s*$/.test(lines[i] ?? '')) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end] ?? '')) end++;
    found.push({ line: start + 1, code: lines.slice(start, end).join('\n') });
    i = end;
  }
  return found;
}

describe('README samples', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('every TypeScript sample in the README type-checks against the public API', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const blocks = samples(readme);
    expect(blocks.length).toBeGreaterThan(0);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const files = blocks.map((b) => {
      const file = join(dir, `sample-line-${b.line}.ts`);
      // a module of its own even when the sample has no import
      writeFileSync(file, `${b.code}\nexport {};\n`);
      return file;
    });
    const config = ts.readConfigFile(join(root, 'tsconfig.json'), (p) => ts.sys.readFile(p));
    const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
    const program = ts.createProgram(files, {
      ...parsed.options,
      noEmit: true,
      noUnusedLocals: false,
      paths: {
        tributary: [join(root, 'src/index.ts')],
        'tributary/testing': [join(root, 'src/testing/index.ts')],
      },
    });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file !== undefined && files.includes(resolve(d.file.fileName)))
      .map((d) => {
        const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
        const sample = d.file!.fileName.match(/sample-line-(\d+)/)?.[1] ?? '?';
        return `README line ${Number(sample) + line}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
    expect(problems).toEqual([]);
    // a whole-program type-check (Testcontainers types included): slow on a busy machine
  }, 300_000);

  it('the PravegaContainer example in the README is the test that runs it', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const example = readFileSync(
      join(root, 'test/integration/testing/readme-example.test.ts'),
      'utf8',
    ).trimEnd();
    expect(samples(readme).map((b) => b.code)).toContain(example);
  });
});
