// ESLint's flat config: the recommended JavaScript and typescript-eslint
// rules for everything; Node's globals for the library, tests, bench and
// scripts; the browser's for the web terminal's page. Formatting is
// Prettier's (npm run lint checks both).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'build/',
      'build-*/',
      'node_modules/',
      'bench/.build/',
      'bench/results/',
      'test-artifacts/',
      '.tap/',
      'docs/api/',
      'prebuilds/',
      'vendor/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // An unused argument keeps a callback's shape; mark it with a leading underscore.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['web/app.js'],
    languageOptions: { sourceType: 'script', globals: { ...globals.browser, Terminal: 'readonly', FitAddon: 'readonly' } },
  },
);
