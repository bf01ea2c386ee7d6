import {
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  getDirectiveValues,
  visit,
  type DocumentNode,
  type SelectionNode,
} from 'graphql';

/** Whether execution includes a selection: excluded by @skip(if: true) or @include(if: false), it has no answer. */
export function included(node: SelectionNode, variables: Record<string, unknown>): boolean {
  if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.if === true) return false;
  return getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if !== false;
}

/**
 * Which of a document's conditional selections (@skip, @include) `variables` include, as a short key: answers worked
 * out once per document must also be keyed by it, or one request's skips would decide another's.
 */
export function inclusionKey(document: DocumentNode, variables: Record<string, unknown>): string {
  let key = '';
  visit(document, {
    enter(node) {
      if (
        (node.kind === 'Field' || node.kind === 'InlineFragment' || node.kind === 'FragmentSpread') &&
        node.directives
      )
        if (node.directives.some((d) => d.name.value === 'skip' || d.name.value === 'include'))
          key += included(node, variables) ? '1' : '0';
    },
  });
  return key;
}
