# frozen_string_literal: true

# rspec-puppet setup for the fuel module.
#
# Module path: this repository's puppet/modules first, then the
# distribution's modules (Debian: /usr/share/puppet/modules; override with
# FUEL_SPEC_MODULEPATH, colon separated).
require 'rspec-puppet'

SPEC_DIR = __dir__
MODULES_DIR = File.expand_path('../..', SPEC_DIR)
PUPPET_DIR = File.expand_path('..', MODULES_DIR)
DISTRO_MODULEPATH = ENV.fetch('FUEL_SPEC_MODULEPATH', '/usr/share/puppet/modules')

Dir[File.join(SPEC_DIR, 'support', '*.rb')].sort.each { |f| require f }

RSpec.configure do |c|
  # No spec/fixtures/modules symlinks: the module path below is used as is.
  c.setup_fixtures = false
  c.module_path = [MODULES_DIR, *DISTRO_MODULEPATH.split(':')].join(':')
  c.manifest = File.join(PUPPET_DIR, 'manifests', 'site.pp')
  c.hiera_config = File.join(SPEC_DIR, 'fixtures', 'hiera', 'hiera.yaml')
  c.strict_variables = true
end
