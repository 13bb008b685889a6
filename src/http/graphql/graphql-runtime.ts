import { createRequire } from 'node:module';

/**
 * graphql as mercurius loads it. graphql ships CommonJS and ESM builds; an ESM
 * `import` would load a second copy, and graphql refuses schemas and errors
 * made by "another module or realm". Every value we take from graphql comes
 * from here, the CommonJS copy mercurius requires.
 */
const graphql = createRequire(import.meta.url)('graphql') as typeof import('graphql');

export const { buildSchema, GraphQLError, Kind } = graphql;
