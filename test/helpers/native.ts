// Loads the addon for a native suite, failing the suite (never skipping) when it is missing.
import { native, type NativeBinding } from '../../lib/native/binding.js';

export function requireNative(): NativeBinding {
  return native(); // throws NativeLoadError listing every path tried
}
