# @summary Deploys the Fuel master node.
#
# Declares one class per concern in the order of the original Fuel
# deployment tasks: host -> (provisioning) -> postgresql -> rabbitmq ->
# mcollective -> astute -> keystone -> nailgun -> ostf -> nginx -> rsyslog
# -> rsync.
#
# A component whose RPM is not installed is skipped by configuration: the
# custom fact `fuel_packages` lists the installed component packages
# (`rpm -q`), and `fuel::params::component_packages` maps each component to
# its package. `$components` overrides the detection per component.
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
  Hash[String, Boolean] $components = {},
  Boolean $provisioning = false,
  Hash[String, Optional[String]] $component_packages = $fuel::params::component_packages,
) inherits fuel::params {
  $installed = $facts['fuel_packages'] ? {
    Hash    => $facts['fuel_packages'],
    default => {},
  }

  $unknown = $components.keys - $component_packages.keys
  unless empty($unknown) {
    fail("fuel: unknown component(s) in fuel::components: ${join($unknown, ', ')}")
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
