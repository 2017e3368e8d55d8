# @summary Deploys the Fuel master node.
#
# Declares one class per concern in the order of the original Fuel
# deployment tasks: host -> (provisioning) -> postgresql -> rabbitmq ->
# mcollective -> astute -> keystone -> nailgun -> ostf -> nginx -> rsyslog
# -> rsync.
#
# A component whose RPM is not installed is skipped by configuration: the
# custom fact `fuel_packages` lists the installed component packages
# (`rpm -q`), and `component_packages` (module data: data/common.yaml) maps
# each component to its package. `$components` overrides the detection per component.
#
# Keystone and RabbitMQ may live elsewhere: without a local keystone
# (openstack-keystone not installed) nailgun and ostf use
# `keystone.external_url` from the settings; without a local RabbitMQ
# (rabbitmq-server not installed) nailgun, astute and mcollective use
# `amqp.external_host`. Neither local nor external fails the run with the
# setting to add.
#
# Only Puppet's core resource types and this module's own code are used:
# no Forge module is needed.
#
# @param components
#   Component name => Boolean, overriding the detection (e.g.
#   `{'ostf' => false}`). Keys: postgresql, rabbitmq, mcollective, astute,
#   keystone, nailgun, ostf, ui, nginx, rsyslog, rsync.
# @param provisioning
#   Deploy the PXE provisioning parts (dnsmasq DHCP/DNS/TFTP). Off by default.
# @param component_packages
#   Component name => the RPM that provides it (undef: always deployed).
#
# @example site.pp
#   include fuel
class fuel (
  Hash[String, Optional[String]] $component_packages,
  Hash[String, Boolean] $components = {},
  Boolean $provisioning = false,
) {
  # Every OS difference is module data (data/os/<family>.yaml): only these have it.
  unless $facts['os']['family'] in ['RedHat', 'Suse'] {
    fail("fuel: unsupported OS family ${facts['os']['family']} (supported: RedHat, Suse)")
  }

  $installed = $facts['fuel_packages'] ? {
    Hash    => $facts['fuel_packages'],
    default => {},
  }

  $unknown = $components.keys - $component_packages.keys
  unless $unknown.empty {
    fail("fuel: unknown component(s) in fuel::components: ${unknown.join(', ')}")
  }

  # Component name => Boolean: what this run deploys.
  $enabled = $component_packages.reduce({}) |$memo, $pair| {
    $name = $pair[0]
    $package = $pair[1]
    $detected = $package ? {
      undef   => true,
      default => $package in $installed,
    }
    $memo + {
      $name => $components[$name] ? {
        Boolean => $components[$name],
        default => $detected,
      },
    }
  }

  include fuel::settings

  # Where nailgun and ostf find Keystone: the local one, else the external
  # URL from the settings.
  if $enabled['keystone'] {
    $keystone_public_url   = "http://${fuel::settings::master_ip}:5000"
    $keystone_internal_url = 'http://127.0.0.1:5000'
  } else {
    $keystone_public_url   = $fuel::settings::keystone_external_url
    $keystone_internal_url = $fuel::settings::keystone_external_url
  }
  $keystone_clients = ['nailgun', 'ostf'].filter |$c| { $enabled[$c] }
  if !$keystone_clients.empty and $keystone_public_url =~ Undef {
    fail(join([
          "fuel: ${keystone_clients.join(' and ')} need Keystone but openstack-keystone is not installed here;",
          'add keystone.external_url (e.g. "https://keystone.example.com:5000") to /etc/fuel/astute.yaml.',
    ], ' '))
  }

  # Where nailgun, astute and mcollective find RabbitMQ: the local one, else
  # the external host from the settings.
  $amqp_host = $enabled['rabbitmq'] ? {
    true    => '127.0.0.1',
    default => $fuel::settings::amqp_external_host,
  }
  $amqp_clients = ['nailgun', 'astute', 'mcollective'].filter |$c| { $enabled[$c] }
  if !$amqp_clients.empty and $amqp_host =~ Undef {
    fail(join([
          "fuel: ${amqp_clients.join(', ')} need RabbitMQ but rabbitmq-server is not installed here;",
          'add amqp.external_host (the RabbitMQ host name or address) to /etc/fuel/astute.yaml.',
    ], ' '))
  }

  contain fuel::host

  $order = [
    'postgresql', 'rabbitmq', 'mcollective', 'astute', 'keystone',
    'nailgun', 'ostf', 'nginx', 'rsyslog', 'rsync',
  ].filter |$c| { $enabled[$c] }

  $classes = $provisioning ? {
    true    => ['fuel::host', 'fuel::provisioning'] + $order.map |$c| { "fuel::${c}" },
    default => ['fuel::host'] + $order.map |$c| { "fuel::${c}" },
  }

  $classes.each |$c| { contain $c }

  # Chain the declared classes in task order.
  $classes.reduce |$previous, $current| {
    Class[$previous] -> Class[$current]
    $current
  }
}
