# frozen_string_literal: true

# Hand-written facts of the supported distributions (rspec-puppet facts are
# the reliable way to compile a catalog for them on a Debian host).
module FuelFacts
  ALL_PACKAGES = {
    'fuel-nailgun' => '10.0.0-1',
    'fuel-ostf' => '10.0.0-1',
    'astute' => '10.0.0-1',
    'fuel-ui' => '10.0.0-1',
    'mcollective' => '2.12.5-1',
    'openstack-keystone' => '25.0.0-1',
  }.freeze

  def self.base(family:, name:, release:, major:, minor: nil)
    rel = { 'full' => release, 'major' => major }
    rel['minor'] = minor if minor
    {
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
      'kernelversion' => '5.14.0',
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
      'fuel_packages' => ALL_PACKAGES,
      'fuel_spec_overrides' => 'none',
    }
  end

  OS = {
    'centos-9' => base(family: 'RedHat', name: 'CentOS', release: '9', major: '9'),
    'rocky-9' => base(family: 'RedHat', name: 'Rocky', release: '9.5', major: '9', minor: '5'),
    'fedora-41' => base(family: 'RedHat', name: 'Fedora', release: '41', major: '41'),
    'opensuse-15.6' => base(family: 'Suse', name: 'openSUSE', release: '15.6', major: '15', minor: '6'),
  }.freeze

  def self.each(&block)
    OS.each(&block)
  end
end
