import { createHash } from 'node:crypto';
import { print, stripIgnoredCharacters, type DocumentNode } from 'graphql';

// Apollo reuses one parsed document per distinct query text, so each is printed and hashed once.
const signatures = new WeakMap<DocumentNode, string>();

/** An operation's identity across requests: the hash of its document without whitespace and comments. */
export function operationSignature(document: DocumentNode): string {
  let s = signatures.get(document);
  if (!s)
    signatures.set(
      document,
      (s = createHash('sha256')
        .update(stripIgnoredCharacters(print(document)))
        .digest('hex')
        .slice(0, 16)),
    );
  return s;
}
