import { configJsonSchema } from '../config/json-schema.js';
import { createContainer, registryOf } from '../container.js';

/** `collector schema`: the JSON Schema of a config file, with the built-in kinds, for editors and CI. */
export function schemaCommand(): string {
  return JSON.stringify(configJsonSchema(registryOf(createContainer())), null, 2);
}
