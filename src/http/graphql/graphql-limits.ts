import type { FragmentDefinitionNode, SelectionSetNode, ValidationContext, ASTVisitor } from 'graphql';
import { GraphQLError, Kind } from './graphql-runtime.ts';

/** Bounds on what one GraphQL document may ask, so no single request multiplies the gateway's work. */
export const graphqlLimits = {
  /** Characters of query text (a larger document is refused before it is parsed). */
  maxDocumentChars: 32 * 1024,
  /** Nesting of selections (our schema is at most 5 deep). */
  maxDepth: 8,
  /** Fields selected in all, each alias and each fragment use counted. */
  maxFields: 1_000,
  /** Fields that call a model server or scan usage (aliases count): each is real work upstream. */
  maxExpensiveFields: 5,
  /** Operations in one batched POST. */
  maxBatch: 10,
} as const;

/** Root fields whose every use is a model call, a fleet-wide action or a scan of usage rows. */
const expensiveRootFields = new Set(['generateText', 'chat', 'embed', 'storeVector', 'searchVectors', 'pullModel', 'checkAllServers', 'testServer', 'usage', 'performance', 'chatStream']);

/**
 * A validation rule counting what a document selects, aliases and fragments
 * expanded: `a: generateText(…) b: generateText(…)` is two model calls, and a
 * fragment spread ten times is ten times its fields.
 */
export function costLimitRule(context: ValidationContext): ASTVisitor {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of context.getDocument().definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  return {
    OperationDefinition(operation) {
      const counted = { fields: 0, expensive: 0 };
      count(operation.selectionSet, fragments, counted, true, new Set());
      const name = operation.name?.value ?? 'the operation';
      if (counted.fields > graphqlLimits.maxFields) {
        context.reportError(new GraphQLError(`${name} selects ${counted.fields} fields; the limit is ${graphqlLimits.maxFields}.`, { nodes: [operation], extensions: { code: 'SY_GRAPHQL_TOO_COMPLEX', status: 400 } }));
      }
      if (counted.expensive > graphqlLimits.maxExpensiveFields) {
        context.reportError(new GraphQLError(`${name} asks for ${counted.expensive} model calls or reports; the limit is ${graphqlLimits.maxExpensiveFields} per request. Send them in several requests.`, { nodes: [operation], extensions: { code: 'SY_GRAPHQL_TOO_COMPLEX', status: 400 } }));
      }
    },
  };
}

function count(selectionSet: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>, counted: { fields: number; expensive: number }, isRoot: boolean, expanding: Set<string>): void {
  for (const selection of selectionSet.selections) {
    // Past the limit there is nothing more to learn, and a hostile document could be huge.
    if (counted.fields > graphqlLimits.maxFields) return;
    if (selection.kind === Kind.FIELD) {
      counted.fields++;
      if (isRoot && expensiveRootFields.has(selection.name.value)) counted.expensive++;
      if (selection.selectionSet !== undefined) count(selection.selectionSet, fragments, counted, false, expanding);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      count(selection.selectionSet, fragments, counted, isRoot, expanding);
    } else {
      const fragment = fragments.get(selection.name.value);
      // A cycle is refused by graphql's own rules; never follow one here.
      if (fragment === undefined || expanding.has(fragment.name.value)) continue;
      expanding.add(fragment.name.value);
      count(fragment.selectionSet, fragments, counted, isRoot, expanding);
      expanding.delete(fragment.name.value);
    }
  }
}
