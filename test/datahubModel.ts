// DataHub's metadata model as its PDL files and entity registry state it (test/specs/datahub, vendored from
// ../shared/specs), read here to check the proposals the mesh generates: aspect names per entity type, urns per key
// aspect, records field by field.
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';

type Type =
  | { kind: 'primitive'; name: string }
  | { kind: 'ref'; name: string }
  | { kind: 'array'; items: Type }
  | { kind: 'map'; values: Type }
  | { kind: 'union'; members: { alias?: string; type: Type }[] };

interface Field {
  name: string;
  type: Type;
  optional: boolean;
  hasDefault: boolean;
  annotations: Record<string, unknown>;
}

type Named =
  | { kind: 'record'; name: string; includes: string[]; fields: Field[]; annotations: Record<string, unknown> }
  | { kind: 'enum'; name: string; symbols: string[]; annotations: Record<string, unknown> }
  | { kind: 'typeref'; name: string; type: Type; annotations: Record<string, unknown> }
  | { kind: 'fixed'; name: string; size: number; annotations: Record<string, unknown> };

const PRIMITIVES = new Set(['string', 'int', 'long', 'float', 'double', 'boolean', 'bytes', 'null']);

/** A PDL source as tokens: names, punctuation, JSON-ish annotation values; comments and docs dropped. */
function tokenize(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s|,/.test(ch)) {
      i++;
      continue;
    }
    if (text.startsWith('//', i)) {
      i = text.indexOf('\n', i) === -1 ? text.length : text.indexOf('\n', i);
      continue;
    }
    if (text.startsWith('/*', i)) {
      i = text.indexOf('*/', i + 2) + 2;
      continue;
    }
    if (ch === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out.push(text.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    if ('{}[]:=()@'.includes(ch)) {
      out.push(ch);
      i++;
      continue;
    }
    // Names, numbers, and annotation names with a backquoted part (@validate.`a.b.Validator`).
    const m = /^(?:[A-Za-z0-9_.$+-]|`[^`]*`)+/.exec(text.slice(i));
    if (!m) throw new Error(`PDL: unexpected "${ch}" at ${i}`);
    out.push(m[0]);
    i += m[0].length;
  }
  return out;
}

/** Every named type and aspect of the model, by full name, and the entity registry. */
export class DataHubModel {
  readonly types = new Map<string, Named>();
  /** Aspect name → full name of its record. */
  readonly aspects = new Map<string, string>();
  readonly entities = new Map<string, { keyAspect: string; aspects: Set<string> }>();

  constructor(readonly root: string) {
    const walk = (dir: string): string[] =>
      fs
        .readdirSync(dir, { withFileTypes: true })
        .flatMap((e) =>
          e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.pdl') ? [path.join(dir, e.name)] : [],
        );
    for (const file of walk(path.join(root, 'pegasus'))) this.parseFile(fs.readFileSync(file, 'utf8'), file);
    const registry = parseYaml(fs.readFileSync(path.join(root, 'resources', 'entity-registry.yml'), 'utf8')) as {
      entities: { name: string; keyAspect: string; aspects?: string[] }[];
    };
    for (const e of registry.entities)
      this.entities.set(e.name, { keyAspect: e.keyAspect, aspects: new Set([e.keyAspect, ...(e.aspects ?? [])]) });
  }

  private parseFile(text: string, file: string): void {
    const t = tokenize(text);
    let pos = 0;
    let namespace = '';
    const imports = new Map<string, string>();
    const peek = () => t[pos];
    const next = () => t[pos++]!;
    const expect = (s: string) => {
      if (t[pos] !== s) throw new Error(`${file}: expected "${s}" at token ${pos}, got "${t[pos]}"`);
      pos++;
    };
    const resolve = (name: string) =>
      PRIMITIVES.has(name) ? name : name.includes('.') ? name : (imports.get(name) ?? `${namespace}.${name}`);
    /** A JSON value of an annotation or a default, PDL's way: commas optional, trailing ones fine. */
    const value = (): unknown => {
      const tok = next();
      if (tok === '{') {
        const obj: Record<string, unknown> = {};
        while (peek() !== '}') {
          const key = JSON.parse(next()) as string;
          expect(':');
          obj[key] = value();
        }
        expect('}');
        return obj;
      }
      if (tok === '[') {
        const arr: unknown[] = [];
        while (peek() !== ']') arr.push(value());
        expect(']');
        return arr;
      }
      if (tok.startsWith('"')) return JSON.parse(tok);
      if (tok === 'true' || tok === 'false') return tok === 'true';
      if (tok === 'null') return null;
      if (/^-?\d/.test(tok)) return Number(tok);
      throw new Error(`${file}: not a value: "${tok}"`);
    };
    const annotations = (): Record<string, unknown> => {
      const out: Record<string, unknown> = {};
      while (peek() === '@') {
        next();
        const name = next();
        out[name] = peek() === '=' ? (next(), value()) : true;
      }
      return out;
    };
    const type = (): Type => {
      const notes = annotations();
      void notes;
      const tok = next();
      if (tok === 'array') {
        expect('[');
        const items = type();
        expect(']');
        return { kind: 'array', items };
      }
      if (tok === 'map') {
        expect('[');
        type();
        const values = type();
        expect(']');
        return { kind: 'map', values };
      }
      if (tok === 'union') {
        expect('[');
        const members: { alias?: string; type: Type }[] = [];
        while (peek() !== ']') {
          annotations();
          if (t[pos + 1] === ':') {
            const alias = next();
            expect(':');
            members.push({ alias, type: type() });
          } else members.push({ type: type() });
        }
        expect(']');
        return { kind: 'union', members };
      }
      if (tok === 'record' || tok === 'enum' || tok === 'typeref' || tok === 'fixed') {
        pos--;
        const inline = definition({});
        return { kind: 'ref', name: inline };
      }
      return PRIMITIVES.has(tok) ? { kind: 'primitive', name: tok } : { kind: 'ref', name: resolve(tok) };
    };
    const definition = (notes: Record<string, unknown>): string => {
      const kind = next();
      const name = `${namespace}.${next()}`;
      if (kind === 'record') {
        const includes: string[] = [];
        if (peek() === 'includes') {
          next();
          while (peek() !== '{') includes.push(resolve(next()));
        }
        expect('{');
        const fields: Field[] = [];
        while (peek() !== '}') {
          const fieldNotes = annotations();
          const fieldName = next();
          expect(':');
          const optional = peek() === 'optional' ? (next(), true) : false;
          const fieldType = type();
          const hasDefault = peek() === '=' ? (next(), value(), true) : false;
          fields.push({ name: fieldName, type: fieldType, optional, hasDefault, annotations: fieldNotes });
        }
        expect('}');
        this.types.set(name, { kind: 'record', name, includes, fields, annotations: notes });
        const aspect = notes.Aspect as { name?: string } | undefined;
        if (aspect?.name) this.aspects.set(aspect.name, name);
      } else if (kind === 'enum') {
        expect('{');
        const symbols: string[] = [];
        while (peek() !== '}') {
          annotations();
          symbols.push(next());
        }
        expect('}');
        this.types.set(name, { kind: 'enum', name, symbols, annotations: notes });
      } else if (kind === 'typeref') {
        expect('=');
        this.types.set(name, { kind: 'typeref', name, type: type(), annotations: notes });
      } else if (kind === 'fixed') {
        this.types.set(name, { kind: 'fixed', name, size: Number(next()), annotations: notes });
      } else throw new Error(`${file}: unknown definition "${kind}"`);
      return name;
    };
    while (pos < t.length) {
      if (peek() === 'namespace') {
        next();
        namespace = next();
      } else if (peek() === 'package') {
        next();
        next();
      } else if (peek() === 'import') {
        next();
        const full = next();
        imports.set(full.split('.').at(-1)!, full);
      } else definition(annotations());
    }
  }

  /** A record's fields, its includes' first. */
  fieldsOf(record: string): Field[] {
    const r = this.types.get(record);
    if (!r || r.kind !== 'record') throw new Error(`no record ${record}`);
    return [...r.includes.flatMap((i) => this.fieldsOf(i)), ...r.fields];
  }

  /**
   * Where `value` does not fit `type`: required fields missing, unknown fields, enum symbols, union members, urn
   * types (typerefs of urns, and the entity types a field's @Relationship names). `allowed` lists fields newer than
   * these files that a value may carry.
   */
  check(value: unknown, type: Type, at: string, allowed: Set<string> = new Set(), relationship?: string[]): string[] {
    switch (type.kind) {
      case 'primitive':
        return this.primitive(value, type.name, at);
      case 'array':
        return Array.isArray(value)
          ? value.flatMap((v, i) => this.check(v, type.items, `${at}[${i}]`, allowed, relationship))
          : [`${at}: expected an array`];
      case 'map':
        return value && typeof value === 'object' && !Array.isArray(value)
          ? Object.entries(value).flatMap(([k, v]) => this.check(v, type.values, `${at}.${k}`, allowed))
          : [`${at}: expected a map`];
      case 'union': {
        if (value === null && type.members.some((m) => m.type.kind === 'primitive' && m.type.name === 'null'))
          return [];
        if (!value || typeof value !== 'object' || Array.isArray(value) || Object.keys(value).length !== 1)
          return [`${at}: a union value is an object with exactly one member`];
        const [key, inner] = Object.entries(value)[0]!;
        const member = type.members.find(
          (m) =>
            m.alias === key ||
            (m.type.kind === 'ref' ? m.type.name : m.type.kind === 'primitive' ? m.type.name : '') === key,
        );
        return member
          ? this.check(inner, member.type, `${at}.${key}`, allowed)
          : [`${at}: "${key}" is no member of the union`];
      }
      case 'ref':
        return this.named(value, type.name, at, allowed, relationship);
    }
  }

  private primitive(value: unknown, name: string, at: string): string[] {
    const ok =
      name === 'string' || name === 'bytes'
        ? typeof value === 'string'
        : name === 'boolean'
          ? typeof value === 'boolean'
          : name === 'int' || name === 'long'
            ? Number.isInteger(value)
            : name === 'float' || name === 'double'
              ? typeof value === 'number'
              : value === null;
    return ok ? [] : [`${at}: expected ${name}, got ${JSON.stringify(value)?.slice(0, 60)}`];
  }

  private named(value: unknown, name: string, at: string, allowed: Set<string>, relationship?: string[]): string[] {
    const def = this.types.get(name);
    if (!def) return [`${at}: the model has no type ${name}`];
    if (def.kind === 'enum')
      return def.symbols.includes(value as string) ? [] : [`${at}: "${String(value)}" is not a ${name} symbol`];
    if (def.kind === 'fixed') return typeof value === 'string' ? [] : [`${at}: expected ${name}`];
    if (def.kind === 'typeref') {
      const problems = this.check(value, def.type, at, allowed);
      if (problems.length) return problems;
      // A typed urn (DatasetUrn, TagUrn…) says its entity type and key fields in its validator; Urn says none, a
      // field's @Relationship may.
      const typed = def.annotations['validate.`com.linkedin.common.validator.TypedUrnValidator`'] as
        | { entityType: string; fields: unknown[]; maxLength?: number }
        | undefined;
      if (name === 'com.linkedin.common.Urn' || typed) {
        const parts = urnParts(value as string);
        if (!parts) return [`${at}: "${String(value)}" is not an urn`];
        const expected = typed ? [typed.entityType] : relationship;
        if (expected && !expected.includes(parts.entityType))
          return [`${at}: a ${parts.entityType} urn where ${expected.join(' or ')} is expected`];
        if (typed && parts.parts.length !== typed.fields.length)
          return [
            `${at}: "${String(value)}" has ${parts.parts.length} key parts, ` +
              `${typed.entityType} urns ${typed.fields.length}`,
          ];
        if (typed?.maxLength && (value as string).length > typed.maxLength)
          return [`${at}: "${String(value)}" is over ${typed.maxLength} characters`];
      }
      return [];
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) return [`${at}: expected a ${name} record`];
    const fields = this.fieldsOf(name);
    const obj = value as Record<string, unknown>;
    const out: string[] = [];
    for (const f of fields) {
      const v = obj[f.name];
      if (v === undefined) {
        if (!f.optional && !f.hasDefault) out.push(`${at}.${f.name}: required by ${name}`);
        continue;
      }
      const rel = f.annotations.Relationship as Record<string, unknown> | undefined;
      const entityTypes = (rel?.entityTypes ?? (rel?.['/*'] as { entityTypes?: string[] } | undefined)?.entityTypes) as
        | string[]
        | undefined;
      out.push(...this.check(v, f.type, `${at}.${f.name}`, allowed, entityTypes));
      const max = f.annotations['validate.strlen.max'];
      if (typeof max === 'number' && typeof v === 'string' && v.length > max)
        out.push(`${at}.${f.name}: over ${max} characters`);
    }
    for (const k of Object.keys(obj))
      if (!fields.some((f) => f.name === k) && !allowed.has(`${name.split('.').at(-1)}.${k}`))
        out.push(`${at}.${k}: ${name} has no such field`);
    return out;
  }
}

/** An urn's entity type and its key parts (a tuple's members, nested parentheses kept whole). */
export function urnParts(urn: string): { entityType: string; parts: string[] } | undefined {
  const m = /^urn:li:([A-Za-z]+):(.+)$/.exec(urn);
  if (!m) return undefined;
  const id = m[2]!;
  if (!id.startsWith('(')) return { entityType: m[1]!, parts: [id] };
  if (!id.endsWith(')')) return undefined;
  const parts: string[] = [];
  let depth = 0;
  let start = 1;
  for (let i = 1; i < id.length - 1; i++) {
    if (id[i] === '(') depth++;
    else if (id[i] === ')') depth--;
    else if (id[i] === ',' && depth === 0) {
      parts.push(id.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(id.slice(start, id.length - 1));
  return { entityType: m[1]!, parts };
}
