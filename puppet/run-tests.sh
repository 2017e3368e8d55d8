#!/bin/bash
# Static checks and rspec-puppet suite of the Fuel Puppet tree.
#
# Needs (Debian 12): puppet puppet-lint ruby-rspec-puppet metadata-json-lint
# puppet-strings. No other Puppet
# module: the fuel module uses Puppet's core types and its own code only.
#
# rspec runs twice: with this Puppet's (7) defaults, then with Puppet 8's
# (FUEL_SPEC_PUPPET8=1: strict = error, strict_variables, no legacy facts).
# Only Puppet 7 is installable here; real Puppet 8 / OpenVox 8 is not run.
#
# Exits non-zero on the first failing step.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

for tool in puppet puppet-lint rspec metadata-json-lint; do
    command -v "$tool" >/dev/null || { echo "run-tests.sh: '$tool' not found (apt-get install puppet puppet-lint ruby-rspec-puppet metadata-json-lint puppet-strings)" >&2; exit 1; }
done

mapfile -t pp_files < <(find manifests modules -name '*.pp' -not -path '*/spec/fixtures/*' | sort)
mapfile -t epp_files < <(find modules -name '*.epp' | sort)
[ "${#pp_files[@]}" -gt 0 ] || { echo "run-tests.sh: no .pp files found" >&2; exit 1; }

echo "== puppet parser validate (${#pp_files[@]} files)"
puppet parser validate "${pp_files[@]}"

echo "== puppet epp validate (${#epp_files[@]} files)"
puppet epp validate "${epp_files[@]}"

echo "== puppet-lint --fail-on-warnings"
# All checks enabled, including 140chars (nothing disabled).
puppet-lint --fail-on-warnings --relative "${pp_files[@]}"

echo "== metadata-json-lint"
metadata-json-lint --strict-dependencies modules/fuel/metadata.json

echo "== REFERENCE.md is what puppet strings generates (make docs rewrites it)"
reference=$(mktemp)
trap 'rm -f "$reference"' EXIT
(cd modules/fuel && puppet strings generate --format markdown --out "$reference" >/dev/null 2>&1)
diff -u modules/fuel/REFERENCE.md "$reference" || { echo "run-tests.sh: modules/fuel/REFERENCE.md is stale: run 'make docs'" >&2; exit 1; }

echo "== ruby -c (facts and specs)"
while IFS= read -r f; do ruby -wc "$f" >/dev/null; done < <(find modules -name '*.rb' | sort)

cd modules/fuel
echo "== rspec-puppet with Puppet 7's defaults"
FUEL_SPEC_PUPPET8=0 rspec --format progress
echo "== rspec-puppet with Puppet 8's defaults"
FUEL_SPEC_PUPPET8=1 rspec --format progress
