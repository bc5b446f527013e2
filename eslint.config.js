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
    },
  },
  {
    files: ['bin/**/*.js', 'bench/**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
