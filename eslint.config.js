import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import layers from './eslint-layers.js';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // One direction (README, Layout): each folder imports only those below it; tests and benchmarks any.
    plugins: { layers },
    rules: {
      'layers/one-direction': ['error', { layers: ['common', 'storage', 'collectors', 'feeds', 'src'], free: ['test', 'bench'] }],
      'layers/no-cycle': 'error',
      // The engines take an exchange as an Exchange object; only the list and the kinds built on it name one.
      'layers/no-reach': [
        'error',
        {
          zones: [
            {
              from: ['collectors'],
              except: ['collectors/exchanges', 'collectors/kinds.ts'],
              to: 'collectors/exchanges',
              why: 'an engine gets its exchange as an Exchange object (collectors/exchange.ts), from the kinds built in collectors/kinds.ts',
            },
          ],
        },
      ],
    },
  },
  {
    // The status page's script runs in the browser, as served (no build step).
    files: ['web/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        ['window', 'document', 'fetch', 'getComputedStyle', 'matchMedia', 'ResizeObserver', 'AbortSignal', 'setTimeout', 'clearTimeout', 'uPlot'].map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    files: ['bin/**/*.js', 'bench/**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
