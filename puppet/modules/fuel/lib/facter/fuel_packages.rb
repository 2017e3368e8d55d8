# frozen_string_literal: true

# fuel_packages: the Fuel component packages installed on this host, as
# { package name => "version-release" }, queried with `rpm -q`.
#
# The fuel class deploys a component only when its package is listed here
# (or when fuel::components forces it), so a master node built without the
# "upstream" package profile skips nailgun, ostf, astute... by
# configuration instead of failing. rabbitmq-server and firewalld are
# listed because not every target ships them (EL10: no known RabbitMQ).
module FuelPackages
  PACKAGES = %w[
    fuel-nailgun fuel-ostf astute fuel-ui fuelmenu mcollective
    openstack-keystone rabbitmq-server firewalld shotgun
  ].freeze unless const_defined?(:PACKAGES)

  # Parses `rpm -q --qf '%{NAME} %{VERSION}-%{RELEASE}\n' ...` output;
  # lines for missing packages ("package X is not installed") are skipped.
  def self.parse(output)
    output.to_s.each_line.with_object({}) do |line, found|
      fields = line.split
      next unless fields.length == 2 && PACKAGES.include?(fields[0])

      found[fields[0]] = fields[1]
    end
  end

  def self.query
    rpm = Facter::Core::Execution.which('rpm')
    return {} unless rpm

    output = Facter::Core::Execution.execute(
      "#{rpm} -q --qf '%{NAME} %{VERSION}-%{RELEASE}\\n' #{PACKAGES.join(' ')}",
      on_fail: nil
    )
    # rpm exits non-zero when a package is missing; its output is still used.
    parse(output)
  end
end

Facter.add(:fuel_packages) do
  confine kernel: 'Linux'
  setcode { FuelPackages.query }
end
