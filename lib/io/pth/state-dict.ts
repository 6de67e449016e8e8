/**
 * State-dict helpers over a loaded (or to-be-saved) tree: telling tensors apart, walking every
 * tensor with its dotted path, and finding the state dict inside a training checkpoint.
 * @module
 */
import { CheckpointError } from '../../native/errors.js';
import type { HostTensor, StateDict } from '../../types.js';

/** Deepest nesting walked or written; deeper trees are refused rather than overflowing the stack. */
export const MAX_DEPTH = 512;

/** True for a tensor of a loaded tree (or any {@link HostTensor}-shaped value). */
export function isHostTensor(value: unknown): value is HostTensor {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<HostTensor>;
  return typeof v.dtype === 'string' && Array.isArray(v.shape) && ArrayBuffer.isView(v.data);
}

/**
 * Calls `visit` for every tensor in a tree with its path (`state_dict.layer1.0.conv1.weight`),
 * following Maps, plain objects and arrays. Cycles and nesting deeper than 512 are refused.
 */
export function walkTensors(tree: unknown, visit: (path: string, tensor: HostTensor) => void): void {
  const active = new Set<object>();
  const walk = (value: unknown, path: string, depth: number): void => {
    if (isHostTensor(value)) {
      visit(path, value);
      return;
    }
    if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return;
    if (depth > MAX_DEPTH) throw new RangeError(`Tree nested deeper than ${MAX_DEPTH} levels at ${path || '<root>'}`);
    if (active.has(value)) throw new RangeError(`Tree contains a cycle at ${path || '<root>'}`);
    active.add(value);
    const join = (k: unknown) => (path ? `${path}.${String(k)}` : String(k));
    if (value instanceof Map) for (const [k, v] of value) walk(v, join(k), depth + 1);
    else if (Array.isArray(value)) for (let i = 0; i < value.length; i++) walk(value[i], join(i), depth + 1);
    else if (value instanceof Set) [...value].forEach((v, i) => void walk(v, join(i), depth + 1));
    else if (isPlainObject(value)) for (const [k, v] of Object.entries(value)) walk(v, join(k), depth + 1);
    active.delete(value);
  };
  walk(tree, '', 0);
}

/** An object literal or a null-prototype object: a Python dict when written. */
export function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const STATE_DICT_KEYS = ['state_dict', 'model_state_dict', 'model', 'net', 'network'];

function asStateDict(value: unknown): StateDict | undefined {
  const entries =
    value instanceof Map
      ? [...value]
      : typeof value === 'object' && value !== null && isPlainObject(value)
        ? Object.entries(value)
        : undefined;
  if (!entries || entries.length === 0) return undefined;
  if (!entries.every(([k, v]) => typeof k === 'string' && isHostTensor(v))) return undefined;
  return new Map(entries as Array<[string, HostTensor]>);
}

/**
 * Finds the state dict in a loaded checkpoint: the tree itself when it maps names to tensors, else
 * the first of `state_dict`, `model_state_dict`, `model`, `net`, `network` that does.
 * @throws CheckpointError ERR_CHECKPOINT_LAYOUT when none does
 */
export function stateDictOf(tree: unknown): StateDict {
  const direct = asStateDict(tree);
  if (direct) return direct;
  const get = (k: string): unknown =>
    tree instanceof Map ? tree.get(k) : typeof tree === 'object' && tree !== null ? (tree as Record<string, unknown>)[k] : undefined;
  for (const key of STATE_DICT_KEYS) {
    const found = asStateDict(get(key));
    if (found) return found;
  }
  const keys = tree instanceof Map ? [...tree.keys()].map(String) : typeof tree === 'object' && tree !== null ? Object.keys(tree) : [];
  throw new CheckpointError(
    `No state dict in this checkpoint: expected a dict of tensors, or one under ${STATE_DICT_KEYS.map((k) => `'${k}'`).join(', ')}; top-level keys: ${keys.slice(0, 12).join(', ') || '(none)'}`,
    'ERR_CHECKPOINT_LAYOUT',
  );
}
