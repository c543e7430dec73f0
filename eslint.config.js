// @ts-check
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import prettier from 'eslint-config-prettier'
import { layerBlocks, layerPatterns } from './eslint.layers.js'

const pureGlobals = [
  'Date',
  'performance',
  'setTimeout',
  'setInterval',
  'setImmediate',
].map(name => ({
  name,
  message: 'pure module: take time/timers as arguments (STYLE.md §2.2)',
}))
const ioModules = [
  'node:net',
  'node:http',
  'node:https',
  'node:tls',
  'node:fs',
  'node:dgram',
  'undici',
  'ioredis',
  'pino',
  'prom-client',
]

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tap/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  ...tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true },
      ],
      '@typescript-eslint/no-non-null-assertion': 'error',
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='t'][property.name='only']",
          message: 'no t.only',
        },
        { selector: 'ExportDefaultDeclaration', message: 'named exports only' },
      ],
    },
  },
  // The layer rule (eslint.layers.js, docs/layers.md): no import runs back up.
  ...layerBlocks(),
  {
    files: ['src/pool/**/*.ts', 'src/config/duration.ts', 'src/config/diff.ts'],
    rules: {
      'no-restricted-globals': ['error', ...pureGlobals],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'pure module: inject randomness' },
        {
          object: 'Date',
          property: 'now',
          message: 'pure module: take now as an argument',
        },
      ],
    },
  },
  // Pure modules import no I/O library either; the layer patterns are repeated because
  // this block's options replace the layer block's for the same rule.
  {
    files: ['src/pool/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: ioModules, patterns: layerPatterns('pool', 'folder') },
      ],
    },
  },
  {
    files: ['src/config/duration.ts', 'src/config/diff.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: ioModules, patterns: layerPatterns('config', 'folder') },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // ESLint itself requires a default export from its config file.
    files: ['eslint.config.js'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  prettier,
)
