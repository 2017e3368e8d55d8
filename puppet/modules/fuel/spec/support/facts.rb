# frozen_string_literal: true

# Hand-written facts of the supported distributions (rspec-puppet facts are
# the reliable way to compile a catalog for them on a Debian host), with the
# component packages each target really has (fuel_packages fact): only EL9
# has openstack-keystone (RDO); EL10 has no known rabbitmq-server.
module FuelFacts
  FUEL_PACKAGES = {
    'fuel-nailgun' => '11.0.0-1',
    'fuel-ostf' => '11.0.0-1',
    'astute' => '11.0.0-1',
    'fuel-ui' => '11.0.0-1',
    'mcollective' => '2.12.5-1',
    'firewalld' => '1.3.4-1',
  }.freeze
  KEYSTONE = { 'openstack-keystone' => '26.0.0-1' }.freeze
  RABBITMQ = { 'rabbitmq-server' => '3.13.7-1' }.freeze

  # Facts Puppet 8 no longer has (legacy_facts = false); removed from the
  # facts under FUEL_SPEC_PUPPET8=1 so that a use of them fails.
  LEGACY = %w[
    osfamily operatingsystem operatingsystemrelease operatingsystemmajrelease
    hostname fqdn ipaddress architecture selinux
  ].freeze

  def self.base(family:, name:, release:, major:, packages:, minor: nil, overrides: 'none')
    rel = { 'full' => release, 'major' => major }
    rel['minor'] = minor if minor
    facts = {
      'os' => {
        'family' => family,
        'name' => name,
        'release' => rel,
        'architecture' => 'x86_64',
        'hardware' => 'x86_64',
        'selinux' => { 'enabled' => false },
      },
      'osfamily' => family,
      'operatingsystem' => name,
      'operatingsystemrelease' => release,
      'operatingsystemmajrelease' => major,
      'kernel' => 'Linux',
      'kernelversion' => '6.12.0',
      'architecture' => 'x86_64',
      'selinux' => false,
      'path' => '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'puppetversion' => Puppet.version,
      'networking' => {
        'hostname' => 'fuel',
        'domain' => 'test.domain.local',
        'fqdn' => 'fuel.test.domain.local',
        'ip' => '10.20.0.2',
        'primary' => 'eth1',
      },
      'hostname' => 'fuel',
      'fqdn' => 'fuel.test.domain.local',
      'ipaddress' => '10.20.0.2',
      'fuel_packages' => packages,
      'fuel_spec_overrides' => overrides,
    }
    ENV.fetch('FUEL_SPEC_PUPPET8', '') == '1' ? facts.reject { |k, _| LEGACY.include?(k) } : facts
  end

  # Targets without a local keystone (and EL10 without RabbitMQ) get the
  # external endpoints from the `external` settings override.
  OS = {
    'centos-9' => base(family: 'RedHat', name: 'CentOS', release: '9', major: '9',
                       packages: FUEL_PACKAGES.merge(KEYSTONE, RABBITMQ)),
    'rocky-9' => base(family: 'RedHat', name: 'Rocky', release: '9.6', major: '9', minor: '6',
                      packages: FUEL_PACKAGES.merge(KEYSTONE, RABBITMQ)),
    'centos-10' => base(family: 'RedHat', name: 'CentOS', release: '10', major: '10',
                        packages: FUEL_PACKAGES, overrides: 'external'),
    'fedora-44' => base(family: 'RedHat', name: 'Fedora', release: '44', major: '44',
                        packages: FUEL_PACKAGES.merge(RABBITMQ), overrides: 'external'),
    'fedora-45' => base(family: 'RedHat', name: 'Fedora', release: '45', major: '45',
                        packages: FUEL_PACKAGES.merge(RABBITMQ), overrides: 'external'),
    'leap-16' => base(family: 'Suse', name: 'openSUSE', release: '16.0', major: '16', minor: '0',
                      packages: FUEL_PACKAGES.merge(RABBITMQ), overrides: 'external'),
  }.freeze

  def self.each(&block)
    OS.each(&block)
  end
end
