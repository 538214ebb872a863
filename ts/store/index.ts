// The one module that imports the generated napi binding (see ARCHITECTURE.md).
import { createRequire } from 'node:module';
import type * as Binding from './binding.cjs';

const require = createRequire(import.meta.url);
const binding = require('./binding.cjs') as typeof Binding;

export function engineVersion(): number {
  return binding.engineVersion();
}
