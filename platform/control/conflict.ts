import { ErrorCode, MeshError } from '../errors.js';

export function conflict(key: string, expected: number, actual: number): MeshError {
  return new MeshError(
    ErrorCode.CONFLICT,
    `${key} moved while it was being written: expected revision ${expected}, found ${actual}`,
    { key, expected, actual },
  );
}
