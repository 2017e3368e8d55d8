#!/bin/bash
# Static checks and rspec-puppet suite of the Fuel Puppet tree.
#
# Needs (Debian 12): puppet puppet-lint ruby-rspec-puppet
#   puppet-module-puppetlabs-{stdlib,postgresql,rabbitmq,inifile,concat,firewall,augeas-core}
# Distribution modules are looked up in FUEL_SPEC_MODULEPATH
# (default /usr/share/puppet/modules).
#
# Exits non-zero on the first failing step.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

for tool in puppet puppet-lint rspec; do
    command -v "$tool" >/dev/null || { echo "run-tests.sh: '$tool' not found (apt-get install puppet puppet-lint ruby-rspec-puppet)" >&2; exit 1; }
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

echo "== ruby -c (facts and specs)"
while IFS= read -r f; do ruby -wc "$f" >/dev/null; done < <(find modules -name '*.rb' | sort)

echo "== rspec-puppet"
cd modules/fuel
rspec --format progress
