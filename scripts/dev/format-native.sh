#!/usr/bin/env bash
# Applies .clang-format to the C++ of native/ (every tracked .cc and .h), in place.
#
# Usage:
#   scripts/dev/format-native.sh           reformat in place and print how many lines changed
#   scripts/dev/format-native.sh --check   change nothing; list the files that would change and
#                                          exit 1 when any would (for CI or a pre-commit hook)
#
# Needs clang-format 14 (Debian 12: apt-get install clang-format). Another major version can wrap
# a few lines differently, so the script refuses one unless CLANG_FORMAT names it on purpose.
set -euo pipefail
cd "$(dirname "$0")/../.."

check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

cf="${CLANG_FORMAT:-clang-format}"
if ! command -v "$cf" >/dev/null; then
  echo "clang-format not found: apt-get install clang-format (Debian 12 ships version 14)" >&2
  exit 2
fi
version="$("$cf" --version)"
if [[ -z "${CLANG_FORMAT:-}" && "$version" != *"version 14."* ]]; then
  echo "expected clang-format 14, found: $version (set CLANG_FORMAT=$cf to use it anyway)" >&2
  exit 2
fi

mapfile -t files < <(git ls-files 'native/*.cc' 'native/*.h')
changed_files=0
changed_lines=0
for f in "${files[@]}"; do
  # Lines of the file that formatting would replace (diff's "<" lines).
  n=$("$cf" --style=file "$f" | diff "$f" - | grep -c '^<' || true)
  [[ "$n" -eq 0 ]] && continue
  changed_files=$((changed_files + 1))
  changed_lines=$((changed_lines + n))
  if [[ $check -eq 1 ]]; then
    echo "$f: $n line(s) would change"
  else
    "$cf" --style=file -i "$f"
  fi
done

if [[ $check -eq 1 ]]; then
  echo "$changed_lines line(s) in $changed_files of ${#files[@]} file(s) would change"
  [[ $changed_files -eq 0 ]] || exit 1
else
  echo "reformatted $changed_lines line(s) in $changed_files of ${#files[@]} file(s)"
fi
