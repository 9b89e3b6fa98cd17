// Lint: typescript-eslint recommended, plus the layer graph from
// ../shared/design/ARCHITECTURE.md enforced with no-restricted-imports.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Layers that may import nothing of ours (leaves), and what each other layer may not import. */
const forbid = (patterns, message) => ({
  'no-restricted-imports': ['error', { patterns: [{ group: patterns, message }] }],
});

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'web/dist/**', 'coverage/**', 'data/**'] },
  js.configs.recommended,
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' } } },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['src/storage/**', 'src/textparse/**', 'src/tsdb/encoding/**', 'src/filestore/**', 'src/config/**'],
    rules: forbid(['../*', '!./*'], 'leaf layer: imports nothing of ours outside its folder (ARCHITECTURE.md)'),
  },
  {
    files: ['src/scrape/**'],
    rules: forbid(['**/tsdb/**', '**/api/**', '**/dump/**', '**/cluster/**', '**/cli/**', '**/app.js', '**/app/**'], 'scrape reaches storage only through src/storage interfaces'),
  },
  {
    files: ['src/tsdb/**'],
    rules: forbid(['**/scrape/**', '**/api/**', '**/dump/**', '**/cluster/**', '**/cli/**', '**/app.js', '**/app/**', '**/filestore/**'], 'tsdb depends only on storage and its own sublayers'),
  },
  {
    files: ['src/tsdb/wal/**'],
    rules: forbid(['**/record/**', '**/head/**'], 'the WAL moves bytes; it never imports record (ARCHITECTURE.md)'),
  },
  {
    files: ['src/dump/**', 'src/cluster/**'],
    rules: forbid(['**/api/**', '**/cli/**', '**/app.js', '**/app/**'], 'arrows point down only'),
  },
  {
    files: ['src/api/**'],
    rules: forbid(['**/cli/**', '**/app.js', '**/app/**'], 'arrows point down only'),
  },
);
