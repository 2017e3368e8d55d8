# frozen_string_literal: true

# rspec-puppet setup for the fuel module.
#
# The module path holds this repository's puppet/modules only: the fuel
# module needs no other module (Puppet core types and its own code).
#
# FUEL_SPEC_PUPPET8=1 compiles with Puppet 8's defaults on this Puppet 7:
# strict mode `error` (deprecations and strict checks fail the compile),
# strict_variables, and facts without the legacy (flat) facts that Puppet 8
# no longer has. It is an approximation of Puppet 8 / OpenVox 8, not a run
# of it.
require 'rspec-puppet'

SPEC_DIR = __dir__
MODULES_DIR = File.expand_path('../..', SPEC_DIR)
PUPPET_DIR = File.expand_path('..', MODULES_DIR)
PUPPET8_DEFAULTS = ENV.fetch('FUEL_SPEC_PUPPET8', '') == '1'

Dir[File.join(SPEC_DIR, 'support', '*.rb')].sort.each { |f| require f }

RSpec.configure do |c|
  # No spec/fixtures/modules symlinks: the module path below is used as is.
  c.setup_fixtures = false
  c.module_path = MODULES_DIR
  c.manifest = File.join(PUPPET_DIR, 'manifests', 'site.pp')
  c.hiera_config = File.join(SPEC_DIR, 'fixtures', 'hiera', 'hiera.yaml')
  c.strict_variables = true
  if PUPPET8_DEFAULTS
    c.before(:each) { Puppet[:strict] = :error }
  end
end
